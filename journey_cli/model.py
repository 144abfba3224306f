"""The journey model: one scikit-learn pipeline per framework, its metadata, and safe persistence.

Models are saved with skops, never pickle: loading a model file from elsewhere cannot run code.
The model carries the stages YAML it was trained with, so a file is complete on its own.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from .decoding import Decoded, decode
from .errors import ModelError
from .stages import NONE, Stages, parse_stages
from .text import normalise_texts
from .writing import replacing

MODEL_FORMAT = "journey-model/1"
BUNDLED_MODEL = Path(__file__).with_name("default_model.skops")


def build_pipeline() -> Pipeline:
    """TF-IDF over word 1-2-grams and character 2-5-grams, into a class-balanced logistic regression.

    Word n-grams catch phrases ("refund", "any recommendations"); character n-grams catch typos,
    hashtags and word pieces that a small corpus never spells the same way twice. Logistic
    regression gives usable probabilities and keeps to stock parts that skops loads without a
    trust list. Chosen over a linear SVM and naive Bayes by cross-validated macro-F1 (see README).
    """
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, token_pattern=r"(?u)\b\w+\b|[!?]"),
            ),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )
    classifier = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)
    return Pipeline([("features", features), ("classifier", classifier)])


@dataclass
class JourneyModel:
    """Fitted pipelines per framework, the stages they were trained for, and how they were made."""

    pipelines: dict[str, Pipeline]
    stages: Stages
    stages_yaml: str
    metadata: dict[str, Any]

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.metadata.get("thresholds", {}))

    def raw_probabilities(self, texts: pd.Series) -> dict[str, pd.DataFrame]:
        """Each framework's uncalibrated class probabilities; empty posts get all zeros."""
        return self._probabilities(normalise_texts(texts.reset_index(drop=True)))

    def _probabilities(self, normalised: pd.Series) -> dict[str, pd.DataFrame]:
        filled = (normalised.str.len() > 0).to_numpy()
        results = {}
        for framework_id, pipeline in self.pipelines.items():
            values = np.zeros((len(normalised), len(pipeline.classes_)))
            if filled.any():
                values[filled] = pipeline.predict_proba(normalised[filled])
            results[framework_id] = pd.DataFrame(values, columns=list(pipeline.classes_))
        return results

    def predict(self, texts: pd.Series, thresholds: dict[str, float] | None = None) -> dict[str, Decoded]:
        """Stage and confidence per framework for every text, decoded as the model was tuned to.

        Probabilities are calibrated with the temperature fitted in training; linked frameworks
        are decided jointly if that scored better; a stage under the framework's threshold
        becomes `none`. An empty post always gets `none` with confidence 1.
        """
        normalised = normalise_texts(texts.reset_index(drop=True))
        blank = (normalised.str.len() == 0).to_numpy()
        decoded = decode(
            self._probabilities(normalised),
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


def _describe_ids(stages: Stages) -> str:
    return "; ".join(f"{f}: {', '.join(ids)}" for f, ids in stages.stage_ids().items())


def save_model(model: JourneyModel, path: str | Path) -> Path:
    """Write the model with skops, atomically: the previous file survives any failure."""
    import skops.io as sio

    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path} is a directory; give a file name such as {path / 'model.skops'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "format": MODEL_FORMAT,
        "metadata": model.metadata,
        "stages_yaml": model.stages_yaml,
        "pipelines": model.pipelines,
    }
    with replacing(path, "wb") as stream:
        # The skops format is mostly JSON (the vocabularies): deflate makes it ~15x smaller.
        stream.write(sio.dumps(document, compression=zipfile.ZIP_DEFLATED, compresslevel=6))
    return path


def load_model(path: str | Path | None = None) -> JourneyModel:
    """Load a model saved by `save_model` (the active model when `path` is None).

    Only types that skops trusts by default are accepted, so a crafted file cannot run code.
    """
    import skops.io as sio

    path = Path(path) if path is not None else active_model_path()
    if path.is_dir():
        raise ModelError(f"{path} is a directory; pass a model file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except OSError as error:
        raise ModelError(f"cannot read model {path}: {error.strerror}") from None
    try:
        untrusted = sio.get_untrusted_types(data=data)
        if untrusted:
            raise ModelError(
                f"{path} contains types journey does not trust ({', '.join(untrusted[:5])}); "
                "only models saved by `journey train` can be loaded"
            )
        document = sio.loads(data)
    except ModelError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as error:
        raise ModelError(
            f"{path} is not a journey model file ({type(error).__name__}); train one with `journey train`"
        ) from None
    if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path} is not a journey model file; train one with `journey train`")
    stages_yaml = document["stages_yaml"]
    return JourneyModel(
        pipelines=dict(document["pipelines"]),
        stages=parse_stages(stages_yaml, source=f"stages inside {path}"),
        stages_yaml=stages_yaml,
        metadata=document["metadata"],
    )


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
