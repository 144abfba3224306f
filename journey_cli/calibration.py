"""Calibrated confidence: temperature scaling, expected calibration error, reliability bins."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 10


@dataclass
class Probabilities:
    """Class probabilities for a batch of posts: a row per post, a column per stage in `columns`."""

    columns: list[str]
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, rows: np.ndarray | slice) -> Probabilities:
        return Probabilities(self.columns, self.values[rows])

    def to_numpy(self) -> np.ndarray:
        return self.values

    def column(self, stage_id: str) -> np.ndarray:
        return self.values[:, self.columns.index(stage_id)]


def calibrate(probabilities: Probabilities, temperature: float) -> Probabilities:
    """Temperature scaling: softmax(logits / T). T < 1 sharpens, T > 1 softens; the ranking stays."""
    if temperature == 1.0 or not len(probabilities):
        return probabilities
    logs = np.log(np.clip(probabilities.values, 1e-12, 1.0)) / temperature
    logs -= logs.max(axis=1, keepdims=True)
    scaled = np.exp(logs)
    scaled /= scaled.sum(axis=1, keepdims=True)
    return Probabilities(probabilities.columns, scaled)


def fit_temperature(probabilities: Probabilities, truth: np.ndarray) -> float:
    """The temperature that minimises the log-loss of `truth` (fitted on out-of-fold probabilities)."""
    from scipy.optimize import minimize_scalar

    columns = list(probabilities.columns)
    rows = np.arange(len(truth))
    targets = np.array([columns.index(label) for label in truth])
    logs = np.log(np.clip(probabilities.to_numpy(), 1e-12, 1.0))

    def log_loss(temperature: float) -> float:
        scaled = logs / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        return float(-(scaled[rows, targets] - np.log(np.exp(scaled).sum(axis=1))).mean())

    return float(minimize_scalar(log_loss, bounds=(0.05, 10.0), method="bounded").x)


def reliability(truth: np.ndarray, probabilities: Probabilities, bins: int = BINS) -> list[dict[str, float]]:
    """Posts grouped by the confidence of their top stage: mean confidence against accuracy per bin."""
    values = probabilities.to_numpy()
    if not len(values):
        return []
    confidence = values.max(axis=1)
    correct = np.asarray(probabilities.columns, dtype=object)[values.argmax(axis=1)] == np.asarray(truth, dtype=object)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for index in range(bins):
        members = which == index
        if members.any():
            rows.append(
                {
                    "low": float(edges[index]),
                    "high": float(edges[index + 1]),
                    "confidence": float(confidence[members].mean()),
                    "accuracy": float(correct[members].mean()),
                    "posts": int(members.sum()),
                }
            )
    return rows


def expected_calibration_error(truth: np.ndarray, probabilities: Probabilities, bins: int = BINS) -> float:
    """How far confidence is from accuracy, averaged over confidence bins weighted by their posts.

    0 means that among posts given confidence 0.8, 80% are right, at every level.
    """
    table = reliability(truth, probabilities, bins)
    total = sum(row["posts"] for row in table)
    if not total:
        return 0.0
    return round(sum(row["posts"] * abs(row["accuracy"] - row["confidence"]) for row in table) / total, 4)
