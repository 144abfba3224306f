"""`journey evaluate`, `journey explain`, `journey suggest` and classify's --explain / --top-k."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from journey_cli.cli import app

from .conftest import DATA, EXAMPLES

MINI = str(DATA / "mini_labelled.csv")


def test_evaluate_prints_scores_confusion_and_calibration(runner, mini_model_path):
    result = runner.invoke(app, ["evaluate", MINI, "--model", str(mini_model_path)])
    assert result.exit_code == 0, result.stderr
    for framework_id in ("lifecycle", "social"):
        assert f"{framework_id}: model tested on" in result.stdout
    assert "true \\ predicted" in result.stdout
    assert "calibration error (ECE)" in result.stdout
    assert "macro-F1" in result.stdout


def test_evaluate_json_errors_file_and_confusion_agree(runner, mini_model_path, tmp_path):
    wrong = tmp_path / "wrong.csv"
    result = runner.invoke(app, ["evaluate", MINI, "-m", str(mini_model_path), "--json", "--errors", str(wrong)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    errors = pd.read_csv(wrong, dtype=str, keep_default_na=False)
    labelled = pd.read_csv(MINI, dtype=str, keep_default_na=False)
    for framework_id, scores in report.items():
        matrix = scores["confusion"]["matrix"]
        assert sum(map(sum, matrix)) == scores["rows"] == len(labelled)
        right = sum(matrix[i][i] for i in range(len(matrix)))
        assert right / scores["rows"] == pytest.approx(scores["accuracy"])
        mine = errors[errors["framework"] == framework_id]
        assert len(mine) == scores["rows"] - right
        rows = mine["row"].astype(int) - 2  # the file's row: the header is row 1
        assert (labelled.loc[rows, "text"].to_numpy() == mine["text"].to_numpy()).all()
        assert (labelled.loc[rows, framework_id].to_numpy() == mine["label"].to_numpy()).all()


def test_evaluate_cross_validates_and_draws_a_picture(runner, tmp_path):
    picture = tmp_path / "quality.png"
    result = runner.invoke(app, ["evaluate", MINI, "--cv", "3", "--plot", str(picture)])
    assert result.exit_code == 0, result.stderr
    assert "3-fold cross-validation" in result.stdout
    assert picture.read_bytes().startswith(b"\x89PNG") and picture.stat().st_size > 20_000


def test_evaluate_refuses_cv_with_a_model(runner, mini_model_path):
    result = runner.invoke(app, ["evaluate", MINI, "--cv", "3", "--model", str(mini_model_path)])
    assert result.exit_code == 1
    assert "cannot be combined with --model" in result.stderr


def test_explain_names_words_of_the_post_and_the_runners_up(runner, mini_model_path):
    text = "my order never arrived and support keeps ignoring me, I want a refund"
    result = runner.invoke(app, ["explain", text, "--model", str(mini_model_path), "--json", "--top-k", "3"])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    for framework_id in ("lifecycle", "social"):
        explained = record[framework_id]
        assert explained["why"], "some words pushed the post"
        assert all(item["word"] in text.lower() or item["word"] in "!?" for item in explained["why"])
        assert len(explained["next"]) == 3
        assert explained["stage"] not in {n["stage"] for n in explained["next"]}
        assert explained["rule"]
    plain = runner.invoke(app, ["explain", text, "--model", str(mini_model_path)])
    assert "why:" in plain.stdout and "next:" in plain.stdout


def test_explain_dash_reads_one_post_per_line_from_stdin(runner, mini_model_path):
    posts = ["my order never arrived, I want a refund", "which laptop should I buy for college?"]
    piped = runner.invoke(app, ["explain", "-", "-m", str(mini_model_path), "--json"], input="\n".join(posts) + "\n\n")
    given = runner.invoke(app, ["explain", *posts, "-m", str(mini_model_path), "--json"])
    assert piped.exit_code == 0, piped.stderr
    assert [json.loads(line)["text"] for line in piped.stdout.splitlines()] == posts
    assert piped.stdout == given.stdout
    empty = runner.invoke(app, ["explain", "-", "-m", str(mini_model_path)], input="\n")
    assert empty.exit_code == 1 and empty.stderr.startswith("Error: no posts on stdin")


def test_classify_explain_and_top_k_add_columns_after_the_standard_ones(runner, mini_model_path):
    args = ["classify", str(DATA / "mini_posts.csv"), "-m", str(mini_model_path), "-q"]
    plain = pd.read_csv(io.StringIO(runner.invoke(app, args).stdout), dtype=str, keep_default_na=False)
    result = runner.invoke(app, [*args, "--explain", "--top-k", "2"])
    assert result.exit_code == 0, result.stderr
    rich = pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(rich[plain.columns], plain)
    extra = ["lifecycle_why", "lifecycle_next", "social_why", "social_next"]
    assert list(rich.columns) == list(plain.columns) + extra
    has_words = rich["text"].str.contains(r"[^\W_]")  # a post of emoji only has no runners-up
    assert (rich.loc[has_words, "social_next"].str.count(";") == 1).all()


def test_suggest_picks_distinct_uncertain_posts_ready_to_label(runner, mini_model_path):
    result = runner.invoke(app, ["suggest", str(EXAMPLES / "posts.csv"), "-n", "10", "-m", str(mini_model_path)])
    assert result.exit_code == 0, result.stderr
    picked = pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)
    posts = pd.read_csv(EXAMPLES / "posts.csv", dtype=str, keep_default_na=False)
    assert len(picked) == 10 and picked["id"].is_unique
    assert set(picked["id"]) <= set(posts["id"])
    assert (picked["text"] != "").all()
    assert (picked[["lifecycle", "social"]] == "").all().all(), "label columns are left for the team"
    assert picked["uncertainty"].astype(float).between(0, 1).all()
    assert "Suggested 10 posts" in result.stderr


def test_suggest_starts_with_the_least_certain_post_and_skips_near_copies(runner, mini_model_path, tmp_path):
    every = runner.invoke(app, ["suggest", str(EXAMPLES / "posts.csv"), "-n", "100", "-m", str(mini_model_path)])
    ranked = pd.read_csv(io.StringIO(every.stdout), dtype=str, keep_default_na=False)
    uncertainty = ranked["uncertainty"].astype(float)
    assert uncertainty.iloc[0] == uncertainty.max()  # the first pick is the least certain post of all
    # Five near copies of the least certain post, and posts with no words: one copy at most is worth a label.
    posts = pd.read_csv(EXAMPLES / "posts.csv", dtype=str, keep_default_na=False)
    first = ranked.iloc[0]
    copies = [{**first[posts.columns].to_dict(), "id": f"copy{i}", "text": f"{first['text']} {word}"}
              for i, word in enumerate(["again", "today", "please", "now", "ok"])]  # fmt: skip
    blank = [
        {**first[posts.columns].to_dict(), "id": f"blank{i}", "text": text} for i, text in enumerate(["@delta", "🔥🔥"])
    ]
    path = tmp_path / "with_copies.csv"
    pd.concat([posts, pd.DataFrame(copies + blank)]).to_csv(path, index=False)
    result = runner.invoke(app, ["suggest", str(path), "-n", "10", "-m", str(mini_model_path)])
    assert result.exit_code == 0, result.stderr
    picked = pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)
    near_copies = picked["id"].isin([first["id"], *(c["id"] for c in copies)])
    assert near_copies.sum() == 1, picked[["id", "text"]]
    assert not picked["id"].str.startswith("blank").any()


def test_evaluating_on_the_training_posts_warns_that_the_scores_flatter(runner, mini_model_path):
    result = runner.invoke(app, ["evaluate", str(DATA / "mini_labelled.csv"), "--model", str(mini_model_path)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("Warning: these are the very posts the model was trained on")
    other = runner.invoke(app, ["evaluate", str(DATA / "mini_labelled.csv")])  # the bundled model never saw them
    assert other.exit_code == 0 and "Warning" not in other.stderr
