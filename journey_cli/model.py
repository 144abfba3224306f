"""The journey model: per framework a TF-IDF logistic regression held as plain arrays, and its file.

scikit-learn trains the model (see `training.py`); classifying needs only what a fitted linear
text model is made of (the vocabulary, IDF weights, coefficients and intercepts), so it runs on
numpy and Arrow without importing scikit-learn, whose import alone takes over a second.

Model files are skops files that hold only plain data (a dict of strings and numpy arrays), so
`skops.io.load` opens them with no trust list and nothing in a file can run code. journey reads
those few plain node types itself, which keeps skops and scikit-learn out of a classify run.
"""

from __future__ import annotations

import functools
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .calibration import Probabilities
from .decoding import Decoded, decode
from .errors import ModelError
from .features import Counts, count_features
from .stages import NONE, Stages, parse_stages
from .text import normalise_texts
from .writing import replacing

MODEL_FORMAT = "journey-model/2"
BUNDLED_MODEL = Path(__file__).with_name("default_model.skops")
_SKOPS_PROTOCOL = 2


@dataclass
class LinearHead:
    """One framework's TF-IDF weights and logistic regression over the model's shared vocabulary."""

    classes: list[str]
    idf: np.ndarray  # per vocabulary gram; 0 for grams this framework was not trained on
    coef: np.ndarray  # (classes, grams), or (1, grams) for two classes
    intercept: np.ndarray

    def features(self, counts: Counts) -> np.ndarray:
        """The TF-IDF value of each entry of `counts`: scikit-learn's TfidfVectorizer(sublinear_tf=True)."""
        return _tfidf(counts, self.idf)

    def link(self, decision: np.ndarray) -> np.ndarray:
        """Probabilities from the decision values X @ coef.T (the intercept is added here)."""
        decision = decision + self.intercept
        if len(self.coef) == 1:  # two classes: scikit-learn keeps one row of weights for the second
            second = 1.0 / (1.0 + np.exp(-decision[:, 0]))
            return np.column_stack([1.0 - second, second])
        decision -= decision.max(axis=1, keepdims=True)
        np.exp(decision, out=decision)
        decision /= decision.sum(axis=1, keepdims=True)
        return decision


def _tfidf(counts: Counts, idf: np.ndarray) -> np.ndarray:
    weights = (1.0 + np.log(counts.counts)) * np.take(idf, counts.features)
    norms = np.sqrt(np.bincount(counts.rows, weights * weights, minlength=counts.posts))
    row_norms = norms[counts.rows]
    return np.divide(weights, row_norms, out=np.zeros_like(weights), where=row_norms > 0)


def _sparse_dot(counts: Counts, values: np.ndarray, coef_by_gram: np.ndarray) -> np.ndarray:
    """The (posts x columns) product of the sparse features with a (grams x columns) matrix."""
    product = np.zeros((counts.posts, coef_by_gram.shape[1]))
    if len(counts.rows):
        # Each entry's contribution to every column at once, summed over each post's entries.
        contributions = np.take(coef_by_gram, counts.features, axis=0)  # 4x faster than [...]
        contributions *= values[:, None]
        starts = np.flatnonzero(np.r_[True, counts.rows[1:] != counts.rows[:-1]])
        product[counts.rows[starts]] = np.add.reduceat(contributions, starts, axis=0)
    return product


@dataclass
class JourneyModel:
    """A linear head per framework over one vocabulary, the stages they were trained for, and how."""

    vocabulary: pa.Array  # the word 1-2-grams the model knows, in feature order
    heads: dict[str, LinearHead]
    stages: Stages
    stages_yaml: str
    metadata: dict[str, Any]

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.metadata.get("thresholds", {}))

    def counts(self, normalised: pa.Array) -> Counts:
        return count_features(normalised, self.vocabulary)

    def raw_probabilities(self, texts: Any) -> dict[str, Probabilities]:
        """Each framework's uncalibrated class probabilities; empty posts get all zeros."""
        return self.probabilities_of(normalise_texts(texts))

    def probabilities_of(self, normalised: pa.Array, blank: np.ndarray | None = None) -> dict[str, Probabilities]:
        """`raw_probabilities` of texts already normalised (`blank`: which are empty, if known)."""
        counts = self.counts(normalised)
        blank = _blank(normalised) if blank is None else blank
        results = {}
        # Frameworks trained on the same posts share their IDF: their TF-IDF features are
        # computed once and their weights applied in one pass.
        for idf, framework_ids, coef_by_gram in self._head_groups:
            decisions = _sparse_dot(counts, _tfidf(counts, idf), coef_by_gram)
            start = 0
            for framework_id in framework_ids:
                head = self.heads[framework_id]
                values = head.link(decisions[:, start : start + len(head.coef)])
                start += len(head.coef)
                values[blank] = 0.0
                results[framework_id] = Probabilities(list(head.classes), values)
        return {framework_id: results[framework_id] for framework_id in self.heads}

    @functools.cached_property
    def _head_groups(self) -> list[tuple[np.ndarray, list[str], np.ndarray]]:
        groups: list[tuple[np.ndarray, list[str]]] = []
        for framework_id, head in self.heads.items():
            for idf, members in groups:
                if np.array_equal(idf, head.idf):
                    members.append(framework_id)
                    break
            else:
                groups.append((head.idf, [framework_id]))
        return [
            (idf, members, np.ascontiguousarray(np.vstack([self.heads[f].coef for f in members]).T))
            for idf, members in groups
        ]

    def predict(self, texts: Any, thresholds: dict[str, float] | None = None) -> dict[str, Decoded]:
        """Stage and confidence per framework for every text, decoded as the model was tuned to."""
        return self.decide(normalise_texts(texts), thresholds)

    def decide(self, normalised: pa.Array, thresholds: dict[str, float] | None = None) -> dict[str, Decoded]:
        """`predict` for texts already normalised.

        Probabilities are calibrated with the temperature fitted in training; linked frameworks
        are decided jointly if that scored better; a stage under the framework's threshold
        becomes `none`. An empty post always gets `none` with confidence 1.
        """
        blank = _blank(normalised)
        decoded = decode(
            self.probabilities_of(normalised, blank),
            self.stages,
            temperatures=self.metadata.get("temperatures"),
            thresholds={**self.thresholds, **(thresholds or {})},
            joint=bool(self.metadata.get("joint", False)),
        )
        for result in decoded.values():
            result.stages[blank] = NONE
            result.confidences[blank] = 1.0
        return decoded

    def check_stages(self, stages: Stages) -> None:
        """Refuse stages whose framework or stage ids differ from the ones this model learnt."""
        if stages.fingerprint() != self.stages.fingerprint():
            raise ModelError(
                "the model was trained for other stages than the stages file in use "
                f"(model: {_describe_ids(self.stages)}; file: {_describe_ids(stages)}); "
                "retrain with `journey train LABELLED.csv --stages FILE` or drop --stages"
            )


def _blank(normalised: pa.Array) -> np.ndarray:
    return pc.equal(pc.binary_length(normalised), 0).to_numpy(zero_copy_only=False)


def _describe_ids(stages: Stages) -> str:
    return "; ".join(f"{f}: {', '.join(ids)}" for f, ids in stages.stage_ids().items())


def save_model(model: JourneyModel, path: str | Path) -> Path:
    """Write the model as a skops file of plain data, atomically: the previous file survives any failure."""
    import skops.io as sio

    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path} is a directory; give a file name such as {path / 'model.skops'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    offsets, data = model.vocabulary.buffers()[1:]
    start, end = model.vocabulary.offset, model.vocabulary.offset + len(model.vocabulary)
    offsets = np.frombuffer(offsets, dtype=np.int32)[start : end + 1]
    document = {
        "format": MODEL_FORMAT,
        "metadata": json.dumps(model.metadata),
        "stages_yaml": model.stages_yaml,
        "vocabulary": np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].copy(),
        "vocabulary_offsets": (offsets - offsets[0]).astype(np.int64),
        "frameworks": {
            framework_id: {
                "classes": json.dumps(list(head.classes)),
                "idf": head.idf,
                "coef": head.coef,
                "intercept": head.intercept,
            }
            for framework_id, head in model.heads.items()
        },
    }
    with replacing(path, "wb") as stream:
        stream.write(sio.dumps(document, compression=zipfile.ZIP_DEFLATED, compresslevel=6))
    return path


def load_model(path: str | Path | None = None) -> JourneyModel:
    """Load a model saved by `save_model` (the active model when `path` is None)."""
    path = Path(path) if path is not None else active_model_path()
    if path.is_dir():
        raise ModelError(f"{path} is a directory; pass a model file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except OSError as error:
        raise ModelError(f"cannot read model {path}: {error.strerror}") from None
    not_a_model = f"{path} is not a journey model file; train one with `journey train`"
    try:
        document = _read_plain_skops(data, path)
        if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
            raise ModelError(not_a_model)
        offsets = np.asarray(document["vocabulary_offsets"], dtype=np.int32)
        vocabulary = pa.Array.from_buffers(
            pa.string(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(document["vocabulary"])]
        )
        vocabulary.validate(full=True)
        heads = {
            framework_id: LinearHead(
                json.loads(head["classes"]),
                np.asarray(head["idf"], dtype=np.float64),
                np.asarray(head["coef"], dtype=np.float64),
                np.asarray(head["intercept"], dtype=np.float64),
            )
            for framework_id, head in document["frameworks"].items()
        }
        metadata = json.loads(document["metadata"])
        stages_yaml = document["stages_yaml"]
    except ModelError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, pa.ArrowException) as error:
        raise ModelError(f"{not_a_model} ({type(error).__name__})") from None
    for framework_id, head in heads.items():
        if head.coef.shape[1:] != (len(vocabulary),) or head.idf.shape != (len(vocabulary),):
            raise ModelError(f"{path}: the {framework_id} weights do not match the vocabulary; the file is damaged")
    return JourneyModel(
        vocabulary=vocabulary,
        heads=heads,
        stages=parse_stages(stages_yaml, source=f"stages inside {path}"),
        stages_yaml=stages_yaml,
        metadata=metadata,
    )


def _read_plain_skops(data: bytes, path: Path) -> Any:
    """The object in a skops file made only of dicts, JSON values and numeric numpy arrays.

    Anything else is refused, and arrays are read with `allow_pickle=False`: no byte of the file
    can make Python build an object of its choosing. A file from a newer skops protocol is
    handed to skops itself, which trusts no types.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
        if schema.get("protocol") != _SKOPS_PROTOCOL:
            return _read_with_skops(data, path)

        def build(node: dict[str, Any]) -> Any:
            loader = node.get("__loader__")
            if loader == "DictNode" and node.get("__class__") == "dict":
                return {str(key): build(value) for key, value in node["content"].items()}
            if loader == "JsonNode" and node.get("is_json") is True:
                return json.loads(node["content"])
            if loader == "NdArrayNode" and node.get("type") == "numpy":
                with archive.open(node["file"]) as member:
                    return np.load(io.BytesIO(member.read()), allow_pickle=False)
            kind = f"{node.get('__module__')}.{node.get('__class__')}"
            raise ModelError(f"{path} holds a {kind}, which journey models never contain; it cannot be loaded")

        return build(schema)


def _read_with_skops(data: bytes, path: Path) -> Any:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    if untrusted:
        raise ModelError(
            f"{path} contains types journey does not trust ({', '.join(untrusted[:5])}); "
            "only models saved by `journey train` can be loaded"
        )
    return sio.loads(data)


def user_model_path() -> Path:
    """Where `journey train` saves by default, and where `journey classify` looks first.

    `JOURNEY_HOME` moves it (tests and CI use that); otherwise the platform's user data folder.
    """
    home = os.environ.get("JOURNEY_HOME")
    if home:
        return Path(home) / "model.skops"
    import platformdirs

    return platformdirs.user_data_path("journey", appauthor=False) / "model.skops"


def active_model_path() -> Path:
    """The model a plain `journey classify` uses: the user's trained model, else the bundled one."""
    user_model = user_model_path()
    return user_model if user_model.exists() else BUNDLED_MODEL
