"""Classifying needs no scikit-learn: the array model gives the fitted pipelines' probabilities."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from journey_cli import load_model, load_stages
from journey_cli.features import documents
from journey_cli.model import JourneyModel
from journey_cli.model_file import BUNDLED_MODEL
from journey_cli.text import blank_posts, normalise_texts
from journey_cli.training import build_pipeline, export_pipelines

from .conftest import CORPUS, EXAMPLES, ROOT

REAL = ROOT.parent / "shared" / "data" / "real_dev.csv"
ODD_POSTS = [
    "",
    "   ",
    "😀😀",
    "!!!???",
    "zzqx unseenword only",
    "Ünïcödé ÇAFÉ naïve — “quotes” and ‘more’ 🇫🇷",
    "日本語のテキスト 東京 新宿",
    "@a @b @c https://t.co/x https://t.co/y",
    "refund refund refund refund refund",
    "a" * 5000,
]


@pytest.fixture(scope="module")
def fitted() -> tuple[dict, JourneyModel]:
    """scikit-learn pipelines fitted on the bundled corpus, and the array model exported from them.

    The two frameworks are fitted on different rows, so their vocabularies and IDFs differ and
    the export has to merge them.
    """
    labelled = pd.read_csv(CORPUS, dtype=str, keep_default_na=False)
    inputs = _inputs(labelled["text"])
    pipelines = {
        "lifecycle": build_pipeline().fit(inputs[::2], labelled["lifecycle"].to_numpy()[::2]),
        "social": build_pipeline().fit(inputs[1::2], labelled["social"].to_numpy()[1::2]),
    }
    vocabulary, heads = export_pipelines(pipelines)
    model = JourneyModel(vocabulary, heads, load_stages(), "", {})
    return pipelines, model


def _inputs(texts: pd.Series) -> np.ndarray:
    inputs = np.empty(len(texts), dtype=object)
    for row, grams in enumerate(documents(normalise_texts(texts))):
        inputs[row] = grams
    return inputs


def _example_texts() -> list[str]:
    texts = pd.read_csv(CORPUS, dtype=str, keep_default_na=False)["text"].tolist()
    texts += pd.read_csv(EXAMPLES / "posts.csv", dtype=str, keep_default_na=False)["text"].tolist()
    if REAL.exists():
        texts += pd.read_csv(REAL, dtype=str, keep_default_na=False)["text"].tolist()
    return texts + ODD_POSTS


@pytest.mark.slow
def test_array_model_gives_scikit_learns_probabilities_on_every_example(fitted):
    pipelines, model = fitted
    texts = pd.Series(_example_texts())
    ours = model.raw_probabilities(texts)
    inputs = _inputs(texts)
    filled = ~blank_posts(normalise_texts(texts))
    for framework_id, pipeline in pipelines.items():
        assert ours[framework_id].columns == list(pipeline.classes_)
        theirs = pipeline.predict_proba(inputs[filled])
        np.testing.assert_allclose(ours[framework_id].values[filled], theirs, rtol=0, atol=1e-9)
        assert (ours[framework_id].values[~filled] == 0).all(), "a post with no words gets no probabilities"


def test_bundled_model_loads_the_same_with_skops_itself():
    import skops.io as sio

    data = BUNDLED_MODEL.read_bytes()
    assert sio.get_untrusted_types(data=data) == [], "plain data only: skops needs no trust list"
    document = sio.loads(data)
    model = load_model(BUNDLED_MODEL)
    assert document["vocabulary_offsets"].shape == (len(model.vocabulary) + 1,)
    for framework_id, head in model.heads.items():
        np.testing.assert_array_equal(document["frameworks"][framework_id]["coef"], head.coef)


def test_classifying_does_not_import_scikit_learn_or_skops(tmp_path):
    posts, output = str(EXAMPLES / "posts.csv"), str(tmp_path / "o.csv")
    script = (
        "import sys\n"
        "from journey_cli.cli import main\n"
        f"sys.argv = ['journey', 'classify', {posts!r}, '-q', '-o', {output!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'skops', 'scipy')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert len(pd.read_csv(tmp_path / "o.csv")) == 80
