"""The model that ships in the package: in step with the corpus and stages, and useful on real posts."""

from __future__ import annotations

import pandas as pd
import pytest

from journey_cli import classify_texts, load_model, load_stages
from journey_cli.metrics import score_stages
from journey_cli.model_file import BUNDLED_MODELS
from journey_cli.stages import default_stages_path
from journey_cli.training import checked_labels, data_fingerprint

from .conftest import CORPUS, ROOT

REBUILD = "rebuild it with the command in the README's 'The bundled corpus and model'"
REAL_POSTS = ROOT.parent / "shared" / "data" / "real_dev.csv"


@pytest.fixture(scope="module", params=sorted(BUNDLED_MODELS))
def bundled(request):
    model = load_model(BUNDLED_MODELS[request.param])
    assert model.kind == request.param
    return model


def test_bundled_model_was_trained_on_the_current_corpus(bundled):
    stages = load_stages()
    corpus = checked_labels(pd.read_csv(CORPUS, dtype=str, keep_default_na=False), stages)
    assert bundled.metadata.training_data.sha256 == data_fingerprint(corpus), REBUILD


def test_bundled_model_carries_the_current_stages(bundled):
    assert bundled.stages_yaml == default_stages_path().read_text(encoding="utf-8"), REBUILD


def test_bundled_model_is_useful_on_real_posts_it_never_saw(bundled):
    if not REAL_POSTS.exists():
        pytest.skip(f"{REAL_POSTS} is not beside this checkout")
    real = pd.read_csv(REAL_POSTS, dtype=str, keep_default_na=False)
    predicted = classify_texts(bundled, real["text"])
    for framework_id in ("lifecycle", "social"):
        scores = score_stages(
            real[framework_id], predicted[f"{framework_id}_stage"], bundled.stages.stage_ids()[framework_id]
        )
        # Floors against regressions. Stages with a handful of real posts swing macro-F1 by 0.1
        # per post, so the F1 floor averages the stages with at least 10 (chance is about 0.14).
        common = [row["f1"] for row in scores["per_stage"].values() if row["support"] >= 10]
        assert sum(common) / len(common) > 0.45, (framework_id, scores["per_stage"])
        assert scores["accuracy"] > 0.65, (framework_id, scores["accuracy"])
