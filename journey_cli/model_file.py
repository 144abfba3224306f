"""A journey model's file: saving it, and loading only what is a journey model, safely.

Model files are skops files that hold only plain data (a dict of strings and numpy arrays), so
`skops.io.load` opens them with no trust list and nothing in a file can run code. journey reads
those few plain node types itself, which keeps skops and scikit-learn out of a classify run.
Pickle and joblib files are recognised by their content and refused unopened, whatever their name.
Also here: where models live (the bundled ones, the user's trained one) and which one is active.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import os
import pickletools
import re
import warnings
import zipfile
import zlib
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from . import signatures
from .errors import JourneyWarning, ModelError
from .metadata import ModelMetadata
from .model import DEFAULT_KIND, MODEL_KINDS, SENTENCE_DIMENSIONS, JourneyModel, LinearHead
from .stages import Stages, parse_stages
from .terminal import shown_path
from .writing import replacing

MODEL_FORMAT = "journey-model/2"
BUNDLED_MODELS = {kind: Path(__file__).with_name(f"{kind}_model.skops") for kind in MODEL_KINDS}
"""The two bundled models by name, for `--model fast` and `--model accurate` (a file of that name wins)."""
BUNDLED_MODEL = BUNDLED_MODELS[DEFAULT_KIND]
"""The model a plain command uses until the user trains one."""
_SKOPS_PROTOCOL = 2


def save_model(model: JourneyModel, path: str | Path) -> Path:
    """Write the model as a skops file of plain data, atomically: the previous file survives any failure."""
    import skops.io as sio

    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path} is a directory; give a file name such as {path / 'model.skops'}")
    offsets, data = model.vocabulary.buffers()[1:]
    start, end = model.vocabulary.offset, model.vocabulary.offset + len(model.vocabulary)
    offsets = np.frombuffer(offsets, dtype=np.int32)[start : end + 1]
    document = {
        "format": MODEL_FORMAT,
        "metadata": json.dumps(model.metadata.as_json()),
        "stages_yaml": model.stages_yaml,
        "vocabulary": np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].copy(),
        "vocabulary_offsets": (offsets - offsets[0]).astype(np.int64),
        "frameworks": {
            framework_id: {
                "classes": json.dumps(list(head.classes)),
                "idf": head.idf,
                "coef": head.coef,
                "intercept": head.intercept,
                **({} if head.sentence_coef is None else {"sentence_coef": head.sentence_coef}),
            }
            for framework_id, head in model.heads.items()
        },
    }
    # Serialised before the temporary file is opened, so only the disk itself can fail part way.
    content = sio.dumps(document, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path, "wb") as stream:
            stream.write(content)
    except OSError as error:
        kept = "; the previous model there is unchanged" if path.exists() else ""
        raise ModelError(f"cannot write the model to {path}: {error.strerror or error}{kept}") from None
    return path


MAX_MODEL_BYTES = 1 << 30
"""A model file, or its unpacked contents, larger than this is refused unread (a journey model is ~5 MB)."""


class ModelVersionWarning(JourneyWarning):
    """The model was trained with another scikit-learn than the installed one: retraining is advised."""


_RETRAIN = "retrain it with `journey train`"
_ONLY_JOURNEY_MODELS = "load only models saved by `journey train` (.skops)"
_PICKLE = (
    "is a {what}; journey never opens pickles because loading one can run any code. "
    "Load only models saved by `journey train` (.skops)"
)
# What a damaged or hand-edited archive raises from zipfile, zlib, json and the walk over its schema.
_DAMAGED_ARCHIVE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    RecursionError,
)


def load_model(path: str | Path | None = None) -> JourneyModel:
    """Load a model saved by `save_model` (the active model when `path` is None).

    Only skops files of plain data are opened: a pickle, or a skops file naming any other type,
    is refused before anything in it is built, so no file can make journey run code.
    Warns with `ModelVersionWarning` if the model was trained with another scikit-learn.
    """
    path = bundled_or_file(path) if path is not None else active_model_path()
    if path.is_dir():
        raise ModelError(f"{path} is a directory; pass a model file")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_MODEL_BYTES + 1)  # /dev/zero or a huge file must not fill the memory
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except OSError as error:
        raise ModelError(f"cannot read model {path}: {error.strerror}") from None
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(
            f"{path} is over {MAX_MODEL_BYTES >> 20} MB, far larger than any journey model; it was not read"
        )
    document = _read_document(data, path)
    damaged = f"{path} is a journey model file but its contents are damaged; copy it again or {_RETRAIN}"
    try:
        offsets = np.asarray(document["vocabulary_offsets"], dtype=np.int32)
        vocabulary = pa.Array.from_buffers(
            pa.string(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(document["vocabulary"])]
        )
        vocabulary.validate(full=True)
        heads = {
            str(framework_id): LinearHead(
                [str(name) for name in json.loads(head["classes"])],
                np.asarray(head["idf"], dtype=np.float64),
                np.asarray(head["coef"], dtype=np.float64),
                np.asarray(head["intercept"], dtype=np.float64),
                np.asarray(head["sentence_coef"], dtype=np.float64) if "sentence_coef" in head else None,
            )
            for framework_id, head in document["frameworks"].items()
        }
        metadata = ModelMetadata.model_validate_json(document["metadata"])
        stages_yaml = document["stages_yaml"]
    except (KeyError, ValueError, TypeError, AttributeError, pa.ArrowException):  # pydantic's errors are ValueErrors
        raise ModelError(damaged) from None
    if not isinstance(stages_yaml, str):
        raise ModelError(damaged)
    for framework_id, head in heads.items():
        rows = 1 if len(head.classes) == 2 else len(head.classes)
        if (
            head.coef.shape != (rows, len(vocabulary))
            or head.idf.shape != (len(vocabulary),)
            or head.intercept.shape != (rows,)
            or (head.sentence_coef is not None and head.sentence_coef.shape != (rows, SENTENCE_DIMENSIONS))
        ):
            raise ModelError(
                f"{path}: the {framework_id} weights do not match the vocabulary or the sentence encoder; "
                "the file is damaged"
            )
    stages = parse_stages(stages_yaml, source=f"stages inside {path}")
    for framework_id, framework in stages.frameworks.items():  # every framework needs its weights, and
        weights = heads.get(framework_id)  # each weight row a stage of it, or classify could not say a stage
        if weights is None or not set(weights.classes) <= set(framework.stage_ids):
            raise ModelError(f"{path}: it has no weights for the {framework_id} stages it names; {_RETRAIN}")
    model = JourneyModel(
        vocabulary=vocabulary,
        heads=heads,
        stages=stages,
        stages_yaml=stages_yaml,
        metadata=metadata,
    )
    if not is_bundled(path):
        _warn_about_versions(metadata, path)
    return model


def load_model_and_stages(path: str | Path | None, stages_path: str | Path | None) -> tuple[JourneyModel, Stages]:
    """`load_model`, and the stages whose rules to use: those of `stages_path`, checked against the
    model once for the run, or the model's own."""
    from .stages import load_stages

    model = load_model(path)
    stages = load_stages(stages_path) if stages_path else model.stages
    model.check_stages(stages)
    return model, stages


def _read_document(data: bytes, path: Path) -> dict[str, Any]:
    """The plain dict of a journey model file, or a ModelError that says in words what the file is."""
    if not data.startswith(signatures.ZIP):
        raise ModelError(f"{path} {_describe_non_model(data)}")
    damaged = f"{path} is damaged or incomplete (its skops archive cannot be read); copy it again or {_RETRAIN}"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            try:
                _check_unpacked_size(archive, path)
                schema = json.loads(archive.read("schema.json"))
            except KeyError:
                raise ModelError(
                    f"{path} is a zip archive but not a skops file (it has no schema.json); {_ONLY_JOURNEY_MODELS}"
                ) from None
            if not isinstance(schema, dict):
                raise ModelError(damaged)
            _check_format(schema, path)
            if schema.get("protocol") != _SKOPS_PROTOCOL:
                return _read_with_skops(data, path, schema.get("protocol"))
            return _read_plain_skops(archive, schema, path)
    except _DAMAGED_ARCHIVE:
        raise ModelError(damaged) from None


def _check_unpacked_size(archive: zipfile.ZipFile, path: Path) -> None:
    """Refuse a zip bomb: an archive whose members would unpack to more than any model holds."""
    schema = next((member for member in archive.infolist() if member.filename == "schema.json"), None)
    if schema is not None and schema.file_size > 16 << 20:  # a journey model's schema is a few KB
        raise ModelError(f"{path} has a schema of over 16 MB, far larger than any journey model's; it was not read")
    if sum(member.file_size for member in archive.infolist()) > MAX_MODEL_BYTES:
        raise ModelError(f"{path} would unpack to over {MAX_MODEL_BYTES >> 20} MB, far larger than any journey model")


def _describe_non_model(data: bytes) -> str:
    """What a file that is not a zip archive is, in words, with how to get a model instead."""
    if not data:
        return f"is empty, not a journey model; {_ONLY_JOURNEY_MODELS}"
    if _is_pickle(data):
        return _PICKLE.format(what="pickle file")
    for name, magic, open_head in _COMPRESSIONS:
        if data.startswith(magic):
            try:
                head = open_head(data)
            except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError):
                continue
            if _is_pickle(head):
                return _PICKLE.format(what=f"pickle file compressed with {name} (as joblib writes)")
            return f"is a file compressed with {name}, not a journey model; {_ONLY_JOURNEY_MODELS}"
    document = next((what for magic, what in signatures.DOCUMENTS.items() if data.startswith(magic)), None)
    if document:
        return f"is {document}, not a journey model; {_ONLY_JOURNEY_MODELS}"
    head = data[:4096]
    try:
        head.decode("utf-8")
        text = b"\x00" not in head
    except UnicodeDecodeError as error:  # a character cut at the end of the sample is still text
        text = error.start >= len(head) - 3 and b"\x00" not in head
    if text:
        return f"is a text file (such as a CSV or YAML file), not a journey model; {_ONLY_JOURNEY_MODELS}"
    return f"is not a journey model file (it is not a skops archive); {_ONLY_JOURNEY_MODELS}"


def _is_pickle(data: bytes) -> bool:
    """Whether `data` is a pickle, found by parsing (never running) its opcodes.

    A pickle of protocol 2 or later (all joblib writes) starts with PROTO, and its first opcodes
    are enough: joblib puts raw array bytes after them. An older one must parse to its end.
    """
    prefix = len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5
    if not prefix and len(data) > 1 << 20:
        return False
    parsed = 0
    try:
        for opcode, _argument, position in pickletools.genops(data[: 1 << 20] if prefix else data):
            parsed += 1
            if opcode.name == "STOP":
                return parsed > 1 and (prefix or position == len(data) - 1)
            if prefix and parsed == 8:
                return True
    except ValueError:
        return False
    return False


_HEAD = 1 << 16  # what is decompressed of a compressed file to see if it holds a pickle


def _zlib_head(data: bytes, wbits: int = zlib.MAX_WBITS) -> bytes:
    return zlib.decompressobj(wbits).decompress(data, _HEAD)


_COMPRESSIONS: list[tuple[str, bytes, Any]] = [
    ("zlib", signatures.COMPRESSED["zlib"], _zlib_head),
    ("gzip", signatures.COMPRESSED["gzip"], lambda data: _zlib_head(data, 16 + zlib.MAX_WBITS)),
    ("bz2", signatures.COMPRESSED["bz2"], lambda data: bz2.BZ2Decompressor().decompress(data, _HEAD)),
    ("xz", signatures.COMPRESSED["xz"], lambda data: lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(data, _HEAD)),
    (
        "lzma",
        signatures.COMPRESSED["lzma"],
        lambda data: lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(data, _HEAD),
    ),
]


def _check_format(schema: dict[str, Any], path: Path) -> None:
    """Refuse, from the schema alone, a skops file that is not a model of this journey's format."""
    content = schema.get("content") if _is_node(schema, "DictNode", "dict") else None
    format_node = content.get("format") if isinstance(content, dict) else None
    if format_node is None or not _is_node(format_node, "JsonNode") or format_node.get("is_json") is not True:
        what = _type_name(schema)
        shown = "a dict" if what == "dict" else f"an object of type {what}"
        raise ModelError(f"{path} is a skops file of {shown}, not a journey model; {_ONLY_JOURNEY_MODELS}")
    found = json.loads(format_node["content"])
    if found == MODEL_FORMAT:
        return
    version = re.fullmatch(r"journey-model/(\d+)", found) if isinstance(found, str) else None
    if version is None:
        raise ModelError(f"{path} is a skops file but not a journey model; {_ONLY_JOURNEY_MODELS}")
    if int(version[1]) < int(MODEL_FORMAT.rsplit("/", 1)[1]):
        raise ModelError(f"{path} was saved by an older journey; {_RETRAIN}")
    raise ModelError(f"{path} was saved by a newer journey; upgrade journey to load it, or {_RETRAIN}")


def _is_node(node: Any, loader: str, kind: str | None = None) -> bool:
    return isinstance(node, dict) and node.get("__loader__") == loader and kind in (None, node.get("__class__"))


def _type_name(node: Any) -> str:
    """The dotted type a skops node names, if it looks like one (the file chooses this text)."""
    if not isinstance(node, dict):
        return "unknown"
    module, name = node.get("__module__"), node.get("__class__")
    plain = module == "builtins" and name in ("dict", "list", "tuple", "str", "int", "float")
    dotted = name if plain else f"{module}.{name}"
    return dotted if isinstance(dotted, str) and re.fullmatch(r"[A-Za-z_][\w.]{0,150}", dotted) else "unknown"


def _read_plain_skops(archive: zipfile.ZipFile, schema: dict[str, Any], path: Path) -> Any:
    """The object in a skops file made only of dicts, JSON values and numeric numpy arrays.

    Anything else is refused, and arrays are read with `allow_pickle=False`: no byte of the file
    can make Python build an object of its choosing.
    """

    def build(node: Any) -> Any:
        if _is_node(node, "DictNode", "dict"):
            return {str(key): build(value) for key, value in node["content"].items()}
        if _is_node(node, "JsonNode") and node.get("is_json") is True:
            return json.loads(node["content"])
        if _is_node(node, "NdArrayNode") and node.get("type") == "numpy":
            with archive.open(node["file"]) as member:
                content = member.read()
            try:
                return np.load(io.BytesIO(content), allow_pickle=False)
            except ValueError:  # among others, an array of Python objects, which would need pickle
                raise ModelError(
                    f"{path} holds an array that is damaged or made of Python objects, which journey models "
                    f"never contain; it was refused unread. {_ONLY_JOURNEY_MODELS.capitalize()}"
                ) from None
        raise ModelError(
            f"{path} holds an object of type {_type_name(node)}, which journey models never contain; "
            f"it was refused and nothing in the file was run. {_ONLY_JOURNEY_MODELS.capitalize()}"
        )

    return build(schema)


def _read_with_skops(data: bytes, path: Path, protocol: Any) -> Any:
    """A file of another skops protocol (from another skops release), read by skops, which trusts no types."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception:  # skops raises many kinds on a schema it cannot read; they all mean the same here
        if isinstance(protocol, int) and protocol > _SKOPS_PROTOCOL:
            raise ModelError(f"{path} was saved by a newer skops than the one installed; upgrade skops") from None
        raise ModelError(f"{path} is damaged (skops cannot read its schema); copy it again or {_RETRAIN}") from None
    if untrusted:
        names = [name if re.fullmatch(r"[\w.]{1,150}", name) else "unknown" for name in untrusted[:5]]
        raise ModelError(
            f"{path} contains types journey does not trust ({', '.join(names)}); "
            f"it was refused and nothing in the file was run. {_ONLY_JOURNEY_MODELS.capitalize()}"
        )
    try:
        return sio.loads(data)
    except Exception:
        raise ModelError(f"{path} is damaged (skops cannot read it); copy it again or {_RETRAIN}") from None


def bundled_or_file(path: str | Path) -> Path:
    """`fast` or `accurate` as the bundled model of that kind, unless a file of that name exists."""
    name = str(path)
    return BUNDLED_MODELS[name] if name in BUNDLED_MODELS and not Path(name).exists() else Path(path)


def is_bundled(path: Path) -> bool:
    """Whether `path` is one of the models that ship with journey."""
    try:
        return any(path.resolve() == bundled.resolve() for bundled in BUNDLED_MODELS.values())
    except OSError:
        return False


def _warn_about_versions(metadata: ModelMetadata, path: Path) -> None:
    """Warn if the model was trained with another scikit-learn (major.minor) than the installed one."""
    versions = metadata.versions
    trained, journey = _shown_version(versions.get("scikit-learn")), _shown_version(versions.get("journey"))
    try:
        installed = package_metadata.version("scikit-learn")
    except package_metadata.PackageNotFoundError:
        return
    if trained is None or _major_minor(trained) == _major_minor(installed):
        return
    made_by = f" (journey {journey})" if journey else ""
    warnings.warn(
        ModelVersionWarning(
            f"{path} was trained with scikit-learn {trained}{made_by}; this is scikit-learn {installed}. "
            "Classifying does not use scikit-learn, so its labels are unaffected, but retrain it with "
            "`journey train` so that its scores and any further training use the same version"
        ),
        stacklevel=3,
    )


def _shown_version(version: Any) -> str | None:
    """A version recorded in the file, if it looks like one (the file chooses this text)."""
    return version if isinstance(version, str) and re.fullmatch(r"\d+\.\d+[\w.+!-]{0,40}", version) else None


def _major_minor(version: str) -> tuple[int, int] | None:
    found = re.match(r"(\d+)\.(\d+)", version)
    return (int(found[1]), int(found[2])) if found else None


def reset_model() -> str:
    """Delete the user's trained model, so that the bundled one is used again; says what was done."""
    user_model = user_model_path()
    if not user_model.exists():
        return "No trained model to remove; journey classify already uses the bundled model."
    user_model.unlink()
    return f"Removed {shown_path(user_model)}; journey classify uses the bundled model again."


def user_model_path(*, made: bool = False) -> Path:
    """Where `journey train` saves by default, and where `journey classify` looks first; `made`
    creates its folder (the user data folder does not exist before the first training).

    `JOURNEY_HOME` moves it (tests and CI use that); otherwise the platform's user data folder.
    """
    home = os.environ.get("JOURNEY_HOME")
    if home:
        path = Path(home) / "model.skops"
    else:
        import platformdirs

        path = platformdirs.user_data_path("journey", appauthor=False) / "model.skops"
    if made:
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def active_model_path() -> Path:
    """The model a plain `journey classify` uses: the user's trained model, else the bundled one."""
    user_model = user_model_path()
    return user_model if user_model.exists() else BUNDLED_MODEL
