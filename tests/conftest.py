"""Shared fixtures: an isolated journey home, and a small model trained once per test session."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from journey_cli import save_model, train_model

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = ROOT / "examples"
CORPUS = ROOT / "journey_cli" / "corpus.csv"
INPUTS = {"posts.csv": EXAMPLES / "posts.csv", "labelled.csv": CORPUS}
"""Files tests copy: some posts, and labelled ones."""


def spreadsheet_safe(cell: str) -> str:
    """A cell as journey writes it to CSV by default: OWASP's quote before a formula-like start.

    The documented rule, written independently of journey's own code: a cell starting with
    = + - @, tab or carriage return gets a leading ', unless it is a plain number.
    """
    formula = re.match(r"[=+\-@\t\r]", cell)
    number = re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", cell)
    return "'" + cell if formula and not number else cell


@pytest.fixture(autouse=True)
def journey_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own place for the user's trained model, never the real one."""
    home = tmp_path_factory.mktemp("journey-home")
    monkeypatch.setenv("JOURNEY_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def mini_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the 84 posts of tests/data/mini_labelled.csv: small, fast and fixed."""
    labelled = pd.read_csv(DATA / "mini_labelled.csv", dtype=str, keep_default_na=False)
    model = train_model(labelled, folds=3, mix="labelled", kind="fast")  # a toy corpus: its own mix
    return save_model(model, tmp_path_factory.mktemp("models") / "mini.skops")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
