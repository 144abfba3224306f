"""Why a post got its stage: the words whose features pushed the model towards it.

For a linear model the push of each feature towards stage c is exact: x_j * (w_cj - mean of
w_kj over the other stages k), its share of the log-odds of c against the average other stage
(it does not shrink as the model grows sure, unlike a gradient). A word bigram's push is split
between its two words, so a reader sees words ("refund", "never arrived").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .model import JourneyModel
from .text import as_text_array, blank_posts, foreign_posts, normalise_texts

_SHOWN = {"_user_": "@user", "_url_": "<link>"}


@dataclass
class Explanation:
    """One framework's decision on one post, with the words behind it and the runners-up."""

    framework_id: str
    stage: str
    confidence: float
    pushes: list[tuple[str, float]]  # word, push towards the stage (log-odds units)
    alternatives: list[tuple[str, float]]  # next best stages and their calibrated probabilities

    def pushes_text(self) -> str:
        return "; ".join(f"{word} {push:+.2f}" for word, push in self.pushes)

    def alternatives_text(self) -> str:
        return "; ".join(f"{stage} {probability:.4f}" for stage, probability in self.alternatives)


def explain_texts(
    model: JourneyModel,
    texts: Iterable[str | None] | pa.Array,
    *,
    words: int = 5,
    top_k: int = 2,
    thresholds: dict[str, float] | None = None,
) -> list[dict[str, Explanation]]:
    """For every text, per framework: its stage, the `words` strongest pushes and `top_k` runners-up."""
    texts = as_text_array(texts)
    normalised = normalise_texts(texts)
    foreign = foreign_posts(texts, normalised)
    decoded = model.decide(normalised, thresholds, foreign=foreign)
    counts = model.counts(normalised)
    starts = np.searchsorted(counts.rows, np.arange(len(normalised) + 1))
    filled = ~blank_posts(normalised) & ~foreign  # posts the model read
    explanations: list[dict[str, Explanation]] = [{} for _ in range(len(normalised))]
    for framework_id, result in decoded.items():
        head = model.heads[framework_id]
        # Per stage, its weights against the mean of the other stages' weights, computed once.
        coef = head.coef if len(head.coef) > 1 else np.vstack([-head.coef[0] / 2, head.coef[0] / 2])
        pull = {c: coef[i] - np.delete(coef, i, axis=0).mean(axis=0) for i, c in enumerate(head.classes)}
        values = head.features(counts)
        for row in range(len(normalised)):
            stage = result.stages[row]
            pushes: list[tuple[str, float]] = []
            runners_up: list[tuple[str, float]] = []
            if words and filled[row] and stage in pull:
                columns = counts.features[starts[row] : starts[row + 1]]
                row_values = values[starts[row] : starts[row + 1]]
                names = model.vocabulary.take(pa.array(columns)).to_pylist()
                pushes = _by_word(names, row_values * pull[stage][columns], words)
            if filled[row]:
                calibrated = result.probabilities.values[row]
                order = np.argsort(-calibrated, kind="stable")
                runners_up = [
                    (result.probabilities.columns[i], float(calibrated[i]))
                    for i in order
                    if result.probabilities.columns[i] != stage
                ][:top_k]
            explanations[row][framework_id] = Explanation(
                framework_id, stage, float(result.confidences[row]), pushes, runners_up
            )
    return explanations


def explanation_lines(
    model: JourneyModel, texts: list[str], *, words: int = 5, top_k: int = 2, as_json: bool = False
) -> Iterator[str]:
    """What `journey explain` prints for each text: a block for people, or one JSON line."""
    from .rules import stage_rules
    from .terminal import printable

    for text, per_framework in zip(texts, explain_texts(model, texts, words=words, top_k=top_k), strict=True):
        rules = stage_rules(model.stages, {f: np.array([e.stage]) for f, e in per_framework.items()})
        if as_json:
            record: dict[str, Any] = {"text": text}
            for framework_id, e in per_framework.items():
                record[framework_id] = {
                    "stage": e.stage,
                    "confidence": round(e.confidence, 4),
                    "rule": rules[framework_id][0],
                    "why": [{"word": w, "push": p} for w, p in e.pushes],
                    "next": [{"stage": s, "confidence": round(p, 4)} for s, p in e.alternatives],
                }
            yield json.dumps(record, ensure_ascii=False)
            continue
        lines = [printable(text)]
        for framework_id, e in per_framework.items():
            lines.append(f"  {framework_id}: {e.stage} ({e.confidence:.2f})  {rules[framework_id][0]}")
            lines.append(f"    why:  {e.pushes_text() or '(no word the model knows)'}")
            if e.alternatives:
                lines.append(f"    next: {e.alternatives_text()}")
        yield "\n".join(lines)


def _by_word(names: list[str], pushes: np.ndarray, keep: int) -> list[tuple[str, float]]:
    """Sum feature pushes onto words (half of a bigram's to each); the strongest positive first."""
    totals: dict[str, float] = {}
    for name, push in zip(names, pushes, strict=True):
        owners = name.split(" ")
        for owner in owners:
            totals[owner] = totals.get(owner, 0.0) + float(push) / len(owners)
    ranked = sorted(((w, p) for w, p in totals.items() if p > 0), key=lambda item: -item[1])
    return [(_SHOWN.get(word, word), round(push, 2)) for word, push in ranked[:keep]]
