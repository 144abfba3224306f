"""Why a post got its stage: the words whose features pushed the model towards it.

For a linear model the push of each feature towards stage c is exact: x_j * (w_cj - mean of
w_kj over the other stages k), its share of the log-odds of c against the average other stage
(it does not shrink as the model grows sure, unlike a gradient). Word n-grams and character
n-grams are summed back onto the words of the post they come from, so a reader sees words
("refund", "never arrived"), not fragments of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .model import JourneyModel
from .text import normalise_texts

_WORD = re.compile(r"\w+|[!?]")
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
    texts: pd.Series,
    *,
    words: int = 5,
    top_k: int = 2,
    thresholds: dict[str, float] | None = None,
) -> list[dict[str, Explanation]]:
    """For every text, per framework: its stage, the `words` strongest pushes and `top_k` runners-up."""
    texts = pd.Series(texts, dtype=object).reset_index(drop=True)
    decoded = model.predict(texts, thresholds)
    normalised = normalise_texts(texts)
    explanations: list[dict[str, Explanation]] = [{} for _ in range(len(texts))]
    for framework_id, result in decoded.items():
        pipeline = model.pipelines[framework_id]
        features, classifier = pipeline[:-1], pipeline[-1]
        names = _feature_names(model, framework_id)
        classes = list(classifier.classes_)
        coef = classifier.coef_
        # Per stage, its weights against the mean of the other stages' weights, computed once.
        pull = {c: coef[i] - np.delete(coef, i, axis=0).mean(axis=0) for i, c in enumerate(classes)}
        matrix = features.transform(normalised).tocsr() if words else None
        for row in range(len(texts)):
            stage = result.stages[row]
            pushes: list[tuple[str, float]] = []
            runners_up: list[tuple[str, float]] = []
            if matrix is not None and normalised[row] and stage in classes:
                weights = pull[stage]
                start, end = matrix.indptr[row], matrix.indptr[row + 1]
                columns, values = matrix.indices[start:end], matrix.data[start:end]
                pushes = _by_word(normalised[row], names[columns], values * weights[columns], words)
            if normalised[row]:
                calibrated = result.probabilities.iloc[row].sort_values(ascending=False)
                runners_up = [(s, float(p)) for s, p in calibrated.items() if s != stage][:top_k]
            explanations[row][framework_id] = Explanation(
                framework_id, stage, float(result.confidences[row]), pushes, runners_up
            )
    return explanations


def _feature_names(model: JourneyModel, framework_id: str) -> np.ndarray:
    cache = model.__dict__.setdefault("_feature_names", {})
    if framework_id not in cache:
        cache[framework_id] = np.asarray(model.pipelines[framework_id][:-1].get_feature_names_out(), dtype=object)
    return cache[framework_id]


def _by_word(text: str, names: np.ndarray, pushes: np.ndarray, keep: int) -> list[tuple[str, float]]:
    """Sum feature pushes onto the words of the text they belong to; the strongest positive first."""
    post_words = list(dict.fromkeys(_WORD.findall(text)))
    totals: dict[str, float] = dict.fromkeys(post_words, 0.0)
    for name, push in zip(names, pushes, strict=True):
        kind, _, gram = name.partition("__")
        if " " in gram.strip() and kind != "chars":
            owners = [w for w in gram.split() if w in totals]  # a word bigram: half to each word
        elif kind == "chars":
            owners = _words_holding(gram, post_words)
        else:
            owners = [gram] if gram in totals else []
        if not owners:
            totals[gram.strip() or gram] = totals.get(gram.strip() or gram, 0.0) + float(push)
            continue
        for owner in owners:
            totals[owner] += float(push) / len(owners)
    ranked = sorted(((w, p) for w, p in totals.items() if p > 0), key=lambda item: -item[1])
    return [(_SHOWN.get(word, word), round(push, 2)) for word, push in ranked[:keep]]


def _words_holding(gram: str, post_words: list[str]) -> list[str]:
    # char_wb n-grams stay inside one space-separated token; match on their letters and digits.
    core = re.sub(r"\W", "", gram)
    return [word for word in post_words if core and core in word]
