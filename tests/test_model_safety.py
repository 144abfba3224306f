"""Model files: journey opens only its own skops files, and no file can make it run code.

Every hostile payload here would create a marker file if it were ever run; each test checks
the marker is still absent after journey refused the file.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import pickle
import re
import warnings
import zipfile
from dataclasses import replace
from importlib import metadata as package_metadata
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from journey_cli import ModelError, load_model, load_stages, save_model
from journey_cli import model_file as model_module
from journey_cli.cli import app
from journey_cli.model import JourneyModel, LinearHead
from journey_cli.model_file import BUNDLED_MODEL, ModelVersionWarning
from journey_cli.stages import parse_stages

from .conftest import EXAMPLES

# What a message must never show: an exception's class name or a traceback.
TRACEBACK_WORDS = re.compile(r"Traceback|\b\w*(Error|Exception)\b|BadZipFile|\(\w+\)")
PICKLE_MESSAGE = (
    "journey never opens pickles because loading one can run any code. "
    "Load only models saved by `journey train` (.skops)"
)


class Payload:
    """Unpickling this touches `marker`: what a malicious pickle would do with os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


class Gadget:
    """A custom type whose restoring touches `marker`; skops would call __setstate__ if it trusted it."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __setstate__(self, state: dict) -> None:
        Path(state["marker"]).touch()
        self.__dict__.update(state)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "payload-ran"


@pytest.fixture(scope="module")
def tiny_model() -> JourneyModel:
    """The bundled model cut to 50 words: a real, valid model that saves in milliseconds."""
    bundled = load_model(BUNDLED_MODEL)
    grams = 50
    heads = {
        framework_id: LinearHead(head.classes, head.idf[:grams].copy(), head.coef[:, :grams].copy(), head.intercept)
        for framework_id, head in bundled.heads.items()
    }
    return JourneyModel(bundled.vocabulary[:grams], heads, bundled.stages, bundled.stages_yaml, bundled.metadata)


def _refusal(path: Path) -> str:
    """The message of the ModelError that loading `path` raises, checked to be one plain line."""
    with pytest.raises(ModelError) as refused:
        load_model(path)
    message = str(refused.value)
    assert "\n" not in message, "the CLI prints it as one `Error:` line"
    assert not TRACEBACK_WORDS.search(message), message
    assert message.startswith(str(path)), "the message names the file"
    return message


def _classify_with(runner, model_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["classify", str(EXAMPLES / "posts.csv"), "--model", str(model_path), *args])


def _assert_one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# Pickles and joblib files ----------------------------------------------------------------------


def _write_pickle(path: Path, marker: Path, writer: str) -> None:
    if writer == "pickle":
        path.write_bytes(pickle.dumps(Payload(marker)))
    elif writer == "pickle protocol 0":
        path.write_bytes(pickle.dumps(Payload(marker), protocol=0))
    else:
        joblib = pytest.importorskip("joblib")
        compress = writer.removeprefix("joblib").strip() or 0
        joblib.dump(Payload(marker), path, compress=(compress, 3) if compress else 0)


WRITERS = ["pickle", "pickle protocol 0", "joblib", "joblib zlib", "joblib gzip", "joblib bz2", "joblib xz"]


def test_the_payload_is_live_when_unpickled(tmp_path, marker):
    """The control: the same payload, given to pickle, does run; journey must never do this."""
    _write_pickle(tmp_path / "model.pkl", marker, "pickle")
    pickle.loads((tmp_path / "model.pkl").read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("name", ["model.skops", "model.pkl", "model.joblib"])
def test_a_pickle_is_refused_whatever_its_name_and_never_run(tmp_path, marker, name, writer):
    path = tmp_path / name
    _write_pickle(path, marker, writer)
    compression = writer.removeprefix("joblib").strip() if writer.startswith("joblib") else ""
    what = f"pickle file compressed with {compression} (as joblib writes)" if compression else "pickle file"
    assert _refusal(path) == f"{path} is a {what}; {PICKLE_MESSAGE}"
    assert not marker.exists()


@pytest.mark.parametrize("writer", ["pickle", "pickle protocol 0", "joblib zlib"])
@pytest.mark.parametrize("name", ["model.skops", "model.pkl", "model.joblib"])
def test_classify_refuses_a_pickle_with_one_error_line(runner, tmp_path, marker, name, writer):
    path = tmp_path / name
    _write_pickle(path, marker, writer)
    line = _assert_one_error_line(_classify_with(runner, path))
    assert PICKLE_MESSAGE in line
    assert not marker.exists()


# skops files that name dangerous or untrusted types --------------------------------------------


def _rewrite_schema(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """A copy of a skops archive with its schema.json edited by `change`, as an attacker would."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "schema.json":
                schema = json.loads(content)
                change(schema)
                content = json.dumps(schema).encode()
            target.writestr(name, content)
    return out.getvalue()


def _skops_node(value: object) -> dict:
    """The schema node skops writes for a plain value."""
    with zipfile.ZipFile(io.BytesIO(sio.dumps(value))) as archive:
        schema = json.loads(archive.read("schema.json"))
    return {key: item for key, item in schema.items() if key not in ("protocol", "_skops_version")}


def _hostile_nodes(marker: Path) -> dict[str, dict]:
    """Nodes an attacker could write into schema.json, each named by the callable it reaches."""
    return {
        # A trusting loader would call os.system("touch MARKER").
        "os.system": {
            "__class__": "system",
            "__module__": "os",
            "__loader__": "ConstructorFromReduceNode",
            "content": _skops_node((f"touch {marker}",)),
        },
        "builtins.eval": {"__class__": "eval", "__module__": "builtins", "__loader__": "FunctionNode"},
        "subprocess.Popen": {"__class__": "Popen", "__module__": "subprocess", "__loader__": "ObjectNode"},
    }


def test_skops_itself_would_run_the_crafted_node_if_told_to_trust_it(tmp_path, marker):
    """The control for the next test: the crafted os.system node is live under a trusting loader."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        schema = {
            **_hostile_nodes(marker)["os.system"],
            "protocol": 2,
            "_skops_version": package_metadata.version("skops"),
        }
        archive.writestr("schema.json", json.dumps(schema))
    sio.loads(out.getvalue(), trusted=["os.system"])
    assert marker.exists()


@pytest.mark.parametrize("protocol", [2, 1], ids=["read-by-journey", "old-protocol-read-by-skops"])
@pytest.mark.parametrize("place", ["inside the model", "as the whole file"])
@pytest.mark.parametrize("dangerous", ["os.system", "builtins.eval", "subprocess.Popen"])
def test_a_skops_file_naming_a_dangerous_type_is_refused(tmp_path, marker, tiny_model, dangerous, place, protocol):
    node = _hostile_nodes(marker)[dangerous]

    def change(schema: dict) -> None:
        schema["protocol"] = protocol
        if place == "inside the model":
            schema["content"]["metadata"] = node
        else:
            kept = {key: schema[key] for key in ("protocol", "_skops_version")}
            schema.clear()
            schema.update(node, **kept)

    path = tmp_path / "model.skops"
    path.write_bytes(_rewrite_schema(save_model(tiny_model, tmp_path / "real.skops").read_bytes(), change))
    message = _refusal(path)
    if place == "as the whole file":
        assert message == (
            f"{path} is a skops file of an object of type {dangerous}, not a journey model; "
            "load only models saved by `journey train` (.skops)"
        )
    elif protocol == 2:
        assert message == (
            f"{path} holds an object of type {dangerous}, which journey models never contain; it was refused "
            "and nothing in the file was run. Load only models saved by `journey train` (.skops)"
        )
    else:  # skops audits an older protocol itself and names what it does not trust
        assert message == (
            f"{path} contains types journey does not trust ({dangerous}); it was refused and nothing in the file "
            "was run. Load only models saved by `journey train` (.skops)"
        )
    assert not marker.exists()


def test_skops_itself_would_run_the_gadget_if_told_to_trust_it(tmp_path, marker):
    """The control for the next test: the gadget is live once its type is trusted."""
    path = tmp_path / "gadget.skops"
    sio.dump(Gadget(marker), path)
    sio.load(path, trusted=[f"{Gadget.__module__}.Gadget"])
    assert marker.exists()


def test_a_skops_dump_of_an_untrusted_custom_type_is_refused(tmp_path, marker, tiny_model):
    gadget = f"{Gadget.__module__}.Gadget"
    alone = tmp_path / "gadget.skops"
    sio.dump(Gadget(marker), alone)
    assert _refusal(alone) == (
        f"{alone} is a skops file of an object of type {gadget}, not a journey model; "
        "load only models saved by `journey train` (.skops)"
    )
    # The same gadget inside a dict that looks like a journey model in every other way.
    inside = tmp_path / "model.skops"
    sio.dump({"format": model_module.MODEL_FORMAT, "metadata": Gadget(marker), "frameworks": {}}, inside)
    assert f"holds an object of type {gadget}, which journey models never contain" in _refusal(inside)
    assert not marker.exists()


# Files that are not journey models -------------------------------------------------------------


def _old_journey_model() -> bytes:
    """A file as journey's first format saved it: scikit-learn pipelines in a skops dict."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression())
    pipeline.fit(["refund please", "love it", "where is my order", "great service"], ["a", "b", "a", "b"])
    document = {
        "format": "journey-model/1",
        "metadata": {"stage_ids": {"lifecycle": ["a", "b"]}, "versions": {"scikit-learn": "1.5.0"}},
        "stages_yaml": "",
        "pipelines": {"lifecycle": pipeline},
    }
    return sio.dumps(document)


def _logistic_regression() -> bytes:
    from sklearn.linear_model import LogisticRegression

    return sio.dumps(LogisticRegression())


def _zip_of(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name.replace("_", "."), content)
    return out.getvalue()


def _flipped_byte(data: bytes) -> bytes:
    """The model with one byte of its compressed weights changed, as a bad disk or download would."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def _newer_journey_model(tiny_model: JourneyModel, tmp_path: Path) -> bytes:
    def change(schema: dict) -> None:
        schema["content"]["format"]["content"] = json.dumps("journey-model/3")

    return _rewrite_schema(save_model(tiny_model, tmp_path / "real.skops").read_bytes(), change)


NOT_MODELS = {
    "posts CSV": (lambda model, tmp: (EXAMPLES / "posts.csv").read_bytes(), "is a text file (such as a CSV"),
    "empty file": (lambda model, tmp: b"", "is empty, not a journey model"),
    "random bytes": (
        lambda model, tmp: b"\x01\xff" + np.random.default_rng(7).bytes(4096),
        "is not a journey model file (it is not a skops archive)",
    ),
    "truncated model": (
        lambda model, tmp: BUNDLED_MODEL.read_bytes()[:100_000],
        "is damaged or incomplete (its skops archive cannot be read); copy it again or retrain",
    ),
    "model with a flipped byte": (
        lambda model, tmp: _flipped_byte(BUNDLED_MODEL.read_bytes()),
        "is damaged or incomplete (its skops archive cannot be read)",
    ),
    "zip without schema.json": (
        lambda model, tmp: _zip_of(weights_npy=b"\x93NUMPY"),
        "is a zip archive but not a skops file (it has no schema.json)",
    ),
    "schema that is not JSON": (lambda model, tmp: _zip_of(schema_json=b"{not json"), "is damaged or incomplete"),
    "LogisticRegression saved with skops": (
        lambda model, tmp: _logistic_regression(),
        "is a skops file of an object of type sklearn.linear_model._logistic.LogisticRegression, not a journey model",
    ),
    "list saved with skops": (lambda model, tmp: sio.dumps([1, 2]), "is a skops file of an object of type list"),
    "older journey model": (
        lambda model, tmp: _old_journey_model(),
        "was saved by an older journey; retrain it with `journey train`",
    ),
    "newer journey model": (_newer_journey_model, "was saved by a newer journey; upgrade journey to load it"),
    "PDF": (lambda model, tmp: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "is a PDF document, not a journey model"),
}


@pytest.mark.parametrize("kind", NOT_MODELS)
def test_a_file_that_is_not_a_model_gets_a_plain_message(tmp_path, tiny_model, kind):
    make, expected = NOT_MODELS[kind]
    path = tmp_path / "model.skops"
    path.write_bytes(make(tiny_model, tmp_path))
    message = _refusal(path)
    assert f"{path} {expected}" in message


def test_classify_with_a_csv_as_the_model_says_so_in_one_line(runner):
    line = _assert_one_error_line(_classify_with(runner, EXAMPLES / "posts.csv"))
    assert "is a text file (such as a CSV or YAML file), not a journey model" in line


# Stages --------------------------------------------------------------------------------------------


def test_a_model_for_other_stage_ids_is_refused_with_how_to_fix_it(tmp_path, tiny_model, runner):
    other_yaml = tiny_model.stages_yaml.replace("pain_point", "pain")
    social = tiny_model.heads["social"]
    heads = {
        **tiny_model.heads,
        "social": replace(social, classes=["pain" if c == "pain_point" else c for c in social.classes]),
    }
    other = replace(tiny_model, heads=heads, stages=parse_stages(other_yaml), stages_yaml=other_yaml)
    path = save_model(other, tmp_path / "other.skops")
    expected = (
        "the model was trained for other stages than the stages file in use "
        "(social: the model has pain but the file has pain_point instead); retrain it with "
        "`journey train LABELLED.csv --stages FILE`, or drop --stages to use the stages saved in the model"
    )
    with pytest.raises(ModelError) as refused:
        load_model(path).check_stages(load_stages())
    assert str(refused.value) == expected
    result = _classify_with(runner, path, "--stages", str(Path(model_module.__file__).with_name("stages.yaml")))
    assert _assert_one_error_line(result) == f"Error: {expected}"
    assert _classify_with(runner, path, "--quiet").exit_code == 0, "without --stages the model's own are used"


# scikit-learn versions ---------------------------------------------------------------------------


def _with_versions(model: JourneyModel, **versions: str) -> JourneyModel:
    recorded = {**model.metadata.versions, **versions}
    return replace(model, metadata=model.metadata.model_copy(update={"versions": recorded}))


def test_a_model_from_another_scikit_learn_warns_once_naming_both(tmp_path, tiny_model):
    installed = package_metadata.version("scikit-learn")
    path = save_model(
        _with_versions(tiny_model, **{"scikit-learn": "0.24.2", "journey": "0.0.9"}), tmp_path / "m.skops"
    )
    with pytest.warns(ModelVersionWarning) as caught:
        load_model(path)
    assert len(caught) == 1
    assert str(caught[0].message) == (
        f"{path} was trained with scikit-learn 0.24.2 (journey 0.0.9); this is scikit-learn {installed}. "
        "Classifying does not use scikit-learn, so its labels are unaffected, but retrain it with "
        "`journey train` so that its scores and any further training use the same version"
    )


def test_the_cli_shows_the_version_warning_as_one_line_and_carries_on(tmp_path, tiny_model, runner):
    path = save_model(_with_versions(tiny_model, **{"scikit-learn": "0.24.2"}), tmp_path / "m.skops")
    result = runner.invoke(app, ["classify", str(EXAMPLES / "posts.csv"), "--model", str(path), "-q"])
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Warning: {path} was trained with scikit-learn 0.24.2")
    assert len(result.stdout.splitlines()) > 80


def test_a_model_from_the_same_scikit_learn_minor_version_does_not_warn(tmp_path, tiny_model):
    major, minor = package_metadata.version("scikit-learn").split(".")[:2]
    path = save_model(_with_versions(tiny_model, **{"scikit-learn": f"{major}.{minor}.999"}), tmp_path / "m.skops")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(path)
    assert caught == []


def test_the_bundled_model_never_warns_whatever_scikit_learn_is_installed(tmp_path, monkeypatch):
    real_version = package_metadata.version
    monkeypatch.setattr(
        package_metadata, "version", lambda name: "99.0.0" if name == "scikit-learn" else real_version(name)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(BUNDLED_MODEL)
        load_model()  # no user model in this test's JOURNEY_HOME: the bundled one
    assert caught == []
    # The control: the same file anywhere else is a model like any other.
    copy = tmp_path / "copy.skops"
    copy.write_bytes(BUNDLED_MODEL.read_bytes())
    with pytest.warns(ModelVersionWarning, match="this is scikit-learn 99.0.0"):
        load_model(copy)


# Saving ----------------------------------------------------------------------------------------------


class _FillingDisk:
    """A file whose disk fills up half way through the write."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream

    def write(self, data: bytes) -> int:
        self.stream.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("failure", ["write", "fsync"])
def test_a_failed_save_leaves_the_previous_model_and_no_temporary_file(tmp_path, tiny_model, monkeypatch, failure):
    target = save_model(tiny_model, tmp_path / "model.skops")
    before = target.read_bytes()
    if failure == "write":
        real_replacing = model_module.replacing

        @contextlib.contextmanager
        def filling_up(path, mode="w", **options):  # type: ignore[no-untyped-def]
            with real_replacing(path, mode, **options) as stream:
                yield _FillingDisk(stream)

        monkeypatch.setattr(model_module, "replacing", filling_up)
    else:

        def full_at_fsync(descriptor: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "fsync", full_at_fsync)
    newer = _with_versions(tiny_model, journey="9.9.9")
    with pytest.raises(ModelError) as refused:
        save_model(newer, target)
    assert str(refused.value) == (
        f"cannot write the model to {target}: {os.strerror(errno.ENOSPC)}; the previous model there is unchanged"
    )
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"], "no temporary file is left behind"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_refused_without_reading_it_all():
    with pytest.raises(ModelError, match="over 1024 MB"):
        load_model("/dev/zero")


def test_a_model_without_weights_for_a_framework_it_names_is_refused(runner, tmp_path, tiny_model):
    # What an old training on one framework's labels saved: a crafted file could say the same.
    one_head = replace(tiny_model, heads={"social": tiny_model.heads["social"]})
    path = save_model(one_head, tmp_path / "one_head.skops")
    with pytest.raises(ModelError, match="no weights for the lifecycle stages it names"):
        load_model(path)
    _assert_one_error_line(_classify_with(runner, path))
