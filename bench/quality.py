"""Compare candidate pipelines on the team corpus (cross-validated) and on real posts (held out).

    pip install -r bench/requirements.txt     # fastText, the outside peer
    python bench/quality.py [--real ../shared/data/real_dev.csv] [--only NAME ...]

Every scikit-learn candidate is trained exactly as `journey train` trains (same normalisation,
calibration, decoding and cross-validated `none` threshold), on examples/labelled.csv only; the
real posts are never trained on. The default is fed each post's word grams (`features.py`), the
others the normalised text. The default is also scored with its two frameworks decided
independently and jointly. fastText (supervised, word 1-2-grams) runs on the same folds and
normalised text, taking its top label. Prints one table: CV macro-F1 per framework, then
macro-F1 and accuracy on the real posts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from journey_cli import load_stages
from journey_cli.calibration import Probabilities
from journey_cli.decoding import decode
from journey_cli.features import documents
from journey_cli.scoring import score_stages
from journey_cli.text import normalise_texts
from journey_cli.training import build_pipeline, choose_decoding, cross_validate, fit_pipelines, read_labelled

FRAMEWORKS = ("lifecycle", "social")

ROOT = Path(__file__).resolve().parent.parent


def words(**options) -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b|[!?]", **options)


def chars(**options) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, **options)


def both() -> FeatureUnion:
    return FeatureUnion([("words", words()), ("chars", chars())])


def logistic(c: float, balanced: bool = True) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=3000)


CANDIDATES = {
    "default (words, LR C=10, balanced)": None,
    "words+chars, LR C=10 (the default before 0.2)": lambda: Pipeline([("f", both()), ("m", logistic(10))]),
    "chars only, LR C=10": lambda: Pipeline([("f", chars()), ("m", logistic(10))]),
    "words+chars, LR C=1": lambda: Pipeline([("f", both()), ("m", logistic(1))]),
    "words+chars, LR C=30": lambda: Pipeline([("f", both()), ("m", logistic(30))]),
    "words+chars, LR C=10, unbalanced": lambda: Pipeline([("f", both()), ("m", logistic(10, balanced=False))]),
    "words+chars, linear SVM (sigmoid-calibrated)": lambda: Pipeline(
        [("f", both()), ("m", CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"), cv=3))]
    ),
    "words, complement naive Bayes": lambda: Pipeline(
        [("f", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)), ("m", ComplementNB(alpha=0.3))]
    ),
}


def row(name: str, cv: dict[str, float], real: dict[str, dict[str, float]] | None, seconds: float) -> str:
    line = f"{name:<46}" + "".join(f"{cv[f]:>8.3f}" for f in FRAMEWORKS)
    if real is not None:
        line += "".join(f"{real[f]['macro_f1']:>12.3f}" for f in FRAMEWORKS)
        line += "".join(f"{real[f]['accuracy']:>12.3f}" for f in FRAMEWORKS)
    return line + f"{seconds:>7.0f}"


def score_real(stages, real: pd.DataFrame, predicted: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    return {f: score_stages(real[f], predicted[f], stages.frameworks[f].stage_ids) for f in FRAMEWORKS}


def fasttext_scores(labelled: pd.DataFrame, real: pd.DataFrame | None, stages, folds: int = 5):
    """fastText on the same normalised text and stratified folds, top label, no threshold."""
    import tempfile

    import fasttext

    def fit(texts: pd.Series, labels: np.ndarray):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
            for text, label in zip(texts, labels, strict=True):
                handle.write(f"__label__{label} {text}\n")
        return fasttext.train_supervised(handle.name, epoch=25, lr=0.5, wordNgrams=2, minCount=1, verbose=0, seed=0)

    def predict(model, texts: pd.Series) -> np.ndarray:
        labels, _ = model.predict([t.replace("\n", " ") for t in texts], k=1)
        return np.array([label[0].removeprefix("__label__") for label in labels], dtype=object)

    texts = pd.Series(normalise_texts(labelled["text"]).to_pylist())
    cv, real_scores, real_predicted = {}, None, {}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for framework_id in FRAMEWORKS:
        labels = labelled[framework_id].to_numpy()
        predicted = np.empty(len(labels), dtype=object)
        for train_rows, test_rows in splitter.split(texts, labels):
            model = fit(texts.iloc[train_rows], labels[train_rows])
            predicted[test_rows] = predict(model, texts.iloc[test_rows])
        cv[framework_id] = score_stages(labels, predicted, stages.frameworks[framework_id].stage_ids)["macro_f1"]
        if real is not None:
            real_predicted[framework_id] = predict(fit(texts, labels), normalise_texts(real["text"]).to_pylist())
    if real is not None:
        real_scores = score_real(stages, real, real_predicted)
    return cv, real_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=ROOT / "examples" / "labelled.csv")
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real_dev.csv")
    parser.add_argument("--only", nargs="*", help="substrings of candidate names to run")
    args = parser.parse_args()
    stages = load_stages()
    labelled = pd.read_csv(args.labelled, dtype=str, keep_default_na=False)
    real = pd.read_csv(args.real, dtype=str, keep_default_na=False) if args.real.exists() else None
    if real is None:
        print(f"({args.real} not found: real-post columns left empty)", file=sys.stderr)
    columns = ["CV lc", "CV so", "real lc F1", "real so F1", "real lc acc", "real so acc"]
    print(
        f"{'candidate':<46}"
        + "".join(f"{c:>12}" if c.startswith("real") else f"{c:>8}" for c in columns)
        + f"{'secs':>7}"
    )
    table = read_labelled(labelled, stages)
    for name, factory in CANDIDATES.items():
        if args.only and not any(part in name for part in args.only):
            continue
        started = time.perf_counter()
        pipeline = factory() if factory is not None else None
        oof = cross_validate(table, stages, pipeline=pipeline)
        settings, decoded = choose_decoding(oof, stages)
        cv = {
            f: score_stages(
                oof.table[f].to_numpy()[oof.labelled(f)],
                decoded[f].stages[oof.labelled(f)],
                stages.frameworks[f].stage_ids,
            )["macro_f1"]
            for f in FRAMEWORKS
        }
        real_scores = None
        if real is not None:
            pipelines = fit_pipelines(oof, pipeline if pipeline is not None else build_pipeline())
            normalised = normalise_texts(real["text"])
            inputs = np.empty(len(real), dtype=object)
            for position, value in enumerate(documents(normalised) if pipeline is None else normalised.to_pylist()):
                inputs[position] = value
            probabilities = {f: Probabilities(list(p.classes_), p.predict_proba(inputs)) for f, p in pipelines.items()}
            decided = {}
            for joint in (settings["joint"], not settings["joint"]):
                decided[joint] = decode(
                    probabilities,
                    stages,
                    temperatures=settings["temperatures"],
                    thresholds=settings["thresholds"],
                    joint=joint,
                )
            real_scores = score_real(stages, real, {f: decided[settings["joint"]][f].stages for f in FRAMEWORKS})
        print(row(name, cv, real_scores, time.perf_counter() - started), flush=True)
        if factory is None:
            # The same model with its frameworks decided the other way, for comparison.
            joint = not settings["joint"]
            other = settings["comparison"]["joint" if joint else "independent"]
            other_real = None
            if real is not None:
                other_real = score_real(stages, real, {f: decided[joint][f].stages for f in FRAMEWORKS})
            label = f"  same, decided {'jointly' if joint else 'independently'} (CV: mean)"
            print(row(label, dict.fromkeys(FRAMEWORKS, other), other_real, 0), flush=True)
    if not args.only or any(part in "fastText" for part in args.only):
        started = time.perf_counter()
        try:
            cv, real_scores = fasttext_scores(labelled, real, stages)
            print(row("fastText supervised (outside peer)", cv, real_scores, time.perf_counter() - started))
        except ImportError:
            print("fastText not installed: pip install -r bench/requirements.txt", file=sys.stderr)


if __name__ == "__main__":
    main()
