"""How far the training corpus reads from real posts: can a classifier tell them apart?

    python bench/realism.py [--labelled journey_cli/corpus.csv] [--real ../shared/data/real_dev.csv]

A logistic regression over word 1-2-grams and character 2-5-grams of the raw text (case, @handles,
links, entities and all) learns to tell corpus posts from real ones; 5-fold cross-validation gives
each post an out-of-fold score. The AUC of those scores says how separable the two are: 0.5 is
indistinguishable, 1.0 is told apart every time. It is printed overall and for each channel of the
corpus (that channel's posts against all the real posts). The real posts are only measured against,
never trained into a model that ships.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.75


def realism(corpus: pd.DataFrame, real: pd.DataFrame, folds: int = 5) -> tuple[float, dict[str, float]]:
    """The cross-validated AUC of corpus-versus-real overall, and per corpus channel."""
    texts = pd.concat([corpus["text"], real["text"]], ignore_index=True).fillna("").to_numpy()
    is_real = np.r_[np.zeros(len(corpus), dtype=int), np.ones(len(real), dtype=int)]
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=False, min_df=2)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False)),
        ]
    )
    separator = Pipeline([("features", features), ("classifier", LogisticRegression(C=4.0, max_iter=3000))])
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    scores = cross_val_predict(separator, texts, is_real, cv=splitter, method="predict_proba")[:, 1]
    overall = float(roc_auc_score(is_real, scores))
    real_scores = scores[len(corpus) :]
    per_channel = {}
    channels = corpus["channel"].fillna("").to_numpy() if "channel" in corpus else np.full(len(corpus), "")
    for channel in sorted(set(channels)):
        mine = scores[: len(corpus)][channels == channel]
        truth = np.r_[np.zeros(len(mine), dtype=int), np.ones(len(real_scores), dtype=int)]
        per_channel[channel] = float(roc_auc_score(truth, np.r_[mine, real_scores]))
    return overall, per_channel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=ROOT / "journey_cli" / "corpus.csv")
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real_dev.csv")
    args = parser.parse_args()
    corpus = pd.read_csv(args.labelled, dtype=str, keep_default_na=False)
    real = pd.read_csv(args.real, dtype=str, keep_default_na=False)
    overall, per_channel = realism(corpus, real)
    counts = corpus["channel"].value_counts()
    print(f"{'channel':<20}{'posts':>7}{'AUC':>8}")
    for channel, auc in sorted(per_channel.items(), key=lambda item: -item[1]):
        print(f"{channel:<20}{counts.get(channel, 0):>7}{auc:>8.3f}")
    verdict = "met" if overall <= GOAL else "not met"
    print(f"{'all':<20}{len(corpus):>7}{overall:>8.3f}   (goal <= {GOAL}: {verdict}; {len(real)} real posts)")


if __name__ == "__main__":
    main()
