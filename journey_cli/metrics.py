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
