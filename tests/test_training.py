"""Training: cross-validated scores, the `none` threshold, metadata, and safe model files."""

from __future__ import annotations

import pandas as pd
import pytest

from journey_cli import DataError, ModelError, classify_texts, load_model, load_stages, parse_stages, save_model
from journey_cli.model import JourneyModel
from journey_cli.training import checked_labels, data_fingerprint, train_model

from .conftest import DATA, EXAMPLES


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    return pd.read_csv(DATA / "mini_labelled.csv", dtype=str, keep_default_na=False)


def test_saved_model_records_how_it_was_made(mini_model_path, labelled):
    model = load_model(mini_model_path)
    metadata = model.metadata
    stages = load_stages()
    assert metadata.stages_fingerprint == stages.fingerprint()
    assert metadata.training_data.rows == len(labelled)
    assert metadata.training_data.sha256 == data_fingerprint(checked_labels(labelled, stages))
    assert {"scikit-learn", "numpy", "skops", "python"} <= set(metadata.versions)
    for framework_id in ("lifecycle", "social"):
        scores = metadata.cv.scores[framework_id]
        assert set(scores.per_stage) == set(stages.frameworks[framework_id].stage_ids)
        assert scores.macro_f1 == pytest.approx(sum(s.f1 for s in scores.per_stage.values()) / len(scores.per_stage))
        assert sum(s.support for s in scores.per_stage.values()) == metadata.training_data.labelled_rows[framework_id]
        assert scores.threshold == metadata.thresholds[framework_id] and 0.0 <= scores.threshold < 1.0


def test_model_learns_something_from_the_mini_corpus(mini_model_path):
    # Cross-validated on 84 posts in 7 stages, chance is about 0.14.
    scores = load_model(mini_model_path).metadata.cv.scores
    assert scores["lifecycle"].accuracy > 0.3
    assert scores["social"].accuracy > 0.3


def test_every_unknown_label_of_every_framework_is_reported_at_once_with_its_row(labelled):
    broken = labelled.copy()
    broken.loc[5, "social"] = "advocay"
    broken.loc[[8, 9], "social"] = "fan"
    broken.loc[3, "lifecycle"] = "purchase"
    with pytest.raises(DataError) as raised:
        checked_labels(broken, load_stages())
    assert str(raised.value) == (
        "lifecycle: 'purchase' (row 5) is not a stage (1 row); stages are realisation, awareness, evaluation, "
        "transaction, consumption, service, none; social: 'advocay' (row 7), 'fan' (row 10) are not a stage "
        "(3 rows); stages are pain_point, research, validation, selection, post_purchase, advocacy, none"
    )


def test_labels_match_stage_ids_ignoring_case_spaces_and_hyphens(labelled):
    spelled = labelled.copy()
    spelled["social"] = spelled["social"].str.replace("_", "-").str.title()  # Post-Purchase, Pain-Point, ...
    assert checked_labels(spelled, load_stages()).equals(checked_labels(labelled, load_stages()))


def test_missing_text_or_label_columns_are_explained(labelled):
    stages = load_stages()
    with pytest.raises(DataError, match="no 'text' column"):
        checked_labels(labelled.rename(columns={"text": "words"}), stages)
    with pytest.raises(DataError, match=r"no label column: add a column .*, or pass --stages FILE"):
        checked_labels(labelled[["text"]], stages)
    with pytest.raises(DataError, match=r"no label column: found 'Lifecycle', 'Social'; .* named exactly as"):
        checked_labels(labelled.rename(columns={"lifecycle": "Lifecycle", "social": "Social"}), stages)


def test_a_framework_may_be_left_blank_on_some_rows(labelled):
    partial = labelled.copy()
    partial.loc[: len(partial) // 2, "social"] = ""
    model = train_model(partial, folds=2)
    counts = model.metadata.training_data.labelled_rows
    assert counts["lifecycle"] == len(labelled)
    assert counts["social"] < len(labelled)


def test_too_few_posts_per_stage_says_what_to_do(labelled):
    tiny = labelled.groupby("lifecycle").head(2)
    with pytest.raises(DataError, match="at least 5 labelled posts .* label more or pass --folds"):
        train_model(tiny, folds=5)


def test_a_failed_save_keeps_the_previous_model(mini_model_path, tmp_path, monkeypatch):
    target = tmp_path / "model.skops"
    target.write_bytes(mini_model_path.read_bytes())
    import skops.io

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(skops.io, "dumps", fail)
    with pytest.raises(OSError):
        save_model(load_model(mini_model_path), target)
    assert target.read_bytes() == mini_model_path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"], "no temporary file is left behind"


def test_files_that_are_not_models_are_refused(tmp_path):
    junk = tmp_path / "junk.skops"
    junk.write_bytes(b"\x80\x04not a zip at all")
    with pytest.raises(ModelError, match="is not a journey model file"):
        load_model(junk)
    with pytest.raises(ModelError, match="model file not found"):
        load_model(tmp_path / "absent.skops")


def test_a_model_refuses_stages_with_other_ids(mini_model_path):
    model: JourneyModel = load_model(mini_model_path)
    other = parse_stages(model.stages_yaml.replace("pain_point", "pain"))
    with pytest.raises(ModelError, match="trained for other stages"):
        classify_texts(model, ["hello"], stages=other)


def test_a_higher_threshold_only_turns_unsure_posts_into_none(mini_model_path):
    model = load_model(mini_model_path)
    texts = pd.read_csv(EXAMPLES / "posts.csv", dtype=str, keep_default_na=False)["text"]
    base = classify_texts(model, texts, thresholds={"lifecycle": 0.0, "social": 0.0})
    nones = []
    for threshold in (0.3, 0.6, 1.0):
        result = classify_texts(model, texts, thresholds={"lifecycle": threshold, "social": threshold})
        kept = result["social_stage"] == base["social_stage"]
        assert (kept | (result["social_stage"] == "none")).all()
        assert (result.loc[~kept, "social_confidence"] < 1).all()
        nones.append((result["social_stage"] == "none").sum())
    assert nones == sorted(nones) and nones[-1] == len(texts)
    empty = texts == ""
    assert (base.loc[empty, "lifecycle_confidence"] == 1.0).all(), "an empty post is certainly not on a journey"


def test_training_needs_labels_in_every_framework_of_the_stages_file(labelled):
    with pytest.raises(DataError, match=r"no labels for lifecycle; label posts in every framework .*\(--stages FILE\)"):
        train_model(labelled.drop(columns=["lifecycle"]), folds=2)
    blank = labelled.assign(lifecycle="")
    with pytest.raises(DataError, match="no labels for lifecycle"):
        train_model(blank, folds=2)
