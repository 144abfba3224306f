"""Property: whatever the posts hold, classify returns one row per input row with cells unchanged."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey_cli.cli import app

# Any Unicode but NUL (refused as a sign of binary input) and lone surrogates (not encodable).
cells = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(cells, cells), min_size=1, max_size=8))
def test_csv_round_trip_keeps_every_row_and_cell(rows, runner, mini_model_path):
    source = io.StringIO(newline="")
    writer = csv.writer(source)  # RFC 4180 CRLF line ends, as Excel writes
    writer.writerow(["note", "text"])
    writer.writerows(rows)
    result = runner.invoke(
        app,
        ["classify", "-", "--model", str(mini_model_path), "--delimiter", ",", "-q"],
        input=source.getvalue().encode(),
    )
    assert result.exit_code == 0, result.stderr
    output = list(csv.reader(io.StringIO(result.stdout, newline="")))
    assert output[0][:2] == ["note", "text"]
    assert [tuple(row[:2]) for row in output[1:]] == rows
