"""The README shows real runs: its transcripts must still print what they show."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from journey_cli import load_model
from journey_cli.model_file import BUNDLED_MODEL

from .conftest import ROOT

README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
TRANSCRIPTS = re.findall(r"```\n\$ (.+?)\n(.*?)```", README, re.S)
QUICK = [
    (command, shown)
    for command, shown in TRANSCRIPTS
    if command.startswith(("journey classify", "journey model", "journey explain", "journey suggest", "journey stages"))
]


def test_the_readme_has_transcripts_to_check():
    assert len(QUICK) >= 3


@pytest.mark.skipif(shutil.which("journey") is None, reason="the journey command is not installed")
@pytest.mark.parametrize(("command", "shown"), QUICK, ids=[command for command, _ in QUICK])
def test_readme_transcript_prints_what_it_shows(command, shown, tmp_path):
    # Run in a copy of examples/ so that --output files land outside the checkout.
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    result = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    if os.environ.get("JOURNEY_UPDATE_GOLDEN"):
        current = README_PATH.read_text(encoding="utf-8")
        README_PATH.write_text(
            current.replace(f"$ {command}\n{shown}```", f"$ {command}\n{result.stdout}{result.stderr}```")
        )
    # When the bundled model was built is the one thing rebuilding it from the same corpus changes.
    assert _timeless(result.stdout + result.stderr) == _timeless(shown)


def _timeless(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "<time>", text)


def test_readme_training_figures_are_the_bundled_models():
    (shown,) = [shown for command, shown in TRANSCRIPTS if command.startswith("journey train journey_cli/corpus.csv")]
    scores = load_model(BUNDLED_MODEL).metadata.cv.scores
    printed = re.findall(r"^  macro-F1 (\d\.\d{3})", shown, re.M)
    assert printed == [f"{scores[f].macro_f1:.3f}" for f in ("lifecycle", "social")]


PYTHON = re.findall(r"```python\n(.*?)```\n(?:\n```\n(.*?)```)?", README, re.S)


def test_the_readme_has_python_examples():
    assert len(PYTHON) >= 3


@pytest.mark.parametrize(("code", "shown"), PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_readme_python_example_runs_and_prints_what_it_shows(code, shown, tmp_path):
    if "dask" in code:
        pytest.importorskip("dask.dataframe")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / "exports").mkdir()  # what the Dask example reads
    shutil.copy(ROOT / "examples" / "posts.csv", tmp_path / "exports" / "posts-1.csv")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    if shown:
        assert result.stdout == shown


def test_ci_runs_the_readmes_two_set_up_commands_word_for_word():
    (setup,) = re.findall(r"## Set up\n.*?```\n(.*?)```", README, re.S)
    commands = setup.strip().splitlines()
    assert len(commands) == 2, "the README promises two set-up commands"
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert [line for line in ci_lines if line in commands] == commands
