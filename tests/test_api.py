"""The Python API: `import journey_cli` as a user, an editor and a type checker meet it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

import journey_cli

from .conftest import ROOT


def test_every_public_name_resolves_and_a_star_import_brings_them_all():
    for name in journey_cli.__all__:
        assert getattr(journey_cli, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from journey_cli import *", namespace)
    namespace.pop("__builtins__")
    assert sorted(namespace) == sorted(journey_cli.__all__)
    assert isinstance(namespace["__version__"], str)


def test_dir_lists_each_public_name_once_the_version_included():
    for loaded in ("load_model", "__version__"):  # a name once loaded is where the repeats showed
        getattr(journey_cli, loaded)
    names = dir(journey_cli)
    assert sorted(set(names)) == names
    assert set(journey_cli.__all__) <= set(names)
    assert "__version__" in names


def test_a_misspelt_name_is_an_error_that_names_it():
    with pytest.raises(AttributeError, match="has no attribute 'load_modle'"):
        journey_cli.load_modle  # noqa: B018
    with pytest.raises(ImportError, match="load_modle"):
        exec("from journey_cli import load_modle", {})


def test_journey_help_does_not_load_pandas_or_scikit_learn():
    # The reason the names load lazily: `journey --help` answers at once.
    script = (
        "import sys\n"
        "from journey_cli.cli import main\n"
        "sys.argv = ['journey', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'sklearn', 'pyarrow', 'skops'}))\n"
    )
    # Run from the checkout, so that this source tree is the one imported.
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.splitlines()[-1] == "[]"


USER_CODE = """\
import journey_cli
from journey_cli import classify_texts, load_model
from journey_cli import load_modle

major = journey_cli.__version__.split(".")[0]
texts: list[str | None] = ["@airline my bag never arrived"]
results = classify_texts(load_model(), texts)
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (pip install -e '.[dev]')")
def test_type_checkers_see_the_real_names_and_reject_a_misspelt_one(tmp_path):
    (tmp_path / "user_code.py").write_text(USER_CODE)
    # MYPYPATH: this source tree (an editable install is invisible to mypy); errors inside journey's own
    # modules are not this test's subject, so imports are followed silently.
    environment = {**os.environ, "MYPYPATH": str(ROOT)}
    command = [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary", "user_code.py"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=300)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.stdout + result.stderr
    assert errors[0].startswith("user_code.py:3:")
    assert 'Module "journey_cli" has no attribute "load_modle"' in errors[0]
