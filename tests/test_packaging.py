"""The built wheel works on its own: installed into a fresh environment, outside the source tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import EXAMPLES, ROOT

DATA_FILES = [
    "journey_cli/stages.yaml", "journey_cli/fast_model.skops", "journey_cli/accurate_model.skops",
    "journey_cli/py.typed", "journey_cli/encoder/model.onnx", "journey_cli/encoder/tokenizer.json",
    "journey_cli/encoder/NOTICE", "journey_cli/corpus.csv",
]  # fmt: skip

# A PYTHONPATH pointing at the checkout would let every subprocess import journey from there, not the wheel.
CLEAN_ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def copy_of_the_sources(destination: Path) -> Path:
    """The project as a fresh clone with the working tree's edits: no build/ or egg-info left by earlier builds.

    setuptools packs whatever lies in build/lib, so a module deleted or renamed since the last build would
    otherwise ship in the wheel.
    """
    if (ROOT / ".git").exists():
        # Tracked files plus new ones not yet added, as they are on disk now; .gitignore keeps build output out.
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, text=True, cwd=ROOT, check=True, env=CLEAN_ENVIRONMENT,
        )  # fmt: skip
        for relative in filter(None, listing.stdout.split("\0")):
            source = ROOT / relative
            if source.is_file():  # a tracked file deleted in the working tree is listed but gone
                (destination / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination / relative)
    else:  # an unpacked sdist: no git to ask
        leftovers = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".venv")
        shutil.copytree(ROOT, destination, ignore=leftovers, dirs_exist_ok=True)
    return destination


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):  # type: ignore[no-untyped-def]
    sources = copy_of_the_sources(tmp_path_factory.mktemp("sources"))
    folder = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(sources)]
    result = subprocess.run(build, capture_output=True, text=True, timeout=600, env=CLEAN_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    (path,) = folder.glob("journey-*.whl")
    return path


@pytest.mark.slow
def test_the_wheel_holds_exactly_the_package_modules_and_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    package = [name for name in names if ".dist-info/" not in name]
    modules = [f"journey_cli/{module.name}" for module in (ROOT / "journey_cli").glob("*.py")]
    # Exactly: no tests, bench or examples, and no module the source tree no longer has.
    assert sorted(package) == sorted(modules + DATA_FILES)


def borrow_the_running_libraries(python: Path) -> None:
    """Let a new environment import the libraries this interpreter has, with no download.

    `system_site_packages=True` would lend the base interpreter's packages, which in a virtual environment
    are not the ones the tests run with. A .pth file adds this interpreter's own site folders instead; they
    come after the new environment's site-packages, so journey is still imported from the wheel, and the
    .pth files inside them (such as an editable install's path to the checkout) are not read.
    """
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, env=CLEAN_ENVIRONMENT,
    ).stdout.strip()  # fmt: skip
    folders = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    folders.update(path for path in sys.path if Path(path).name in ("site-packages", "dist-packages"))
    lines = [folder for folder in sorted(folders) if Path(folder).is_dir()]
    (Path(site_packages) / "borrowed_libraries.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_the_installed_wheel_classifies_the_example_outside_the_source_tree(wheel, tmp_path):
    environment = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    borrow_the_running_libraries(python)
    install = [str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=600, env=CLEAN_ENVIRONMENT)
    posts = tmp_path / "posts.csv"
    posts.write_bytes((EXAMPLES / "posts.csv").read_bytes())
    where = subprocess.run(
        [str(python), "-c", "import journey_cli; print(journey_cli.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, check=True, env=CLEAN_ENVIRONMENT,
    )  # fmt: skip
    assert str(environment) in where.stdout, "journey must come from the wheel, not the checkout"
    journey = environment / ("Scripts/journey.exe" if sys.platform == "win32" else "bin/journey")
    result = subprocess.run(
        [str(journey), "classify", "posts.csv", "-q"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, env=CLEAN_ENVIRONMENT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("id,author,created_at,text,lifecycle_stage")
    assert result.stdout.count("\n") >= 81


def test_the_build_asks_for_a_setuptools_that_reads_the_license_expression():
    # With an older setuptools (a pinned build environment, an old distribution's) the build stops with
    # "project.license must be valid exactly by one definition".
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    if not isinstance(pyproject["project"].get("license"), str):
        pytest.skip("no SPDX license expression to read")
    (setuptools,) = [need for need in pyproject["build-system"]["requires"] if need.startswith("setuptools")]
    floor = re.search(r">=\s*([0-9.]+)", setuptools)
    assert floor, f"{setuptools!r} sets no lower bound"
    assert tuple(int(part) for part in floor.group(1).split(".")) >= (77,), setuptools
