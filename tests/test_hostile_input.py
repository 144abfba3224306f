"""Broken and hostile input to every command: one clear line on stderr and an exit code, never a traceback.

Usage errors (a bad option or argument) exit 2; problems with the data or files exit 1. Where a
reasonable user expects a file to just work (a BOM, Excel's UTF-16, newlines in fields, fields of
megabytes, blank posts), it works.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import random
import sys

import pytest

from journey_cli.cli import app

from .conftest import CORPUS, EXAMPLES, INPUTS

random.seed(5)
BROKEN = {
    "empty file": (b"", "is empty"),
    "only blank lines": (b"\n\r\n\n", "is empty"),
    "neither UTF-8 nor cp1252": (
        b"id,text\n1,caf\xe9 \x81\x8d never again\n",
        "pass --encoding cp1252 (Windows/Excel) or --encoding latin-1",
    ),
    "UTF-16 without a BOM": ("id,text\n1,hello\n".encode("utf-16-le"), "--encoding utf-16"),
    "random bytes": (bytes(random.getrandbits(8) for _ in range(4000)), "NUL bytes|not valid|cannot read"),
    "NUL inside a field": (b"id,text\n1,hel\x00lo\n", "NUL bytes"),
    "xlsx workbook": (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "Excel workbook"),
    "old xls workbook": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "xls"),
    "damaged gzip file": (b"\x1f\x8b\x08\x00" + bytes(100), "is damaged gzip data"),
    "PDF": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
    "PNG": (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
    "more fields than the header": (b"id,text\n1,ok\n2,a,b\n", "has 3 fields where the header has 2"),
    "fewer fields than the header": (b"id,text,lang\n1,ok,en\n2\n", "has 1 fields where the header has 3"),
    "quote never closed": (b'id,text\n1,"this never ends\n2,next\n', "never closed"),
    "duplicate column names": (b"text,id,text\na,1,b\n", "more than one column named 'text'"),
    "columns without names": (b",\n1,2\n", "2 columns without a name"),
    "no text column": (b"id,body_html\n1,<p>hi</p>\n", "no text column found"),
}
WORKS = {
    "UTF-8 BOM": (codecs.BOM_UTF8 + b"id,text\n1,love the new update\n", 1),
    "latin-1 bytes (read as cp1252)": ("id,text\n1,caf\xe9 cr\xe8me never again\n".encode("latin-1"), 1),
    "cp1252 quotes": ("id,text\n1,\u201cbroken\u201d on arrival\n".encode("cp1252"), 1),
    "Excel 'Unicode text' (UTF-16, tabs)": ("id\ttext\r\n1\tmy order is late \U0001f620\r\n".encode("utf-16"), 1),
    "newlines inside fields": (b'id,text\n1,"line one\nline two"\n2,"cr\r\nlf"\n3,"old mac\rend"\n', 3),
    "a field of 3 MB": (b"id,text\n1," + b"refund " * 450_000 + b"\n2,short\n", 2),
    "blank and whitespace posts": (b"id,text\n1,\n2,   \n3,\t\n4,hi\n", 4),
    "header only": (b"id,text\n", 0),
    "semicolons (Excel in Europe)": (b"id;text\n1;late again, as usual\n", 1),
    "a stray quote inside a field": (b'id,text\n1,my 5" screen cracked\n', 1),
    "CRLF line ends": (b"id,text\r\n1,where is my parcel\r\n", 1),
    "emoji, RTL and zero-width text": (
        "id,text\n1,\u0645\u0631\u062d\u0628\u0627 \u200b\U0001f44b\U0001f3fd\n".encode(),
        1,
    ),
}


def one_error_line(result, code: int) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, (result.exit_code, result.stderr, result.stdout[:300])
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


@pytest.fixture
def posts_file(tmp_path):  # type: ignore[no-untyped-def]
    def make(content: bytes):  # type: ignore[no-untyped-def]
        path = tmp_path / "posts.csv"
        path.write_bytes(content)
        return str(path)

    return make


# Every command that reads a CSV goes through the same reader: each gets every broken file.
READERS = [
    ["classify"],
    ["suggest", "-n", "2"],
    ["evaluate"],
    ["train", "--output", "never-written.skops"],
]


@pytest.mark.parametrize("command", READERS, ids=lambda c: c[0])
@pytest.mark.parametrize("case", BROKEN, ids=str)
def test_broken_files_get_one_clear_line(runner, mini_model_path, posts_file, tmp_path, monkeypatch, command, case):
    monkeypatch.chdir(tmp_path)
    content, message = BROKEN[case]
    model = [] if command[0] == "train" else ["--model", str(mini_model_path)]
    result = runner.invoke(app, [*command, posts_file(content), *model])
    line = one_error_line(result, 1)
    assert any(part in line for part in message.split("|")), line
    assert not (tmp_path / "never-written.skops").exists()


@pytest.mark.parametrize("case", WORKS, ids=str)
def test_files_a_user_expects_to_work_do(runner, mini_model_path, posts_file, case):
    content, rows = WORKS[case]
    result = runner.invoke(app, ["classify", posts_file(content), "--model", str(mini_model_path), "-q", "--raw"])
    assert result.exit_code == 0, result.stderr
    csv.field_size_limit(1 << 30)
    output = list(csv.reader(io.StringIO(result.stdout_bytes.decode(), newline="")))
    assert len(output) == rows + 1
    assert output[0][-1] == "social_rule"


def test_the_broken_row_is_never_written_even_far_down(runner, mini_model_path, tmp_path):
    # A quote left open swallows the rest of the file into one cell; no part of it reaches stdout.
    path = tmp_path / "late.csv"
    good = "".join(f"{i},post number {i}\n" for i in range(2500))
    path.write_text("id,text\n" + good + '2500,"oops\n' + "".join(f"{i},after {i}\n" for i in range(2501, 2600)))
    result = runner.invoke(app, ["classify", str(path), "--model", str(mini_model_path), "--chunk-size", "1000"])
    assert result.exit_code == 1
    assert "line 2502 is never closed" in result.stderr
    written = list(csv.reader(io.StringIO(result.stdout)))
    assert "oops" not in result.stdout and all(row[0].isdigit() for row in written[1:])
    assert len(written) - 1 <= 2500


@pytest.mark.parametrize(
    "args",
    [
        ["classify", "{posts}", "--chunk-size", "0"],
        ["classify", "{posts}", "--workers", "0"],
        ["classify", "{posts}", "--workers", "100000"],
        ["classify", "{posts}", "--threshold", "-0.1"],
        ["classify", "{posts}", "--threshold", "nan-ish"],
        ["classify", "{posts}", "--top-k", "11"],
        ["classify", "{posts}", "--format", "xml"],
        ["classify", "{posts}", "--engine", "spark"],
        ["classify", "{posts}", "--delimiter", "ab"],
        ["classify", "{posts}", "--delimiter", '"'],
        ["classify", "{posts}", "--delimiter", ""],
        ["classify", "{posts}", "--encoding", "klingon"],
        ["classify", "{posts}", "--encoding", "rot13"],
        ["classify", "{posts}", "--output-dir", "out"],
        ["classify", "{posts}", "--no-such-option"],
        ["classify"],
        ["suggest", "{posts}", "-n", "0"],
        ["suggest", "{posts}", "-n", "many"],
        ["train", "{labelled}", "--folds", "1"],
        ["train", "{labelled}", "--folds", "21"],
        ["evaluate", "{labelled}", "--cv", "1"],
        ["explain"],
        ["explain", "hi", "--words", "0"],
        ["explain", "hi", "--top-k", "-1"],
        ["no-such-command"],
    ],
    ids=" ".join,
)
def test_usage_errors_are_one_line_and_exit_2(runner, args):
    values = {"posts": str(EXAMPLES / "posts.csv"), "labelled": str(CORPUS)}
    message = one_error_line(runner.invoke(app, [arg.format(**values) for arg in args]), 2)
    assert f"(see 'journey{' ' + args[0] if args[0] != 'no-such-command' else ''} -h')" in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classify", "absent.csv"], "file not found: absent.csv"),
        (["classify", "."], "is a directory"),
        (["suggest", "absent.csv"], "file not found"),
        (["evaluate", "."], "is a directory"),
        (["train", "absent.csv"], "file not found"),
        (["classify", "{posts}", "--model", "absent.skops"], "model file not found"),
        (["classify", "{posts}", "--model", "."], "is a directory"),
        (["classify", "{posts}", "--model", "{posts}"], "not a journey model"),
        (["model", "--model", "{posts}"], "not a journey model"),
        (["classify", "{posts}", "--stages", "absent.yaml"], "stages file not found"),
        (["classify", "{posts}", "--stages", "."], "is a directory"),
        (["classify", "{posts}", "--stages", "{posts}"], "not valid YAML"),
        (["classify", "{posts}", "--text-column", "nope"], "column 'nope' not found"),
        (["classify", "{posts}", "--output", "no/such/folder/out.csv"], "folder no/such/folder does not exist"),
        (["classify", "{posts}", "--output", "."], "is a folder"),
        (["classify", "{posts}", "--output", "{posts}"], "is also an input"),
        (["suggest", "{posts}", "--output", "{posts}"], "is also an input"),
        (["train", "{labelled}", "--output", "{labelled}"], "is also an input"),
        (["train", "{labelled}", "--output", "."], "is a folder"),
        (["evaluate", "{labelled}", "--errors", "{labelled}"], "is also an input"),
        (["evaluate", "{labelled}", "--plot", "{labelled}"], "is also an input"),
        (["classify", "{posts}", "--engine", "dask"], "writes to --output-dir"),
        (["classify", "{posts}", "--engine", "dask", "-f", "xlsx", "--output-dir", "."], "for xlsx, classify without"),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else "",
)
def test_wrong_paths_are_one_line_and_exit_1(runner, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    for name in ("posts.csv", "labelled.csv"):
        (tmp_path / name).write_bytes(INPUTS[name].read_bytes())
    before = {name: (tmp_path / name).read_bytes() for name in ("posts.csv", "labelled.csv")}
    values = {"posts": "posts.csv", "labelled": "labelled.csv"}
    result = runner.invoke(app, [arg.format(**values) for arg in args])
    code = 2 if "--engine" in args else 1
    assert message in one_error_line(result, code)
    assert before == {name: (tmp_path / name).read_bytes() for name in before}, "an input file was changed"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_says_so(runner, tmp_path):
    path = tmp_path / "locked.csv"
    path.write_text("id,text\n1,hi\n")
    path.chmod(0)
    assert "Permission denied" in one_error_line(runner.invoke(app, ["classify", str(path)]), 1)


def test_stdin_that_is_empty_or_binary_is_an_error(runner):
    assert "stdin is empty" in one_error_line(runner.invoke(app, ["classify", "-"], input=b""), 1)
    assert "NUL bytes" in one_error_line(runner.invoke(app, ["classify", "-"], input=b"\x00\x01" * 99), 1)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\x00\x01\x02", "\u202e\u200b", "@" * 5000, "a" * 200_000, "=cmd|' /C calc'!A0", "\U0001f600" * 300],
    ids=["empty", "spaces", "control", "bidi", "at-signs", "200k letters", "formula", "emoji"],
)
def test_explain_takes_any_text(runner, mini_model_path, text):
    result = runner.invoke(app, ["explain", text, "--model", str(mini_model_path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_nul_bytes_far_down_are_an_error_too(runner, mini_model_path, tmp_path):
    path = tmp_path / "late_nul.csv"
    path.write_bytes(b"id,text\n" + b"".join(b"%d,post %d\n" % (i, i) for i in range(200_000)) + b"x,a\x00b\n")
    result = runner.invoke(app, ["classify", str(path), "--model", str(mini_model_path), "-q"])
    assert result.exit_code == 1
    assert "holds NUL bytes near data row" in result.stderr
    assert "\x00" not in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell closes the streams")
@pytest.mark.parametrize("redirect", ["<&-", ">&-"], ids=["stdin closed", "stdout closed"])
def test_closed_standard_streams_are_one_line_errors(redirect):
    import subprocess

    file = "-" if redirect == "<&-" else str(EXAMPLES / "posts.csv")
    command = f"{sys.executable} -m journey_cli classify {file} {redirect}"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: std") and len(result.stderr.splitlines()) == 1, result.stderr


def test_control_characters_never_reach_the_terminal_raw(runner, mini_model_path, tmp_path):
    result = runner.invoke(app, ["explain", "refund \x1b]0;PWNED\x07 now", "--model", str(mini_model_path)])
    assert result.exit_code == 0 and "\x1b" not in result.stdout and "\\x1b]0;PWNED\\x07" in result.stdout
    result = runner.invoke(app, ["classify", str(tmp_path / "a\nb\x1b[31m.csv")])
    assert one_error_line(result, 1) == "Error: file not found: " + str(tmp_path) + "/a\\nb\\x1b[31m.csv"


def test_a_pattern_the_shell_expanded_gets_a_hint_to_quote_it(runner):
    result = runner.invoke(app, ["classify", str(EXAMPLES / "posts.csv"), str(CORPUS)])
    assert "quote the pattern: --engine dask 'exports/*.csv'" in one_error_line(result, 2)


def test_a_line_break_in_a_file_name_or_author_cannot_forge_a_line(runner, mini_model_path, tmp_path):
    posts = tmp_path / "evil\nError: fake.csv"
    posts.write_bytes((EXAMPLES / "posts.csv").read_bytes())
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["classify", str(posts), "-m", str(mini_model_path), "-o", str(out)])
    assert result.exit_code == 0 and result.stderr.count("\n") == 1 and "evil\\nError: fake.csv" in result.stderr
    classified = tmp_path / "classified.csv"
    header = "text,author,social_stage,social_confidence\n"
    classified.write_text(header + 'my order broke,"bob\nFAKE LINE",post_purchase,0.9\n')
    report = runner.invoke(app, ["report", str(classified)])
    assert "  0.90  bob FAKE LINE: my order broke" in report.stdout


def test_an_option_missing_its_value_points_at_the_commands_help(runner):
    result = runner.invoke(app, ["classify", str(EXAMPLES / "posts.csv"), "--threshold"])
    assert one_error_line(result, 2).endswith("requires an argument. (see 'journey classify -h')")
