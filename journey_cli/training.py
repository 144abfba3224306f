"""Train a journey model from labelled posts, with cross-validated scores and `none` thresholds."""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata as package_metadata
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from .errors import DataError
from .model import JourneyModel, build_pipeline
from .scoring import score_stages
from .stages import NONE, Stages
from .text import normalise_texts

MIN_POSTS_PER_STAGE = 2
THRESHOLD_GRID = np.round(np.arange(0.0, 0.951, 0.025), 3)


def read_labelled(labelled: pd.DataFrame, stages: Stages, text_column: str = "text") -> pd.DataFrame:
    """Check a labelled table against the stages: a text column and one label column per framework.

    Returns the text and label columns, with blank labels as "" (that framework skips the row).
    """
    missing = [c for c in [text_column, *stages.framework_ids] if c not in labelled.columns]
    if text_column in missing:
        raise DataError(
            f"no '{text_column}' column; columns are {', '.join(map(str, labelled.columns))}; pass --text-column"
        )
    present = [f for f in stages.framework_ids if f not in missing]
    if not present:
        raise DataError(f"no label column; add a column named after a framework ({', '.join(stages.framework_ids)})")
    table = labelled[[text_column, *present]].fillna("").astype(str)
    table = table.rename(columns={text_column: "text"})
    for framework_id in present:
        labels = table[framework_id].str.strip()
        table[framework_id] = labels
        known = set(stages.frameworks[framework_id].stage_ids)
        unknown = labels[(labels != "") & ~labels.isin(known)]
        if len(unknown):
            row = unknown.index[0]
            raise DataError(
                f"row {row + 2}: '{unknown.iloc[0]}' is not a {framework_id} stage "
                f"({len(unknown)} such rows); stages are {', '.join(sorted(known))}"
            )
    return table


def data_fingerprint(table: pd.DataFrame) -> str:
    """sha256 of the training rows (text and labels), independent of file encoding and line endings."""
    digest = hashlib.sha256()
    for row in table.itertuples(index=False):
        digest.update(json.dumps(list(row), ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def train_model(
    labelled: pd.DataFrame,
    stages: Stages,
    stages_yaml: str,
    *,
    text_column: str = "text",
    folds: int = 5,
    pipeline: Pipeline | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> JourneyModel:
    """Fit one pipeline per framework; cross-validate it; pick its `none` threshold.

    `pipeline` is an unfitted scikit-learn text classifier with `predict_proba`, cloned for each
    framework (default: `build_pipeline()`); benchmarks pass alternatives here.

    The threshold (below it a post is `none`) is the one that maximises macro-F1, `none`
    included, on the out-of-fold probabilities. The reported scores use that threshold.
    """
    table = read_labelled(labelled, stages, text_column)
    texts = normalise_texts(table["text"])
    pipelines, cv_scores, thresholds, counts = {}, {}, {}, {}
    for framework_id in stages.framework_ids:
        if framework_id not in table:
            continue
        rows = (table[framework_id] != "") & (texts != "")
        y = table.loc[rows, framework_id].to_numpy()
        x = texts[rows]
        _check_enough(framework_id, y, folds)
        counts[framework_id] = int(rows.sum())
        progress(f"{framework_id}: cross-validating on {rows.sum()} posts ({folds} folds)")
        framework_pipeline = clone(pipeline) if pipeline is not None else build_pipeline()
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        probabilities = cross_val_predict(clone(framework_pipeline), x, y, cv=splitter, method="predict_proba")
        classes = np.unique(y)
        threshold, predicted = _best_threshold(y, probabilities, classes)
        thresholds[framework_id] = threshold
        cv_scores[framework_id] = score_stages(y, predicted, stages.frameworks[framework_id].stage_ids)
        cv_scores[framework_id]["threshold"] = threshold
        progress(f"{framework_id}: fitting on all {rows.sum()} posts")
        pipelines[framework_id] = framework_pipeline.fit(x, y)
    if not pipelines:
        raise DataError("no labelled rows to train on")
    metadata = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "stages_fingerprint": stages.fingerprint(),
        "stage_ids": stages.stage_ids(),
        "versions": _versions(),
        "training_data": {"rows": len(table), "labelled_rows": counts, "sha256": data_fingerprint(table)},
        "cv": {"folds": folds, "scores": cv_scores},
        "thresholds": thresholds,
    }
    return JourneyModel(pipelines, stages, stages_yaml, metadata)


def _check_enough(framework_id: str, labels: np.ndarray, folds: int) -> None:
    values, counts = np.unique(labels, return_counts=True)
    if len(values) < 2:
        raise DataError(
            f"{framework_id}: need posts of at least two stages to train; found {', '.join(values) or 'none'}"
        )
    scarce = [f"{v} ({c})" for v, c in zip(values, counts, strict=True) if c < folds]
    if scarce:
        raise DataError(
            f"{framework_id}: each stage needs at least {folds} labelled posts for {folds}-fold "
            f"cross-validation; too few: {', '.join(scarce)}; label more or pass --folds"
        )


def _best_threshold(truth: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> tuple[float, np.ndarray]:
    best = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    predicted = classes[best]
    if NONE not in classes:
        return 0.0, predicted
    candidates = []
    for threshold in THRESHOLD_GRID:
        guess = np.where(confidence < threshold, NONE, predicted)
        macro = score_stages(truth, guess, list(classes))["macro_f1"]
        candidates.append((macro, -threshold, guess))
    macro, negative_threshold, guess = max(candidates, key=lambda c: (c[0], c[1]))
    return float(-negative_threshold), guess


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("journey", "scikit-learn", "numpy", "scipy", "skops"):
        try:
            versions[package] = package_metadata.version(package)
        except package_metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def describe_model(model: JourneyModel) -> dict[str, Any]:
    """The metadata a user wants to see about a model, in a plain dict."""
    return {
        "stages": model.stages.stage_ids(),
        **{k: v for k, v in model.metadata.items() if k != "stage_ids"},
    }
