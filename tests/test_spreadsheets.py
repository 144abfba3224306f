"""Output for people who live in spreadsheets: xlsx with a usable header, and CSV that Excel opens right."""

from __future__ import annotations

import codecs
import datetime
import io
import subprocess
import sys

import pandas as pd
import pytest

from journey_cli.cli import app

from .conftest import EXAMPLES

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
    assert [row[3] or "" for row in rows[1:]] == csv_rows["text"].tolist()  # exactly, no leading quote
    assert rows[1][:3] == ("p001", "@binge_bri", datetime.datetime(2026, 10, 5, 5, 24, 15))  # 2026-10-05T05:24:15Z
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


@pytest.mark.parametrize("flags", [[], ["--raw"]])
def test_xlsx_text_cells_hold_exactly_their_text_and_are_never_formulas(runner, mini_model_path, tmp_path, flags):
    posts = tmp_path / "hostile.csv"
    posts.write_bytes(b"=id" + HOSTILE.removeprefix(b"id") + b"5,@user +1.25\n6,+1.25\n7,-\n")
    out = tmp_path / "out.xlsx"
    classify(runner, mini_model_path, str(posts), "--format", "xlsx", "-o", str(out), *flags)
    sheet = openpyxl.load_workbook(out).active
    texts = [cell.value for cell in sheet["B"][1:]]
    assert texts == [
        '=HYPERLINK("http://evil.example";"click")',
        "@united lost my bag",
        "-3",  # in a column of words, a number-like post stays text too
        "tab\there ",  # a control character xlsx cannot hold is dropped
        "@user +1.25",
        "+1.25",
        "-",
    ]
    assert sheet["A1"].value == "=id"  # column names too
    assert all(cell.data_type == "s" for cell in [sheet["A1"], *sheet["B"]])  # typed as text: inert without a quote


def test_csv_of_the_same_posts_keeps_the_formula_guard(runner, mini_model_path, tmp_path):
    posts = tmp_path / "hostile.csv"
    posts.write_bytes(HOSTILE)
    texts = pd.read_csv(io.StringIO(classify(runner, mini_model_path, str(posts)).stdout), dtype=str)["text"]
    assert texts.tolist()[:3] == ['\'=HYPERLINK("http://evil.example";"click")', "'@united lost my bag", "-3"]


TYPED = """\
id,Followers,Score,Zip,tweet_id,Date,Mixed,Phone,Offset,text
1,45492,1.5,007,1765432109876543210,2024-03-05 14:02,12,+14155550100,2024-03-05T14:02:00+02:00,lost my bag
2,0,-2,12345,1765432109876543211,2024-03-05,words,+14155550101,2024-03-05T15:02:00+02:00,where is it
3,,,,1765432109876543212,,,,,any news
4,1234567,0.25,90210,1765432109876543213,2024-03-05T14:02:33,3,+14155550102,2024-03-05T16:02:00+02:00,thanks
"""


def test_xlsx_columns_of_numbers_and_dates_are_numbers_and_dates(runner, mini_model_path, tmp_path):
    posts = tmp_path / "typed.csv"
    posts.write_text(TYPED, encoding="utf-8")
    out = tmp_path / "typed.xlsx"
    classify(runner, mini_model_path, str(posts), "--format", "xlsx", "-o", str(out))
    sheet = openpyxl.load_workbook(out).active
    columns = {column[0].value: [cell.value for cell in column[1:]] for column in sheet.iter_cols()}
    assert columns["id"] == [1, 2, 3, 4]
    assert columns["Followers"] == [45492, 0, None, 1234567]  # an empty cell stays empty
    assert columns["Score"] == [1.5, -2, None, 0.25]
    assert columns["Zip"] == ["007", "12345", None, "90210"]  # one leading zero: an id, kept as text
    assert columns["tweet_id"] == [f"176543210987654321{n}" for n in range(4)]  # Excel would round 19 digits
    assert columns["Date"] == [
        datetime.datetime(2024, 3, 5, 14, 2),
        datetime.datetime(2024, 3, 5),
        None,
        datetime.datetime(2024, 3, 5, 14, 2, 33),
    ]
    assert [cell.number_format for cell in sheet["F"][1:]] == [
        "yyyy-mm-dd hh:mm",
        "yyyy-mm-dd",
        "General",
        "yyyy-mm-dd hh:mm:ss",  # as precise as written
    ]
    assert columns["Mixed"] == ["12", "words", None, "3"]  # numbers and words: all text
    assert columns["Phone"] == ["+14155550100", "+14155550101", None, "+14155550102"]
    assert columns["Offset"][0] == "2024-03-05T14:02:00+02:00"  # an Excel date holds no time zone
    assert all(isinstance(value, float) for value in columns["lifecycle_confidence"])


def test_a_later_cell_that_does_not_fit_its_columns_type_is_kept_as_text(runner, mini_model_path, tmp_path):
    posts = tmp_path / "typed.csv"
    posts.write_text(
        "Followers,Date,text\n12,2024-03-05,a\n7,2024-03-06,b\n1.2K,2024-02-30,c\n007,2024-03-07Z,d\n9,,e\n",
        encoding="utf-8",
    )
    out = tmp_path / "typed.xlsx"
    result = classify(runner, mini_model_path, str(posts), "-f", "xlsx", "-o", str(out), "--chunk-size", "2")
    sheet = openpyxl.load_workbook(out).active
    assert [cell.value for cell in sheet["A"][1:]] == [12, 7, "1.2K", "007", 9]  # decided on the first chunk
    assert [cell.value for cell in sheet["B"][1:]] == [
        datetime.datetime(2024, 3, 5),
        datetime.datetime(2024, 3, 6),
        "2024-02-30",
        "2024-03-07Z",
        None,
    ]
    assert (
        "Note: column 'Followers' is written as numbers, as its first rows are, but 2 cell(s) further down "
        "are not and were written as text, the first on row 4" in result.stderr
    )
    assert "Note: column 'Date' is written as dates" in result.stderr


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
    # On stdin the rows cannot be counted first (a file is refused before classifying: test_exports).
    out = tmp_path / "posts.xlsx"
    out.write_bytes(b"the previous workbook")
    script = (
        "import sys, journey_cli.writing as writing; writing.XLSX_MAX_ROWS = 30; from journey_cli.cli import main; "
        f"sys.argv = ['journey', 'classify', '-', '-m', {str(mini_model_path)!r}, "
        f"'-f', 'xlsx', '-o', {str(out)!r}, '--chunk-size', '10']; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=(EXAMPLES / "posts.csv").read_text(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr == "Error: an Excel sheet holds at most 29 rows; use --format csv for more\n"
    assert out.read_bytes() == b"the previous workbook"
