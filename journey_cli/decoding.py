"""Turn each framework's class probabilities into stages: calibration, joint decoding, thresholds.

The same steps run when a model classifies and when training chooses the settings on
cross-validated probabilities, so the scores a model reports are the scores of what it does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calibration import Probabilities, calibrate
from .stages import NONE, Stages


@dataclass
class Decoded:
    """One framework's decision for a batch of posts."""

    stages: np.ndarray
    confidences: np.ndarray
    probabilities: Probabilities  # calibrated, one column per stage


def decode(
    probabilities: dict[str, Probabilities],
    stages: Stages,
    *,
    temperatures: dict[str, float] | None = None,
    thresholds: dict[str, float] | None = None,
    joint: bool = False,
) -> dict[str, Decoded]:
    """Stage and confidence per framework from raw class probabilities.

    With `joint`, two frameworks linked by a crosswalk are decided together: the pair of stages
    with the highest product of probabilities among the pairs the crosswalk allows, so an
    `advocacy` post is never `realisation`. A framework's confidence is then the probability
    of its stage summed over the allowed pairs. Last, a stage whose confidence is under the
    framework's threshold becomes `none`, with the probability of `none` as its confidence;
    when decided jointly, both frameworks of the pair become `none` together, since the
    crosswalk pairs `none` only with `none`.
    """
    temperatures = temperatures or {}
    thresholds = thresholds or {}
    calibrated = {f: calibrate(p, temperatures.get(f, 1.0)) for f, p in probabilities.items()}
    chosen = {f: _best(p) for f, p in calibrated.items()}
    unsure = {f: confidences < thresholds.get(f, 0.0) for f, (_, confidences) in chosen.items()}
    if joint:
        for crosswalk in stages.crosswalk:
            first, second = crosswalk.frameworks
            if first in calibrated and second in calibrated:
                chosen[first], chosen[second] = _joint_best(calibrated[first], calibrated[second], crosswalk.links)
                either = (chosen[first][1] < thresholds.get(first, 0.0)) | (
                    chosen[second][1] < thresholds.get(second, 0.0)
                )
                unsure[first] = unsure[second] = either
    decoded = {}
    for framework_id, (stage_ids, confidences) in chosen.items():
        stage_ids, confidences = stage_ids.copy(), confidences.copy()
        table = calibrated[framework_id]
        if NONE in table.columns and unsure[framework_id].any():
            unsure_rows = unsure[framework_id]
            stage_ids[unsure_rows] = NONE
            confidences[unsure_rows] = table.column(NONE)[unsure_rows]
        decoded[framework_id] = Decoded(stage_ids, confidences, table)
    return decoded


def _best(probabilities: Probabilities) -> tuple[np.ndarray, np.ndarray]:
    values = probabilities.to_numpy()
    best = values.argmax(axis=1) if values.size else np.zeros(len(values), dtype=int)
    stage_ids = np.asarray(probabilities.columns, dtype=object)[best] if values.size else np.array([], dtype=object)
    confidences = values[np.arange(len(values)), best] if values.size else np.array([], dtype=float)
    return stage_ids, confidences


def _joint_best(
    first: Probabilities, second: Probabilities, links: dict[str, tuple[str, ...]]
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    allowed = np.array([[1.0 if s in links.get(f, ()) else 0.0 for s in second.columns] for f in first.columns])
    pairs = first.to_numpy()[:, :, None] * second.to_numpy()[:, None, :] * allowed[None]
    totals = pairs.sum(axis=(1, 2), keepdims=True)
    # A post whose every allowed pair has zero probability keeps its independent decision.
    pairs = np.divide(pairs, totals, out=np.zeros_like(pairs), where=totals > 0)
    rows = np.arange(len(pairs))
    best_first, best_second = np.unravel_index(pairs.reshape(len(pairs), allowed.size).argmax(axis=1), allowed.shape)
    first_confidence = pairs.sum(axis=2)[rows, best_first]
    second_confidence = pairs.sum(axis=1)[rows, best_second]
    independent_first, independent_second = _best(first), _best(second)
    dead = totals.ravel() == 0
    first_ids = np.where(dead, independent_first[0], np.asarray(first.columns, dtype=object)[best_first])
    second_ids = np.where(dead, independent_second[0], np.asarray(second.columns, dtype=object)[best_second])
    first_confidence = np.where(dead, independent_first[1], first_confidence)
    second_confidence = np.where(dead, independent_second[1], second_confidence)
    return (first_ids.astype(object), first_confidence), (second_ids.astype(object), second_confidence)
