"""The built wheel works on its own: installed into a fresh environment, outside the source tree."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile

import pytest

from .conftest import EXAMPLES, ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)]
    result = subprocess.run(build, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    (path,) = folder.glob("journey-*.whl")
    return path


def test_the_wheel_carries_the_stages_the_model_and_the_type_marker(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("journey_cli/stages.yaml", "journey_cli/default_model.skops", "journey_cli/py.typed"):
        assert needed in names
    assert not any(name.startswith(("tests/", "bench/", "examples/")) for name in names)


def test_the_installed_wheel_classifies_the_example_outside_the_source_tree(wheel, tmp_path):
    # The environment borrows this one's libraries (no download), but journey comes from the wheel.
    environment = tmp_path / "env"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(environment)
    python = environment / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    install = [str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=600)
    posts = tmp_path / "posts.csv"
    posts.write_bytes((EXAMPLES / "posts.csv").read_bytes())
    where = subprocess.run(
        [str(python), "-c", "import journey_cli; print(journey_cli.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    assert str(environment) in where.stdout, "journey must come from the wheel, not the checkout"
    journey = environment / ("Scripts/journey.exe" if sys.platform == "win32" else "bin/journey")
    result = subprocess.run(
        [str(journey), "classify", "posts.csv", "-q"], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("id,author,created_at,text,lifecycle_stage")
    assert result.stdout.count("\n") >= 81
