"""The exports teams really have, each classified with default options, and read back by report."""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json
import lzma

import pandas as pd
import pytest

from journey_cli.cli import app
from journey_cli.reading import read_posts

from .conftest import spreadsheet_safe

POSTS = [
    "@acme my order never arrived and nobody answers, I want a refund",
    "which laptop should I buy for video editing, the X1 or the T14?",
    "love the new app update, checkout is so much faster now",
]


def csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    def cell(value: str) -> str:
        return f'"{value}"' if any(c in value for c in f'{delimiter}"\n') else value

    return "".join(delimiter.join(map(cell, row)) + newline for row in [header, *rows])


# Each shape: its file name, its bytes, and the text column journey should find.
SHAPES = {
    "Sprout Social": (
        "sprout.csv",
        csv_text(
            ["Date", "Network", "Profile", "Sender", "Message Type", "Message", "Permalink"],
            [
                [f"2024-03-0{n} 10:00", "Twitter", "@acme", f"@user{n}", "Incoming", p, f"https://x.com/s/{n}"]
                for n, p in enumerate(POSTS, 1)
            ],
        ).encode(),
        "Message",
    ),  # fmt: skip
    "Hootsuite": (
        "hootsuite.csv",
        csv_text(
            ["Date (GMT)", "Post Content", "Author", "Post Link"],
            [[f"2024-03-0{n}", p, f"user{n}", f"https://x.com/p/{n}"] for n, p in enumerate(POSTS, 1)],
        ).encode(),
        "Post Content",
    ),
    "Brandwatch (a report's preamble above the header)": (
        "brandwatch.csv",
        (
            "Report:,Mentions export\nBrand:,Acme\nFrom:,2024-03-01,To:,2024-03-31\n\n"
            + csv_text(
                ["Query Id", "Date", "Title", "Url", "Snippet", "Full Text", "Author"],
                [
                    [f"{n}", f"2024-03-0{n}", "", f"https://x.com/b/{n}", p[:20], p, f"a{n}"]
                    for n, p in enumerate(POSTS, 1)
                ],
            )
        ).encode(),
        "Full Text",
    ),  # fmt: skip
    "Zendesk": (
        "zendesk.csv",
        csv_text(
            ["Ticket ID", "Subject", "Description", "Requester", "Created at"],
            [[f"10{n}", "Help", p, f"Client {n}", f"2024-03-0{n}"] for n, p in enumerate(POSTS, 1)],
        ).encode(),
        "Description",
    ),
    "Freshdesk": (
        "freshdesk.csv",
        csv_text(
            ["Ticket ID", "Subject", "Description", "Status", "Contact ID"],
            [[f"{n}", "Question", p, "Open", f"c{n}"] for n, p in enumerate(POSTS, 1)],
        ).encode(),
        "Description",
    ),
    "Google Sheets (CRLF)": (
        "sheet.csv",
        csv_text(["tweet_id", "tweet_text"], [[f"{n}", p] for n, p in enumerate(POSTS, 1)], newline="\r\n").encode(),
        "tweet_text",
    ),
    "Excel CSV UTF-8 (BOM)": (
        "excel.csv",
        codecs.BOM_UTF8
        + csv_text(["id", "Text"], [[f"{n}", p] for n, p in enumerate(POSTS, 1)], newline="\r\n").encode(),
        "Text",
    ),
    "TSV": (
        "posts.tsv",
        csv_text(["id", "text"], [[f"{n}", p] for n, p in enumerate(POSTS, 1)], delimiter="\t").encode(),
        "text",
    ),
    "Excel CSV on Windows (semicolons, cp1252)": (
        "excel-fr.csv",
        csv_text(["Author", "Comment"], [["Zoë", p + " – merci"] for p in POSTS], delimiter=";", newline="\r\n").encode(
            "cp1252"
        ),
        "Comment",
    ),
    "Excel Unicode Text (UTF-16, tabs)": (
        "unicode.txt",
        csv_text(["id", "Comment"], [[f"{n}", p] for n, p in enumerate(POSTS, 1)], delimiter="\t").encode("utf-16"),
        "Comment",
    ),
    "JSON lines": (
        "posts.jsonl",
        "".join(
            json.dumps({"id": n, "full_text": p, "user": {"n": n}}) + "\n" for n, p in enumerate(POSTS, 1)
        ).encode(),
        "full_text",
    ),
    "JSON lines, any name": (
        "export",
        "".join(json.dumps({"content": p}) + "\n" for p in POSTS).encode(),
        "content",
    ),
    "plain text, a post per line": ("posts.txt", ("\n".join(POSTS) + "\n").encode(), "text"),
    "gzip": ("posts.csv.gz", gzip.compress(csv_text(["text"], [[p] for p in POSTS]).encode()), "text"),
    "bzip2": ("posts.csv.bz2", bz2.compress(csv_text(["text"], [[p] for p in POSTS]).encode()), "text"),
    "xz JSON lines": (
        "posts.jsonl.xz",
        lzma.compress("".join(json.dumps({"text": p}) + "\n" for p in POSTS).encode()),
        "text",
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_export_shape_classifies_with_default_options(runner, mini_model_path, tmp_path, shape):
    name, content, text_column = SHAPES[shape]
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["classify", str(path), "-m", str(mini_model_path), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert f"Classified 3 posts from {path} to {out} (text column '{text_column}')" in result.stderr
    classified = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert [cell[:20] for cell in classified[text_column]] == [spreadsheet_safe(post)[:20] for post in POSTS]
    assert classified["social_stage"].ne("").all()
    # ... and its report reads the output with no options.
    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0, report.stderr
    assert "reply first" in report.stdout and "Note:" not in report.stderr


def test_a_preamble_is_skipped_with_a_note_and_skip_lines_says_it_exactly(runner, mini_model_path, tmp_path):
    name, content, _ = SHAPES["Brandwatch (a report's preamble above the header)"]
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(app, ["classify", str(path), "-m", str(mini_model_path), "-q"])
    assert (
        result.stderr
        == f"Note: skipped 4 line(s) above the header of {path}, a report's preamble (--skip-lines N to say)\n"
    )
    said = runner.invoke(app, ["classify", str(path), "-m", str(mini_model_path), "-q", "--skip-lines", "4"])
    assert said.stderr == "" and said.stdout == result.stdout
    assert said.stdout.startswith("Query Id,Date,Title,Url,Snippet,Full Text,Author,")


def test_a_file_without_preamble_is_never_cut(tmp_path):
    # A first row narrower than the data (a quoted line break in it) is data, not a preamble.
    path = tmp_path / "posts.csv"
    path.write_text('text,author,stage\n"my order broke","bob\nFAKE LINE",x\nfine,ann,y\nok,cy,z\nhm,di,w\n')
    table = read_posts(path)
    assert table.columns == ["text", "author", "stage"] and len(table.frame()) == 4


def test_a_cp1252_file_is_read_as_such_with_a_note_unless_an_encoding_is_given(runner, mini_model_path, tmp_path):
    name, content, _ = SHAPES["Excel CSV on Windows (semicolons, cp1252)"]
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(app, ["classify", str(path), "-m", str(mini_model_path), "-q"])
    assert result.stderr == f"Note: read {path} as cp1252 (Windows), as it is not UTF-8 (--encoding to say)\n"
    assert "Zoë" in result.stdout and "– merci" in result.stdout
    strict = runner.invoke(app, ["classify", str(path), "-m", str(mini_model_path), "--encoding", "utf-8"])
    assert strict.exit_code == 1 and "is not valid utf-8 text" in strict.stderr


def test_repeated_text_columns_are_joined_into_the_post(runner, mini_model_path, tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("Ticket ID,Subject,Description\n1,Refund,I was charged twice\n2,,Which plan suits a team?\n")
    joined = runner.invoke(
        app, ["classify", str(path), "-m", str(mini_model_path), "-t", "Subject", "-t", "Description", "--explain"]
    )
    assert joined.exit_code == 0, joined.stderr
    assert "(text column 'Subject' + 'Description')" in joined.stderr
    out = pd.read_csv(io.StringIO(joined.stdout), dtype=str, keep_default_na=False)
    assert out.columns[:3].tolist() == ["Ticket ID", "Subject", "Description"], "the input columns are unchanged"
    assert "refund" in out.loc[0, "social_why"] and "charged" in out.loc[0, "social_why"], "both columns are read"
    alone = runner.invoke(app, ["classify", str(path), "-m", str(mini_model_path), "-t", "Description", "--explain"])
    assert "refund" not in pd.read_csv(io.StringIO(alone.stdout), dtype=str).loc[0, "social_why"]


def test_no_header_numbers_the_columns(runner, mini_model_path, tmp_path):
    path = tmp_path / "bare.csv"
    path.write_text("".join(f'{n},"{p}",x\n' for n, p in enumerate(POSTS, 1)))
    result = runner.invoke(app, ["classify", str(path), "-m", str(mini_model_path), "--no-header", "-t", "2"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("1,2,3,lifecycle_stage,") and len(result.stdout.splitlines()) == 4
    unsaid = runner.invoke(app, ["classify", str(path), "-m", str(mini_model_path), "--no-header"])
    assert unsaid.exit_code == 1
    assert unsaid.stderr == "Error: with --no-header, say which column holds the posts: --text-column N, from 1 to 3\n"


def test_plain_text_on_stdin_with_input_format_lines(runner, mini_model_path):
    result = runner.invoke(
        app, ["classify", "-", "-m", str(mini_model_path), "--input-format", "lines"], input="\n".join(POSTS) + "\n\n"
    )
    assert result.exit_code == 0, result.stderr
    assert pd.read_csv(io.StringIO(result.stdout))["text"].tolist() == [spreadsheet_safe(post) for post in POSTS]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"text": "ok"}\n{"text": broken}\n', "line 2 is not valid JSON"),
        (b'{"text": "ok"}\n["a list"]\n', "line 2 is not a JSON object"),
        (gzip.compress(b"text\nok\n")[:-6], "damaged gzip data"),
    ],
)
def test_broken_json_lines_and_archives_are_one_line(runner, mini_model_path, tmp_path, content, message):
    path = tmp_path / ("posts.csv.gz" if content.startswith(b"\x1f\x8b") else "posts.jsonl")
    path.write_bytes(content)
    result = runner.invoke(app, ["classify", str(path), "-m", str(mini_model_path)])
    assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1


def test_a_json_key_first_met_after_the_first_chunk_is_an_error_not_a_lost_column(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\n{"text": "c", "lang": "en"}\n')
    with pytest.raises(Exception, match="the key 'lang' first appears near line 3"):
        read_posts(path, chunk_size=2).frame()
    assert read_posts(path).frame()["lang"].tolist() == ["", "", "en"]


def test_a_csv_saved_by_pandas_with_its_unnamed_index_is_not_taken_for_a_preamble(tmp_path):
    path = tmp_path / "posts.csv"
    pd.DataFrame({"text": POSTS * 3}).to_csv(path)  # header ",text"
    table = read_posts(path)
    assert table.columns == ["", "text"] and len(table.frame()) == 9


@pytest.mark.parametrize("name", ["posts.csv", "posts.csv.gz"])
def test_xlsx_past_the_row_limit_is_refused_before_anything_is_written(runner, tmp_path, monkeypatch, name):
    from journey_cli import writing

    monkeypatch.setattr(writing, "XLSX_MAX_ROWS", 6)  # a sheet of a header and 5 posts
    text = csv_text(["text"], [[f"post {n}"] for n in range(6)]).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    out = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["classify", str(path), "-m", "/nonexistent.skops", "-f", "xlsx", "-o", str(out)])
    # Refused before the model is even loaded, and nothing written.
    assert result.exit_code == 1 and not out.exists()
    assert result.stderr == f"Error: {path} has more than the 5 posts an Excel sheet holds; use --format csv\n"


def test_the_input_formats_the_command_line_offers_are_those_reading_knows():
    from journey_cli.options import InputFormat
    from journey_cli.reading import INPUT_FORMATS

    assert tuple(choice.value for choice in InputFormat) == INPUT_FORMATS
