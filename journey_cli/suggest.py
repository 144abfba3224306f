"""Which posts to label next: those the model is least sure of, and unlike each other.

Labelling the posts a model already gets right teaches it little; labelling ten copies of the same
puzzling post teaches it once. So candidates are ranked by uncertainty (one minus the margin
between the two best stages, averaged over frameworks), the most uncertain are kept from each
chunk, and the final picks are made greedily, each time taking the post that is most uncertain
after a penalty for resembling one already picked (cosine similarity of its TF-IDF features).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .model import JourneyModel
from .text import blank_posts, normalise_texts, post_texts

POOL_FACTOR = 10
SIMILARITY_PENALTY = 0.5


def suggest_posts(
    model: JourneyModel, chunks: Iterable[pa.Table], text_column: str | Sequence[str], count: int
) -> pd.DataFrame:
    """The `count` posts most worth labelling, as rows ready to label.

    Returns the input columns, then per framework an empty label column named after it (kept
    as it was if the input has it) and `F_guess` with the model's stage, then `uncertainty`.
    """
    pool_size = max(count * POOL_FACTOR, count)
    pool: pd.DataFrame | None = None
    columns: list[str] = []
    for chunk in chunks:
        scored = _score(model, chunk, text_column)
        pool = scored if pool is None else pd.concat([pool, scored])
        pool = pool.drop_duplicates("_normalised").nlargest(pool_size, "uncertainty")
        columns = columns or chunk.column_names
    if pool is None or pool.empty:  # no posts with words: the columns alone, ready to fill in
        added = [f for f in model.heads if f not in columns] + [f"{f}_guess" for f in model.heads] + ["uncertainty"]
        return pd.DataFrame(columns=[*columns, *added], dtype=str)
    picked = _pick_diverse(model, pool, count)
    return picked.drop(columns="_normalised").reset_index(drop=True)


def _score(model: JourneyModel, table: pa.Table, text_column: str | Sequence[str]) -> pd.DataFrame:
    normalised = normalise_texts(post_texts(table, text_column))
    worded = ~blank_posts(normalised)  # posts of only handles, links or emoji are `none` by rule: nothing to learn
    chunk = table.to_pandas()[worded].copy()
    if chunk.empty:
        return chunk.assign(uncertainty=pd.Series(dtype=float), _normalised=pd.Series(dtype=object))
    normalised = normalised.filter(pa.array(worded))
    decoded = model.decide(normalised)
    margins = []
    for framework_id, result in decoded.items():
        top_two = np.sort(result.probabilities.to_numpy(), axis=1)[:, -2:]
        margins.append(top_two[:, 1] - top_two[:, 0])
        if framework_id not in chunk.columns:
            chunk[framework_id] = ""
        chunk[f"{framework_id}_guess"] = result.stages
    chunk["uncertainty"] = (1.0 - np.mean(margins, axis=0)).round(4)
    chunk["_normalised"] = normalised.to_numpy(zero_copy_only=False)
    return chunk


def _pick_diverse(model: JourneyModel, pool: pd.DataFrame, count: int) -> pd.DataFrame:
    from scipy.sparse import csr_matrix

    counts = model.counts(pa.array(pool["_normalised"].tolist(), pa.string()))
    head = next(iter(model.heads.values()))
    # TF-IDF vectors are already of unit length, so their dot product is their cosine similarity.
    vectors = csr_matrix(
        (head.features(counts), (counts.rows, counts.features)), shape=(len(pool), len(model.vocabulary))
    )
    uncertainty = pool["uncertainty"].to_numpy()
    closest = np.zeros(len(pool))
    chosen: list[int] = []
    for _ in range(min(count, len(pool))):
        score = uncertainty - SIMILARITY_PENALTY * closest
        score[chosen] = -np.inf
        best = int(score.argmax())
        chosen.append(best)
        closest = np.maximum(closest, (vectors @ vectors[best].T).toarray().ravel())
    return pool.iloc[chosen]
