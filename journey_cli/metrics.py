"""Quality figures for predicted stages: per-stage precision, recall, F1 and their averages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support


def score_stages(
    truth: Sequence[str] | np.ndarray, predicted: Sequence[str] | np.ndarray, stage_ids: Sequence[str]
) -> dict[str, Any]:
    """Per-stage precision/recall/F1/support, macro and weighted F1, and accuracy.

    Macro-F1 averages over the stages that occur in `truth` or `predicted`, `none` included, so a
    stage missing from a small test set does not count as a zero.
    """
    present = [stage for stage in stage_ids if stage in set(truth) | set(predicted)]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=present, zero_division=0.0
    )
    per_stage = {
        stage: {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(s),
        }
        for stage, p, r, f, s in zip(present, precision, recall, f1, support, strict=True)
    }
    weights = np.asarray(support, dtype=float)
    return {
        "per_stage": per_stage,
        "macro_f1": float(np.mean(f1)) if len(f1) else 0.0,
        "weighted_f1": float(np.average(f1, weights=weights)) if weights.sum() else 0.0,
        "accuracy": float(accuracy_score(truth, predicted)) if len(truth) else 0.0,
        "rows": len(truth),
    }


def format_scores(title: str, scores: dict[str, Any]) -> str:
    """The scores as a small fixed-width table, one stage per line."""
    lines = [title, f"  {'stage':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for stage, row in scores["per_stage"].items():
        lines.append(
            f"  {stage:<16}{row['precision']:>10.2f}{row['recall']:>10.2f}{row['f1']:>10.2f}{row['support']:>10d}"
        )
    lines.append(
        f"  macro-F1 {scores['macro_f1']:.3f}   weighted-F1 {scores['weighted_f1']:.3f}   "
        f"accuracy {scores['accuracy']:.3f}   ({scores['rows']} posts)"
    )
    return "\n".join(lines)


def resampled_macro_f1(
    truth: np.ndarray, predicted: np.ndarray, stage_ids: Sequence[str], draws: np.ndarray
) -> np.ndarray:
    """Macro-F1 (as `score_stages` computes it) on each resample of the posts: `draws` holds, per
    resample, how many times each post is drawn (a paired bootstrap gives two models the same draws).

    >>> truth, predicted = np.array(["a", "b", "b"]), np.array(["a", "b", "a"])
    >>> resampled_macro_f1(truth, predicted, ["a", "b"], np.array([[1, 1, 1], [1, 1, 0]])).round(3).tolist()
    [0.667, 1.0]
    """
    ids = np.asarray(stage_ids)
    is_truth = (np.asarray(truth)[:, None] == ids).astype(float)  # posts x stages
    is_predicted = (np.asarray(predicted)[:, None] == ids).astype(float)
    hits, stated, guessed = draws @ (is_truth * is_predicted), draws @ is_truth, draws @ is_predicted
    present = (stated + guessed) > 0  # a stage counts where it occurs in the resample's truth or guesses
    f1 = np.divide(2 * hits, stated + guessed, out=np.zeros_like(hits), where=present)
    return (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)
