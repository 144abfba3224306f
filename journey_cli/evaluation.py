"""Evaluate a model on labelled posts, or cross-validate a training file: scores, confusion, errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from .calibration import Probabilities, expected_calibration_error, reliability
from .errors import DataError, JourneyWarning
from .metrics import format_scores, score_stages
from .model import JourneyModel
from .stages import Stages
from .training import checked_labels, choose_decoding, cross_validate, data_fingerprint

SHORT_NAME = 6


@dataclass
class FrameworkEvaluation:
    """One framework's predictions next to the labels of the posts labelled in it."""

    framework_id: str
    stage_ids: list[str]
    rows: np.ndarray  # 0-based data row of each post in the labelled file
    texts: np.ndarray
    truth: np.ndarray
    predicted: np.ndarray
    confidences: np.ndarray
    probabilities: Probabilities  # calibrated, one column per stage the model knows

    def scores(self) -> dict[str, Any]:
        scores = score_stages(self.truth, self.predicted, self.stage_ids)
        scores["ece"] = expected_calibration_error(self.truth, self.probabilities)
        return scores

    def labels(self) -> list[str]:
        present = set(self.truth) | set(self.predicted)
        return [stage for stage in self.stage_ids if stage in present]

    def confusion(self) -> pd.DataFrame:
        """Counts of true stage (rows) against predicted stage (columns)."""
        labels = self.labels()
        matrix = confusion_matrix(self.truth, self.predicted, labels=labels)
        return pd.DataFrame(matrix, index=labels, columns=labels)

    def errors(self) -> pd.DataFrame:
        wrong = self.truth != self.predicted
        return pd.DataFrame(
            {
                "row": self.rows[wrong] + 2,  # as a spreadsheet numbers it (the header is row 1), as train says
                "framework": self.framework_id,
                "text": self.texts[wrong],
                "label": self.truth[wrong],
                "predicted": self.predicted[wrong],
                "confidence": self.confidences[wrong].round(4),
            }
        )


def evaluate_model(
    model: JourneyModel, labelled: pd.DataFrame, text_column: str | Sequence[str] = "text"
) -> dict[str, FrameworkEvaluation]:
    """Score a saved model on labelled posts it was not trained on."""
    table = checked_labels(labelled, model.stages, text_column)
    if data_fingerprint(table) == model.metadata.training_data.sha256:
        warnings.warn(
            "these are the very posts the model was trained on, so the scores say little about new posts; "
            "test on posts it never saw, or cross-validate with --cv 5",
            JourneyWarning,
            stacklevel=2,
        )
    decoded = model.predict(table["text"])
    results = {}
    for framework_id, result in decoded.items():
        if framework_id not in table:
            continue
        labelled_rows = (table[framework_id] != "").to_numpy()
        results[framework_id] = FrameworkEvaluation(
            framework_id,
            model.stages.frameworks[framework_id].stage_ids,
            np.flatnonzero(labelled_rows),
            table["text"].to_numpy()[labelled_rows],
            table[framework_id].to_numpy()[labelled_rows],
            result.stages[labelled_rows],
            result.confidences[labelled_rows],
            result.probabilities[labelled_rows],
        )
    if not results:
        raise DataError("no labelled rows to evaluate; add a column named after a framework")
    return results


def cross_validate_labelled(
    labelled: pd.DataFrame,
    stages: Stages,
    *,
    folds: int = 5,
    text_column: str | Sequence[str] = "text",
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, FrameworkEvaluation]:
    """What `journey train` would score on this file: out-of-fold decisions with tuned decoding."""
    table = checked_labels(labelled, stages, text_column)
    oof = cross_validate(table, stages, folds=folds, progress=progress)
    _, decoded = choose_decoding(oof, stages)
    positions = np.asarray(table.index.get_indexer(oof.table.index))
    results = {}
    for framework_id, result in decoded.items():
        labelled_rows = oof.labelled(framework_id)
        results[framework_id] = FrameworkEvaluation(
            framework_id,
            stages.frameworks[framework_id].stage_ids,
            positions[labelled_rows],
            oof.table["text"].to_numpy()[labelled_rows],
            oof.table[framework_id].to_numpy()[labelled_rows],
            result.stages[labelled_rows],
            result.confidences[labelled_rows],
            result.probabilities[labelled_rows],
        )
    return results


def evaluation_report(evaluations: dict[str, FrameworkEvaluation]) -> dict[str, Any]:
    """Everything `journey evaluate --json` prints, per framework."""
    report = {}
    for framework_id, evaluation in evaluations.items():
        confusion = evaluation.confusion()
        report[framework_id] = {
            **evaluation.scores(),
            "confusion": {"labels": list(confusion.index), "matrix": confusion.to_numpy().tolist()},
            "reliability": reliability(evaluation.truth, evaluation.probabilities),
        }
    return report


def evaluation_text(evaluations: dict[str, FrameworkEvaluation], how: str) -> str:
    """What `journey evaluate` prints: per framework, the scores table, calibration and confusion matrix."""
    blocks = []
    for framework_id, evaluation in evaluations.items():
        scores = evaluation.scores()
        blocks.append(
            format_scores(f"{framework_id}: {how}", scores)
            + f"\n  calibration error (ECE) {scores['ece']:.3f}\n\n"
            + format_confusion(evaluation.confusion())
        )
    return "\n\n".join(blocks)


def format_confusion(confusion: pd.DataFrame) -> str:
    """The confusion matrix as a terminal table; stage ids are cut to a few letters to fit."""
    short = [label[:SHORT_NAME] for label in confusion.columns]
    width = max(SHORT_NAME, len(str(confusion.to_numpy().max()))) + 1
    lines = ["  true \\ predicted".ljust(18) + "".join(f"{name:>{width}}" for name in short)]
    for label, row in confusion.iterrows():
        lines.append(f"  {label:<16}" + "".join(f"{count:>{width}}" for count in row))
    return "\n".join(lines)


def plot_evaluation(evaluations: dict[str, FrameworkEvaluation], path: str | Path) -> None:
    """Draw each framework's confusion matrix and reliability diagram into one PNG."""
    from .report import pyplot

    plt = pyplot("--plot")
    figure, axes = plt.subplots(len(evaluations), 2, figsize=(13, 5.6 * len(evaluations)), squeeze=False)
    for (left, right), evaluation in zip(axes, evaluations.values(), strict=True):
        confusion = evaluation.confusion()
        counts = confusion.to_numpy()
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        left.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        left.set_xticks(range(len(confusion.columns)), confusion.columns, rotation=35, ha="right")
        left.set_yticks(range(len(confusion.index)), confusion.index)
        for (row, column), count in np.ndenumerate(counts):
            colour = "white" if shares[row, column] > 0.55 else "black"
            left.text(column, row, str(count), ha="center", va="center", color=colour, fontsize=9)
        scores = evaluation.scores()
        left.set_title(
            f"{evaluation.framework_id}: macro-F1 {scores['macro_f1']:.2f}, accuracy {scores['accuracy']:.2f}\n"
            "rows: true stage, columns: predicted (colour: share of the row)"
        )
        bins = reliability(evaluation.truth, evaluation.probabilities)
        right.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
        right.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label="journey")
        for b in bins:
            right.annotate(
                str(b["posts"]), (b["confidence"], b["accuracy"]), textcoords="offset points", xytext=(4, -10)
            )
        right.set_xlim(0, 1)
        right.set_ylim(0, 1)
        right.set_xlabel("confidence of the top stage")
        right.set_ylabel("share of posts whose top stage is right")
        right.set_title(f"{evaluation.framework_id}: reliability (ECE {scores['ece']:.3f}; numbers are posts per bin)")
        right.legend(loc="upper left")
    figure.tight_layout()
    from .writing import replacing

    with replacing(path, "wb") as stream:  # a failed run leaves any earlier picture as it was
        figure.savefig(stream, dpi=110, format="png")
    plt.close(figure)
