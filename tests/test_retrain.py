"""A team retrains on its own labelled posts: with journey's corpus, weighted, and never for the worse."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from journey_cli import classify_texts, load_model, load_stages, training
from journey_cli.cli import app
from journey_cli.model_file import BUNDLED_MODELS
from journey_cli.training import Trained, compare_on_team, post_hash, team_weight, train

from .conftest import DATA, EXAMPLES

TEAM = EXAMPLES / "team_labelled.csv"  # a mobile network's care team: 120 posts in its own words


@pytest.fixture(scope="module")
def team() -> pd.DataFrame:
    return pd.read_csv(TEAM, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def small_corpus() -> pd.DataFrame:
    return pd.read_csv(DATA / "mini_labelled.csv", dtype=str, keep_default_na=False)


def test_the_bundled_corpus_ships_in_the_package_and_is_the_bundled_models_training_data():
    corpus = training.corpus_for(load_stages())
    assert corpus is not None and len(corpus) > 10_000
    assert corpus.columns[:3].tolist() == ["text", "lifecycle", "social"]
    assert training.BUNDLED_CORPUS.parent.name == "journey_cli"


def test_the_corpus_is_only_for_the_stages_it_is_labelled_in():
    custom = load_stages(EXAMPLES / "b2b" / "stages.yaml")
    assert training.corpus_for(custom) is None  # by default, not for other stages
    with pytest.raises(training.DataError, match="corpus is labelled in the bundled stages"):
        training.corpus_for(custom, True)


def test_a_teams_posts_are_weighted_up_against_the_corpus_and_the_model_records_it(team, small_corpus):
    corpus = small_corpus.copy()
    corpus.loc[0, "text"] = team.loc[0, "text"]  # a post in both: the team's label is the one learnt
    corpus.loc[0, "social"] = "advocacy" if team.loc[0, "social"] != "advocacy" else "none"
    trained = train(team, kind="fast", folds=3, corpus=corpus, weight=3.0)
    data = trained.model.metadata.training_data
    assert (data.corpus_rows, data.team_weight, data.rows) == (len(corpus) - 1, 3.0, len(corpus) - 1 + len(team))
    assert data.team_posts == [post_hash(text) for text in team["text"]]
    assert trained.team.columns.tolist() == ["text", "lifecycle", "social", "lifecycle_cv", "social_cv"]
    assert len(trained.team) >= len(team) - 10  # the posts with no words (a handle and an emoji) are not scored
    first = trained.team.set_index("text").loc[team.loc[0, "text"]]
    assert first["social"] == team.loc[0, "social"]
    assert team_weight(len(team), 11_360) == 5.0  # the default for a team's first 120 posts


def test_the_comparison_leaves_out_the_posts_the_active_model_was_trained_on(team, small_corpus):
    trained = train(team, kind="fast", folds=3, corpus=small_corpus)
    itself = compare_on_team(trained, trained.model)  # a model that saw every one of them
    assert itself.posts == 0 and "trained on all of these posts" in itself.text() and not itself.worse
    half = train(team.iloc[:60], kind="fast", folds=3, corpus=small_corpus).model
    comparison = compare_on_team(trained, half)
    seen = trained.team["text"].isin(team["text"].iloc[:60])
    assert comparison.posts == (~seen).sum()
    assert f"posts the active model never saw ({seen.sum()} it was trained on are left out)" in comparison.text()


def test_train_shows_both_models_on_the_teams_posts_and_keeps_the_better_active(runner, tmp_path, journey_home):
    alone = ["train", str(TEAM), "--model-kind", "fast", "--folds", "3", "--no-corpus"]
    result = runner.invoke(app, alone)
    # 120 posts alone learn less than the bundled model knows: it stays active, and nothing is saved.
    assert result.exit_code == 1
    assert "On your 116 labelled posts, macro-F1 / accuracy:" in result.stderr  # 4 have no words to score
    assert "active model" in result.stderr and "new model (CV)" in result.stderr
    assert re.search(r"mean macro-F1 is -0\.\d{3} against the active one's: clearly lower \(99% of", result.stderr)
    assert result.stderr.rstrip().endswith(
        "Error: kept the active model, clearly better on your posts; --force makes the new one active"
    )
    assert not (journey_home / "model.skops").exists()
    forced = runner.invoke(app, [*alone, "--force"])
    assert forced.exit_code == 0 and (journey_home / "model.skops").exists()
    elsewhere = runner.invoke(app, [*alone[:-1], "--no-corpus", "-o", str(tmp_path / "mine.skops")])
    assert elsewhere.exit_code == 0, "a model saved elsewhere is not made active, so it is not refused"


def test_train_learns_with_the_corpus_by_default_and_says_so(runner, journey_home, monkeypatch):
    monkeypatch.setattr(training, "BUNDLED_CORPUS", DATA / "mini_labelled.csv")  # a small corpus, for speed
    result = runner.invoke(app, ["train", str(TEAM), "--model-kind", "fast", "--folds", "3", "--force"])
    assert result.exit_code == 0, result.stderr
    assert "training on your 120 posts, each counted 1 times, and journey's 84" in result.stderr
    info = json.loads(runner.invoke(app, ["model", "--json"]).stdout)
    assert (info["training_data"]["corpus_rows"], info["training_data"]["team_weight"]) == (84, 1.0)
    assert "team_posts" not in info["training_data"], "the post fingerprints are for journey, not for people"
    shown = runner.invoke(app, ["model"]).stdout
    assert (
        "trained   on 204 posts" in shown
        and ": 120 of yours, each counted 1 times, and 84 of journey's corpus" in shown
    )


@pytest.mark.slow
def test_a_team_retrained_with_the_bundled_corpus_beats_the_bundled_model_and_is_made_active(runner, journey_home):
    result = runner.invoke(app, ["train", str(TEAM), "--model-kind", "fast"])
    assert result.exit_code == 0, result.stderr
    assert "training on your 120 posts, each counted 5 times" in result.stderr
    assert (journey_home / "model.skops").exists()


def test_the_readme_loop_suggest_label_retrain_works_on_a_teams_export(runner, team, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "BUNDLED_CORPUS", DATA / "mini_labelled.csv")  # a small corpus, for speed
    team[["channel", "text"]].to_csv(tmp_path / "export.csv", index=False)  # the export, not yet labelled
    suggested = runner.invoke(
        app, ["suggest", str(tmp_path / "export.csv"), "-n", "60", "-o", str(tmp_path / "to.csv")]
    )
    assert suggested.exit_code == 0, suggested.stderr
    to_label = pd.read_csv(tmp_path / "to.csv", dtype=str, keep_default_na=False)
    assert {"lifecycle", "social"} <= set(to_label.columns) and (to_label[["lifecycle", "social"]] == "").all().all()
    labels = team.set_index("text")
    for framework_id in ("lifecycle", "social"):  # a person labels them in a spreadsheet
        to_label[framework_id] = [labels.loc[text.removeprefix("'"), framework_id] for text in to_label["text"]]
    to_label.to_csv(tmp_path / "labelled.csv", index=False)
    trained = runner.invoke(app, ["train", str(tmp_path / "labelled.csv"), "--model-kind", "fast", "--folds", "3"])
    assert "training on your 60 posts" in trained.stderr and "labelled posts, macro-F1 / accuracy:" in trained.stderr
    assert trained.exit_code in (0, 1), trained.stderr  # made active, or kept out as worse: both said in one line
    assert (
        trained.stderr.rstrip().splitlines()[-1].startswith(("A plain `journey classify` now uses it", "Error: kept"))
    )


def test_a_damaged_active_model_is_not_compared_and_does_not_stop_a_new_one(runner, journey_home):
    (journey_home / "model.skops").write_text("not a model")
    result = runner.invoke(app, ["train", str(TEAM), "--model-kind", "fast", "--folds", "3", "--no-corpus"])
    assert result.exit_code == 0, result.stderr
    assert "Not compared with the active model, which cannot be loaded:" in result.stderr
    assert (journey_home / "model.skops").read_bytes()[:2] == b"PK"  # the new model, a skops zip


@pytest.mark.parametrize(
    ("guess", "worse", "verdict"),
    [("the active model's", False, "not clearly different"), ("none for every post", True, "clearly lower")],
)
def test_a_new_model_is_kept_out_only_when_clearly_worse_on_the_teams_posts(team, guess, worse, verdict):
    active = load_model(BUNDLED_MODELS["fast"])
    labelled = classify_texts(active, team["text"])
    posts = team[["text", "lifecycle", "social"]].copy()
    for framework_id in ("lifecycle", "social"):
        same = labelled[f"{framework_id}_stage"].to_numpy()
        posts[f"{framework_id}_cv"] = same if guess == "the active model's" else "none"
    comparison = compare_on_team(Trained(active, posts), active)
    assert comparison.posts == len(team) and comparison.worse is worse
    assert f": {verdict} (99% of resamples of these posts:" in comparison.text()


def test_a_model_trained_with_the_corpus_counts_the_corpus_posts_as_seen(team, small_corpus, monkeypatch):
    monkeypatch.setattr(training, "BUNDLED_CORPUS", DATA / "mini_labelled.csv")
    active = train(team, kind="fast", folds=3, corpus=small_corpus).model
    on_the_corpus = train(small_corpus, kind="fast", folds=3)
    assert "trained on all of these posts" in compare_on_team(on_the_corpus, active).text()
