"""Classify posts: add each framework's stage, confidence and engagement rule to a table of posts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from .errors import DataError
from .explain import explain_texts
from .model import JourneyModel
from .rules import stage_rules
from .stages import Stages

CONFIDENCE_DIGITS = 4


def result_columns(stages: Stages) -> list[str]:
    """The columns classify adds, in order: `F_stage, F_confidence, F_rule` for each framework F."""
    return [f"{f}_{part}" for f in stages.framework_ids for part in ("stage", "confidence", "rule")]


def classify_texts(
    model: JourneyModel,
    texts: Iterable[str],
    *,
    stages: Stages | None = None,
    thresholds: dict[str, float] | None = None,
    explain: bool = False,
    top_k: int = 0,
) -> pd.DataFrame:
    """One row per text with the result columns; `stages` supplies the rule wording if given.

    `explain` adds `F_why` per framework (the words that pushed the post into its stage);
    `top_k` adds `F_next` (the next best stages with their confidences). Both come after the
    standard columns.
    """
    stages = stages or model.stages
    model.check_stages(stages)
    texts = pd.Series(list(texts) if not isinstance(texts, pd.Series) else texts, dtype=object)
    extra: dict[str, list[str]] = {}
    if explain or top_k:
        explained = explain_texts(model, texts, words=5 if explain else 0, top_k=top_k, thresholds=thresholds)
        decided = {
            f: (np.array([e[f].stage for e in explained], dtype=object), np.array([e[f].confidence for e in explained]))
            for f in stages.framework_ids
        }
        for framework_id in stages.framework_ids:
            if explain:
                extra[f"{framework_id}_why"] = [e[framework_id].pushes_text() for e in explained]
            if top_k:
                extra[f"{framework_id}_next"] = [e[framework_id].alternatives_text() for e in explained]
    else:
        decided = {f: (d.stages, d.confidences) for f, d in model.predict(texts, thresholds).items()}
    rules = stage_rules(stages, {f: stage_ids for f, (stage_ids, _) in decided.items()})
    columns: dict[str, object] = {}
    for framework_id in stages.framework_ids:
        stage_ids, confidences = decided[framework_id]
        columns[f"{framework_id}_stage"] = stage_ids
        columns[f"{framework_id}_confidence"] = np.asarray(confidences, dtype=float).round(CONFIDENCE_DIGITS)
        columns[f"{framework_id}_rule"] = rules[framework_id]
    columns.update(extra)
    return pd.DataFrame(columns, index=texts.index)


def classify_frame(
    model: JourneyModel,
    frame: pd.DataFrame,
    text_column: str,
    *,
    stages: Stages | None = None,
    thresholds: dict[str, float] | None = None,
    explain: bool = False,
    top_k: int = 0,
) -> pd.DataFrame:
    """The input rows unchanged and in order, followed by the result columns."""
    stages = stages or model.stages
    clashes = [c for c in result_columns(stages) if c in frame.columns]
    if clashes:
        raise DataError(
            f"the input already has column {clashes[0]} (is it journey output?); "
            "drop the stage, confidence and rule columns before classifying it again"
        )
    results = classify_texts(
        model, frame[text_column], stages=stages, thresholds=thresholds, explain=explain, top_k=top_k
    )
    results.index = frame.index
    return pd.concat([frame, results], axis=1)


def classify_chunks(
    model: JourneyModel,
    chunks: Iterable[pd.DataFrame],
    text_column: str,
    *,
    stages: Stages | None = None,
    thresholds: dict[str, float] | None = None,
    explain: bool = False,
    top_k: int = 0,
) -> Iterator[pd.DataFrame]:
    """Classify a stream of chunks lazily, so a file of any size needs the memory of one chunk."""
    for chunk in chunks:
        yield classify_frame(
            model, chunk, text_column, stages=stages, thresholds=thresholds, explain=explain, top_k=top_k
        )
