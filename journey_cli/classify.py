"""Classify posts: add each framework's stage, confidence and engagement rule to a table of posts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import DataError
from .model import JourneyModel
from .rules import stage_rules
from .stages import Stages
from .text import as_text_array, foreign_posts, normalise_texts, post_texts

if TYPE_CHECKING:
    import pandas as pd

CONFIDENCE_DIGITS = 4


def stage_column(framework_id: str) -> str:
    """The name of the column that holds each post's stage in a framework: `F_stage`.

    >>> stage_column("social"), confidence_column("social"), rule_column("social")
    ('social_stage', 'social_confidence', 'social_rule')
    """
    return f"{framework_id}_stage"


def confidence_column(framework_id: str) -> str:
    return f"{framework_id}_confidence"


def rule_column(framework_id: str) -> str:
    return f"{framework_id}_rule"


def result_columns(stages: Stages) -> list[str]:
    """The columns classify adds, in order: `F_stage, F_confidence, F_rule` for each framework F."""
    return [name(f) for f in stages.framework_ids for name in (stage_column, confidence_column, rule_column)]


def unread_posts(classified: pa.Table, stages: Stages) -> int:
    """How many classified posts the model could not read (another language): `none` at confidence 0."""
    confidence = classified[confidence_column(stages.framework_ids[0])]
    return int(pc.sum(pc.equal(confidence, 0.0)).as_py() or 0)


def classify_results(
    model: JourneyModel,
    texts: Iterable[str | None] | pa.Array | pa.ChunkedArray,
    *,
    stages: Stages | None = None,
    thresholds: dict[str, float] | None = None,
    explain: bool = False,
    top_k: int = 0,
    rules: bool = True,
) -> dict[str, pa.Array]:
    """The result columns for these texts, in order, as Arrow arrays.

    Without `rules` the `F_rule` columns are left out (most of an output's size). `explain` adds
    `F_why` per framework (the words that pushed the post into its stage); `top_k` adds `F_next`
    (the next best stages with their confidences). Both come after the standard columns.
    `stages` supplies the rule wording if given.
    """
    stages = stages or model.stages
    model.check_stages(stages)  # a comparison of two hashes, each computed once per run
    texts = as_text_array(texts)
    extra: dict[str, list[str]] = {}
    if explain or top_k:
        from .explain import explain_texts

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
        normalised = normalise_texts(texts)
        decoded = model.decide(normalised, thresholds, foreign=foreign_posts(texts, normalised))
        decided = {f: (d.stages, d.confidences) for f, d in decoded.items()}
    rule_texts = stage_rules(stages, {f: stage_ids for f, (stage_ids, _) in decided.items()}) if rules else {}
    columns: dict[str, pa.Array] = {}
    for framework_id in stages.framework_ids:
        stage_ids, confidences = decided[framework_id]
        columns[stage_column(framework_id)] = _few_values(stage_ids)
        confidences = np.asarray(confidences, dtype=np.float64).round(CONFIDENCE_DIGITS)
        columns[confidence_column(framework_id)] = pa.array(confidences, pa.float64())
        if rules:
            columns[rule_column(framework_id)] = _few_values(rule_texts[framework_id])
    columns.update({name: pa.array(values, pa.string()) for name, values in extra.items()})
    return columns


def _few_values(values: np.ndarray) -> pa.DictionaryArray:
    """Strings drawn from a few values (stage ids, rules) as a dictionary array: written fast."""
    return pa.array(values, pa.string()).dictionary_encode()


def classify_table(
    model: JourneyModel,
    table: pa.Table,
    text_column: str | Sequence[str],
    *,
    stages: Stages | None = None,
    **options: Any,
) -> pa.Table:
    """The input rows unchanged and in order, followed by the result columns.

    `options` are those of `classify_results`.
    """
    stages = stages or model.stages
    _refuse_clashes(table.column_names, stages)
    results = classify_results(model, post_texts(table, text_column), stages=stages, **options)
    for name, values in results.items():
        table = table.append_column(name, values)
    return table


def classify_chunks(
    model: JourneyModel, chunks: Iterable[pa.Table], text_column: str | Sequence[str], **options: Any
) -> Iterator[pa.Table]:
    """Classify a stream of chunks lazily, so a file of any size needs the memory of one chunk."""
    for chunk in chunks:
        yield classify_table(model, chunk, text_column, **options)


def classify_texts(model: JourneyModel, texts: Iterable[str | None], **options: Any) -> pd.DataFrame:
    """One row per text with the result columns, as a pandas DataFrame.

    `options` are those of `classify_results`: `stages`, `thresholds`, `explain`, `top_k`.
    """
    import pandas as pd

    index = texts.index if isinstance(texts, pd.Series) else None
    texts = list(texts) if not isinstance(texts, pd.Series) else texts.astype(object).where(texts.notna(), "")
    results = classify_results(model, pa.array(list(texts), pa.string()), **options)
    return pd.DataFrame(
        {name: _plain(values).to_numpy(zero_copy_only=False) for name, values in results.items()}, index=index
    )


def classify_frame(model: JourneyModel, frame: pd.DataFrame, text_column: str, **options: Any) -> pd.DataFrame:
    """The input rows unchanged and in order, followed by the result columns (pandas in, pandas out).

    To score the partitions of a bigger table on a cluster, use `classify_partition`.
    """
    import pandas as pd

    _refuse_clashes(list(frame.columns), options.get("stages") or model.stages)
    results = classify_texts(model, frame[text_column], **options)
    results.index = frame.index
    return pd.concat([frame, results], axis=1)


def classify_partition(
    frame: pd.DataFrame, model: JourneyModel, text_column: str = "text", **options: Any
) -> pd.DataFrame:
    """`classify_frame` with the partition first, for Dask's `map_partitions` (Spark's `mapInPandas` alike).

    import dask.dataframe as dd
    posts = dd.read_csv("posts-*.csv", dtype=str, keep_default_na=False)
    labelled = posts.map_partitions(classify_partition, load_model(), "text")
    """
    return classify_frame(model, frame, text_column, **options)


def _plain(values: pa.Array) -> pa.Array:
    return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values


def _refuse_clashes(columns: list[str], stages: Stages) -> None:
    clashes = [c for c in result_columns(stages) if c in columns]
    if clashes:
        raise DataError(
            f"the input already has column {clashes[0]} (is it journey output?); "
            "drop the stage, confidence and rule columns before classifying it again"
        )
