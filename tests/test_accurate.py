"""The accurate kind: sentence vectors from the bundled encoder, pooled with the n-gram model."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from journey_cli import load_model, save_model, train_model
from journey_cli.cli import app
from journey_cli.encoder import DIMENSIONS, encode
from journey_cli.training import SentenceEncoder

from .conftest import DATA, EXAMPLES


def test_sentence_vectors_are_unit_length_and_each_posts_own():
    # Posts of the same length share a batch: each must still get exactly the vector it gets alone.
    texts = ["my bag never arrived", "my phone never arrived", "which phone should I buy", " ",
             "great crew on my flight today, thanks", "my parcel never came"]  # fmt: skip
    vectors = encode(texts)
    assert vectors.shape == (len(texts), DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(np.concatenate([encode([text]) for text in texts]), vectors)
    np.testing.assert_array_equal(encode(texts[::-1])[::-1], vectors)
    np.testing.assert_array_equal(encode(texts, threads=2), encode(texts, threads=1))


def test_posts_that_mean_alike_are_nearer_than_posts_that_share_words():
    lost, missing, bag_sale = encode(
        ["the airline lost my suitcase", "my luggage never showed up at the carousel", "bags on sale at the airport"]
    )
    assert lost @ missing > lost @ bag_sale


def test_the_encoder_is_a_scikit_learn_transformer():
    encoder = SentenceEncoder(threads=1)
    assert encoder.get_params() == {"threads": 1}
    assert encoder.fit(["a", "b"]).transform(["a post", "another"]).shape == (2, DIMENSIONS)


def test_the_bundled_accurate_model_classifies_by_name():
    runner = CliRunner()
    fast = runner.invoke(app, ["classify", str(EXAMPLES / "posts.csv"), "-q", "--model", "fast"])
    accurate = runner.invoke(app, ["classify", str(EXAMPLES / "posts.csv"), "-q", "--model", "accurate"])
    assert fast.exit_code == 0 and accurate.exit_code == 0, accurate.stderr
    assert fast.stdout.splitlines()[0] == accurate.stdout.splitlines()[0]
    assert len(accurate.stdout.splitlines()) == len(fast.stdout.splitlines())
    shown = runner.invoke(app, ["model", "--model", "accurate"])
    assert "(bundled, accurate)" in shown.stdout


@pytest.mark.slow
def test_an_accurate_model_saves_and_loads_with_its_sentence_weights(tmp_path):
    labelled = pd.read_csv(DATA / "mini_labelled.csv", dtype=str, keep_default_na=False)
    model = train_model(labelled, folds=3, kind="accurate", mix="labelled")
    assert model.kind == "accurate" and model.metadata.sentence_weight is not None
    loaded = load_model(save_model(model, tmp_path / "accurate.skops"))
    assert loaded.kind == "accurate"
    texts = labelled["text"].tolist()
    for framework_id, result in model.predict(texts).items():
        np.testing.assert_allclose(loaded.predict(texts)[framework_id].confidences, result.confidences)


def test_the_fast_model_never_loads_onnxruntime():
    code = (
        "import sys; from journey_cli import classify_texts, load_model; "
        "classify_texts(load_model('fast'), ['my order is late']); print('onnxruntime' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def test_an_unknown_model_kind_is_a_usage_error():
    result = CliRunner().invoke(app, ["train", str(DATA / "mini_labelled.csv"), "--model-kind", "huge"])
    assert result.exit_code == 2


@pytest.mark.parametrize("kind", ["fast", "accurate"])
def test_explain_suggest_and_evaluate_work_with_both_kinds(kind):
    runner = CliRunner()
    explained = runner.invoke(app, ["explain", "@united lost my bag again", "--model", kind])
    assert explained.exit_code == 0 and "social: post_purchase" in explained.stdout, explained.stderr
    suggested = runner.invoke(app, ["suggest", str(EXAMPLES / "posts.csv"), "-n", "5", "--model", kind])
    assert suggested.exit_code == 0, suggested.stderr
    assert len(pd.read_csv(io.StringIO(suggested.stdout))) == 5
    evaluated = runner.invoke(app, ["evaluate", str(DATA / "mini_labelled.csv"), "--model", kind])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert evaluated.stdout.startswith("lifecycle: model tested on") and "macro-F1" in evaluated.stdout


def test_sentence_weights_of_the_wrong_shape_are_refused_as_damaged(tmp_path):
    from dataclasses import replace

    from journey_cli.errors import ModelError

    accurate = load_model("accurate")
    head = accurate.heads["social"]
    cut = replace(head, sentence_coef=head.sentence_coef[:, :100])  # a file cut short, or another encoder's
    damaged = replace(accurate, heads={**accurate.heads, "social": cut})
    path = save_model(damaged, tmp_path / "damaged.skops")
    with pytest.raises(ModelError, match="the social weights do not match"):
        load_model(path)
    result = CliRunner().invoke(app, ["classify", str(EXAMPLES / "posts.csv"), "--model", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1


@pytest.mark.slow
def test_accurate_output_is_the_same_whatever_the_chunks_or_workers(tmp_path):
    outputs = []
    for workers, chunk in ((1, 1000), (2, 7)):
        out = tmp_path / f"{workers}_{chunk}.csv"
        command = [sys.executable, "-m", "journey_cli", "classify", str(EXAMPLES / "posts.csv"), "--model", "accurate"]
        command += ["-q", "-o", str(out), "--workers", str(workers), "--chunk-size", str(chunk)]
        subprocess.run(command, check=True, timeout=300)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_the_cli_offers_the_library_model_kinds_and_its_default():
    # The CLI declares its choices without importing the model (start-up), so this keeps them in step.
    from journey_cli.model import DEFAULT_KIND, MODEL_KINDS
    from journey_cli.options import ModelKind

    assert tuple(kind.value for kind in ModelKind) == MODEL_KINDS
    shown = " ".join(CliRunner().invoke(app, ["train", "-h"]).stdout.split())
    assert f"[default: {DEFAULT_KIND}]" in shown
