"""Output for people who live in spreadsheets: xlsx with a usable header, and CSV that Excel opens right."""

from __future__ import annotations

import codecs
import io
import subprocess
import sys

import pandas as pd
import pytest

from journey_cli.cli import app

from .conftest import EXAMPLES, spreadsheet_safe

openpyxl = pytest.importorskip("openpyxl")

HOSTILE = (
    b'id,text\n1,"=HYPERLINK(""http://evil.example"";""click"")"\n2,@united lost my bag\n3,-3\n4,"tab\there \x01"\n'
)


def classify(runner, mini_model_path, *args):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["classify", *args, "--model", str(mini_model_path), "-q"])
    assert result.exit_code == 0, result.stderr
    return result


def test_xlsx_has_every_row_a_bold_frozen_header_and_sized_columns(runner, mini_model_path, tmp_path):
    out = tmp_path / "posts.xlsx"
    classify(runner, mini_model_path, str(EXAMPLES / "posts.csv"), "--format", "xlsx", "-o", str(out))
    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    csv_rows = pd.read_csv(EXAMPLES / "posts.csv", dtype=str, keep_default_na=False)
    assert len(rows) == len(csv_rows) + 1
    assert rows[0][:4] == ("id", "author", "created_at", "text") and rows[0][-1] == "social_rule"
    assert [row[3] or "" for row in rows[1:]] == [spreadsheet_safe(text) for text in csv_rows["text"]]
    assert sheet.freeze_panes == "A2" and all(cell.font.b for cell in sheet[1])
    confidences = [row[5] for row in rows[1:]]  # numbers, to sort and average in the spreadsheet
    assert all(isinstance(value, (int, float)) for value in confidences)
    assert (
        confidences
        == pd.read_csv(io.StringIO(classify(runner, mini_model_path, str(EXAMPLES / "posts.csv")).stdout))[
            "lifecycle_confidence"
        ].tolist()
    )
    assert 20 <= sheet.column_dimensions["D"].width <= 60  # the text column: wide, but not endless


def test_xlsx_cells_are_text_never_formulas(runner, mini_model_path, tmp_path):
    posts = tmp_path / "hostile.csv"
    posts.write_bytes(HOSTILE)
    for flags, expected in (([], "'=HYPERLINK"), (["--raw"], "=HYPERLINK")):
        out = tmp_path / "out.xlsx"
        classify(runner, mini_model_path, str(posts), "--format", "xlsx", "-o", str(out), *flags)
        sheet = openpyxl.load_workbook(out).active
        assert sheet["B2"].value.startswith(expected) and sheet["B2"].data_type == "s"
        assert sheet["B3"].value == ("@united lost my bag" if flags else "'@united lost my bag")
        assert sheet["B4"].value == "-3"
        assert sheet["B5"].value == "tab\there "  # a control character xlsx cannot hold is dropped


def test_add_bom_starts_csv_with_one_bom_and_nothing_else_changes(runner, mini_model_path):
    plain = classify(runner, mini_model_path, str(EXAMPLES / "posts.csv")).stdout_bytes
    with_bom = classify(runner, mini_model_path, str(EXAMPLES / "posts.csv"), "--add-bom").stdout_bytes
    assert with_bom == codecs.BOM_UTF8 + plain
    frame = pd.read_csv(io.BytesIO(with_bom), dtype=str, encoding="utf-8-sig")
    assert frame.columns[0] == "id"


@pytest.mark.parametrize("command", ["classify", "suggest"])
def test_an_excel_csv_in_gives_an_excel_csv_out_unless_told_otherwise(runner, mini_model_path, tmp_path, command):
    # Excel's "CSV UTF-8" starts with a BOM; without one, Excel reads the output as cp1252: "TromsÃ¸".
    excel = tmp_path / "export.csv"
    excel.write_bytes(codecs.BOM_UTF8 + "id,text\n1,Tromsø airport lost my bag\n2,which bag should I buy\n".encode())
    args = [command, str(excel), "-m", str(mini_model_path)] + (["-q"] if command == "classify" else [])
    out = runner.invoke(app, args).stdout_bytes
    assert out.startswith(codecs.BOM_UTF8) and not out[3:].startswith(codecs.BOM_UTF8)
    assert "Tromsø" in out.decode("utf-8-sig")  # as a spreadsheet reads a file that starts with a BOM
    assert not runner.invoke(app, [*args, "--no-bom"]).stdout_bytes.startswith(codecs.BOM_UTF8)
    jsonl = runner.invoke(app, ["classify", str(excel), "-m", str(mini_model_path), "-q", "-f", "jsonl"])
    assert jsonl.exit_code == 0 and jsonl.stdout_bytes.startswith(b'{"id"')  # JSON lines never have one


def test_suggest_add_bom_gives_a_file_to_label_in_excel_that_train_reads_back(runner, mini_model_path, tmp_path):
    out = tmp_path / "to_label.csv"
    args = ["suggest", str(EXAMPLES / "posts.csv"), "-n", "5", "--model", str(mini_model_path), "-o", str(out)]
    result = runner.invoke(app, [*args, "--add-bom"])
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(codecs.BOM_UTF8 + b"id,author,created_at,text,lifecycle,")
    assert not out.read_bytes()[3:].startswith(codecs.BOM_UTF8)


@pytest.mark.parametrize("extra", [["--format", "jsonl"], ["--format", "xlsx", "-o", "x.xlsx"]])
def test_add_bom_with_a_format_that_has_none_is_a_usage_error(runner, extra):
    result = runner.invoke(app, ["classify", str(EXAMPLES / "posts.csv"), "--add-bom", *extra])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --add-bom goes with --format csv or tsv") and result.stderr.count("\n") == 1


def test_xlsx_holds_what_excel_can_and_says_what_it_cut(runner, mini_model_path, tmp_path):
    posts = tmp_path / "posts.csv"
    posts.write_text(f"id,text\n1,odd \ufffe\uffff end\n2,{'spam ' * 8000}\n3,{'😀' * 20000}\n", encoding="utf-8")
    out = tmp_path / "posts.xlsx"
    result = runner.invoke(app, ["classify", str(posts), "-m", str(mini_model_path), "-f", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    sheet = openpyxl.load_workbook(out).active  # well-formed: no character XML forbids
    assert sheet["B2"].value == "odd  end" and len(sheet["B3"].value) == 32_767
    assert sheet["B4"].value == "😀" * 16_383  # Excel counts an emoji as two; none is cut in half
    assert "Warning: 2 cell(s) longer than Excel's 32,767 characters were cut, the first on row 3" in result.stderr
    assert "Warning: 1 cell(s) held control characters an xlsx file cannot store" in result.stderr


def test_more_rows_than_a_sheet_holds_is_one_error_line_and_keeps_the_old_file(mini_model_path, tmp_path):
    out = tmp_path / "posts.xlsx"
    out.write_bytes(b"the previous workbook")
    script = (
        "import sys, journey_cli.writing as writing; writing.XLSX_MAX_ROWS = 30; from journey_cli.cli import main; "
        f"sys.argv = ['journey', 'classify', {str(EXAMPLES / 'posts.csv')!r}, '-m', {str(mini_model_path)!r}, "
        f"'-f', 'xlsx', '-o', {str(out)!r}, '--chunk-size', '10']; main()"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr == "Error: an Excel sheet holds at most 29 rows; use --format csv for more\n"
    assert out.read_bytes() == b"the previous workbook"
