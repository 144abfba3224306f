"""Classify posts: add each framework's stage, confidence and engagement rule to a table of posts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pandas as pd

from .errors import DataError
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
) -> pd.DataFrame:
    """One row per text with the result columns; `stages` supplies the rule wording if given."""
    stages = stages or model.stages
    model.check_stages(stages)
    texts = pd.Series(list(texts) if not isinstance(texts, pd.Series) else texts, dtype=object)
    predictions = model.predict(texts, thresholds)
    rules = stage_rules(stages, {f: p.stages for f, p in predictions.items()})
    columns = {}
    for framework_id in stages.framework_ids:
        prediction = predictions[framework_id]
        columns[f"{framework_id}_stage"] = prediction.stages
        columns[f"{framework_id}_confidence"] = prediction.confidences.round(CONFIDENCE_DIGITS)
        columns[f"{framework_id}_rule"] = rules[framework_id]
    return pd.DataFrame(columns, index=texts.index)


def classify_frame(
    model: JourneyModel,
    frame: pd.DataFrame,
    text_column: str,
    *,
    stages: Stages | None = None,
    thresholds: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The input rows unchanged and in order, followed by the result columns."""
    stages = stages or model.stages
    clashes = [c for c in result_columns(stages) if c in frame.columns]
    if clashes:
        raise DataError(
            f"the input already has column {clashes[0]} (is it journey output?); "
            "drop the stage, confidence and rule columns before classifying it again"
        )
    results = classify_texts(model, frame[text_column], stages=stages, thresholds=thresholds)
    results.index = frame.index
    return pd.concat([frame, results], axis=1)


def classify_chunks(
    model: JourneyModel,
    chunks: Iterable[pd.DataFrame],
    text_column: str,
    *,
    stages: Stages | None = None,
    thresholds: dict[str, float] | None = None,
) -> Iterator[pd.DataFrame]:
    """Classify a stream of chunks lazily, so a file of any size needs the memory of one chunk."""
    for chunk in chunks:
        yield classify_frame(model, chunk, text_column, stages=stages, thresholds=thresholds)
