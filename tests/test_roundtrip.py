"""Property: whatever the posts hold, classify returns one row per input row, in order, cells unchanged.

"Unchanged" apart from the documented formula neutralisation: in CSV and TSV a cell or column
name starting with = + - @, tab or CR gets a leading ' (unless it is a plain number); with
--raw, and in JSON lines, nothing changes at all.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey_cli.cli import app

from .conftest import spreadsheet_safe

# Any Unicode but NUL (refused as a sign of binary input) and lone surrogates (not encodable).
characters = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
cells = st.text(characters, max_size=80)
# Formula starts, quotes, delimiters and line ends are what break naive CSV code: make them common.
tricky = st.text(st.sampled_from(list("=+-@\t\r\n\",;| 'é😀") + ["0", "1"]), max_size=12)
names = st.lists(st.text(characters, min_size=1, max_size=12), min_size=1, max_size=3, unique=True)


@st.composite
def tables(draw):  # type: ignore[no-untyped-def]
    """A header (the text column plus 0-3 others, any names) and 1-8 rows of any cells."""
    # A file starting with U+FEFF starts with a BOM, which is always removed: not a name's first character.
    others = (
        draw(names.filter(lambda n: "text" not in n and not n[0].startswith("\ufeff"))) if draw(st.booleans()) else []
    )
    header = [*others, "text"]
    rows = draw(st.lists(st.lists(cells | tricky, min_size=len(header), max_size=len(header)), min_size=1, max_size=8))
    return header, rows


def _csv(header, rows, delimiter=","):  # type: ignore[no-untyped-def]
    source = io.StringIO(newline="")
    writer = csv.writer(source, delimiter=delimiter)  # RFC 4180 CRLF line ends, as Excel writes
    writer.writerow(header)
    writer.writerows(rows)
    return source.getvalue().encode()


def _classify(runner, mini_model_path, data, *options):  # type: ignore[no-untyped-def]
    result = runner.invoke(
        app, ["classify", "-", "--model", str(mini_model_path), "-t", "text", "-q", *options], input=data
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes.decode()  # not .stdout: Click's test runner turns \r\n into \n


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(table=tables(), delimiter=st.sampled_from([",", "\t", ";"]))
def test_every_row_and_cell_comes_back_spreadsheet_safe(table, delimiter, runner, mini_model_path):
    header, rows = table
    fmt = "tsv" if delimiter == "\t" else "csv"
    stdout = _classify(runner, mini_model_path, _csv(header, rows, delimiter), "--delimiter", delimiter, "-f", fmt)
    output = list(csv.reader(io.StringIO(stdout, newline=""), delimiter="\t" if fmt == "tsv" else ","))
    width = len(header)
    assert output[0][:width] == [spreadsheet_safe(name) for name in header]
    assert len(output) == len(rows) + 1
    assert [row[:width] for row in output[1:]] == [[spreadsheet_safe(cell) for cell in row] for row in rows]


@pytest.mark.slow
@SETTINGS
@given(table=tables())
def test_raw_and_json_lines_give_every_cell_back_exactly(table, runner, mini_model_path):
    header, rows = table
    data = _csv(header, rows)
    stdout = _classify(runner, mini_model_path, data, "--delimiter", ",", "--raw")
    raw = list(csv.reader(io.StringIO(stdout, newline="")))
    assert raw[0][: len(header)] == header
    assert [row[: len(header)] for row in raw[1:]] == rows
    lines = _classify(runner, mini_model_path, data, "--delimiter", ",", "-f", "jsonl").splitlines()  # any line end
    assert [[json.loads(line)[name] for name in header] for line in lines] == rows
