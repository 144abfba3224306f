"""Compare candidate pipelines on the team corpus (cross-validated) and on real posts (held out).

    python bench/quality.py [--real ../shared/data/real_dev.csv] [--only NAME ...]

Every candidate is trained exactly as `journey train` trains (same normalisation, same
cross-validated `none` threshold), on examples/labelled.csv only; the real posts are never
trained on. Prints one table: CV macro-F1 per framework, then macro-F1 and accuracy on real posts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from journey_cli import classify_texts, load_stages, train_model
from journey_cli.model import build_pipeline
from journey_cli.scoring import score_stages
from journey_cli.stages import default_stages_path

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
    "default (words+chars, LR C=10, balanced)": build_pipeline,
    "words only, LR C=10": lambda: Pipeline([("f", words()), ("m", logistic(10))]),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=ROOT / "examples" / "labelled.csv")
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real_dev.csv")
    parser.add_argument("--only", nargs="*", help="substrings of candidate names to run")
    args = parser.parse_args()
    stages = load_stages()
    stages_yaml = default_stages_path().read_text(encoding="utf-8")
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
    for name, factory in CANDIDATES.items():
        if args.only and not any(part in name for part in args.only):
            continue
        started = time.perf_counter()
        model = train_model(labelled, stages, stages_yaml, pipeline=factory())
        cv = model.metadata["cv"]["scores"]
        row = f"{name:<46}{cv['lifecycle']['macro_f1']:>8.3f}{cv['social']['macro_f1']:>8.3f}"
        if real is not None:
            predicted = classify_texts(model, real["text"])
            real_scores = {
                f: score_stages(real[f], predicted[f"{f}_stage"], stages.frameworks[f].stage_ids)
                for f in ("lifecycle", "social")
            }
            row += f"{real_scores['lifecycle']['macro_f1']:>12.3f}{real_scores['social']['macro_f1']:>12.3f}"
            row += f"{real_scores['lifecycle']['accuracy']:>12.3f}{real_scores['social']['accuracy']:>12.3f}"
        print(row + f"{time.perf_counter() - started:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
