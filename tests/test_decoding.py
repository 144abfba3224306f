"""Decoding: calibrated probabilities, crosswalk-consistent joint decisions, and thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from journey_cli import load_stages
from journey_cli.calibration import Probabilities, calibrate, expected_calibration_error, fit_temperature, reliability
from journey_cli.decoding import decode


def random_probabilities(columns: list[str], rows: int, seed: int) -> Probabilities:
    values = np.random.default_rng(seed).dirichlet(np.ones(len(columns)) * 0.5, size=rows)
    return Probabilities(columns, values)


@pytest.fixture(scope="module")
def probabilities() -> dict[str, Probabilities]:
    ids = load_stages().stage_ids()
    return {f: random_probabilities(ids[f], 500, seed) for seed, f in enumerate(ids)}


def test_joint_decoding_only_gives_pairs_the_crosswalk_allows(probabilities):
    stages = load_stages()
    (crosswalk,) = stages.crosswalk
    allowed = {(a, b) for a, bs in crosswalk.links.items() for b in bs}
    independent = decode(probabilities, stages)
    joint = decode(probabilities, stages, joint=True)
    pairs = set(zip(joint["lifecycle"].stages, joint["social"].stages, strict=True))
    assert pairs <= allowed
    loose = set(zip(independent["lifecycle"].stages, independent["social"].stages, strict=True))
    assert loose - allowed, "random probabilities do break the crosswalk when decided apart"


def test_thresholds_turn_unsure_posts_none_and_jointly_both_at_once(probabilities):
    stages = load_stages()
    thresholds = {"lifecycle": 0.6, "social": 0.6}
    for joint in (False, True):
        decoded = decode(probabilities, stages, thresholds=thresholds, joint=joint)
        for result in decoded.values():
            sure = result.stages != "none"
            assert (result.confidences[sure] >= 0.6).all()
        if joint:
            assert ((decoded["lifecycle"].stages == "none") == (decoded["social"].stages == "none")).all()


def test_temperature_keeps_the_ranking_and_sharpens_below_one():
    table = random_probabilities(["a", "b", "c"], 50, seed=3)
    sharp = calibrate(table, 0.5)
    assert (sharp.to_numpy().argmax(axis=1) == table.to_numpy().argmax(axis=1)).all()
    assert (sharp.values.max(axis=1) >= table.values.max(axis=1) - 1e-12).all()
    np.testing.assert_allclose(sharp.values.sum(axis=1), 1.0)
    assert calibrate(table, 1.0) is table


def test_fitted_temperature_repairs_an_underconfident_model():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=4000)
    logits = np.eye(3)[truth] * 3.0 + rng.normal(size=(4000, 3))
    true_probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(["a", "b", "c"])
    sampled = np.array([rng.choice(3, p=p) for p in true_probabilities])
    timid_values = true_probabilities**0.4
    timid = Probabilities(list(labels), timid_values / timid_values.sum(axis=1, keepdims=True))
    temperature = fit_temperature(timid, labels[sampled])
    assert 0.3 < temperature < 0.55
    before = expected_calibration_error(labels[sampled], timid)
    after = expected_calibration_error(labels[sampled], calibrate(timid, temperature))
    assert after < before / 2


def test_reliability_bins_hold_every_post_once():
    table = random_probabilities(["a", "b"], 300, seed=9)
    truth = np.where(np.random.default_rng(1).random(300) < 0.5, "a", "b")
    bins = reliability(truth, table)
    assert sum(b["posts"] for b in bins) == 300
    assert all(b["low"] <= b["confidence"] <= b["high"] for b in bins)
