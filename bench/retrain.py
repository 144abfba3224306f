"""What a team's retraining gains: its own posts alone, or with journey's corpus at several weights.

    python bench/retrain.py [--kind accurate|fast] [--weights 1,5,20]
        [--team examples/team_labelled.csv] [--test bench/data/team_test.csv]
        [--real ../shared/data/real_dev.csv]

The team is "Kestrel Mobile", a mobile network's social and care team: 240 posts it labelled,
written for this benchmark, split in half at random (stratified by social stage). It trains on
the first half (examples/team_labelled.csv) and is judged on the other (bench/data/team_test.csv),
as its own exports would judge it, and on the real posts of real_dev.csv, which are never
trained on. For each model it prints macro-F1 and accuracy per framework, and the comparison
`journey train` makes: the new model's cross-validated scores on the team's labelled posts
against the active (bundled) model's, and whether `journey train` would make it active.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from journey_cli import classify_texts, load_model, load_stages
from journey_cli.metrics import score_stages
from journey_cli.model_file import BUNDLED_MODELS
from journey_cli.training import Trained, compare_on_team, corpus_for, team_weight, train

FRAMEWORKS = ("lifecycle", "social")
ROOT = Path(__file__).resolve().parent.parent


def scores(model, labelled: pd.DataFrame) -> str:  # type: ignore[no-untyped-def]
    """Macro-F1 and accuracy per framework of `model` on labelled posts."""
    predicted = classify_texts(model, labelled["text"])
    cells = []
    for framework_id in FRAMEWORKS:
        stage_ids = model.stages.frameworks[framework_id].stage_ids
        result = score_stages(labelled[framework_id], predicted[f"{framework_id}_stage"], stage_ids)
        cells.append(f"{result['macro_f1']:>8.3f}{result['accuracy']:>7.3f}")
    return "".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=["accurate", "fast"], default="accurate")
    parser.add_argument("--weights", default="1", help="weights to try besides the default one")
    parser.add_argument("--team", type=Path, default=ROOT / "examples" / "team_labelled.csv")
    parser.add_argument("--test", type=Path, default=ROOT / "bench" / "data" / "team_test.csv")
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real_dev.csv")
    args = parser.parse_args()
    stages = load_stages()
    team = pd.read_csv(args.team, dtype=str, keep_default_na=False)
    test = pd.read_csv(args.test, dtype=str, keep_default_na=False)
    real = pd.read_csv(args.real, dtype=str, keep_default_na=False)
    corpus = corpus_for(stages, True)
    bundled = load_model(BUNDLED_MODELS[args.kind])
    default = team_weight(len(team), len(corpus))
    weights = sorted({default, *(float(w) for w in args.weights.split(","))})
    print(f"{len(team)} team posts to train on, {len(test)} to test on, {len(real)} real posts; {args.kind} models")
    print(f"{'model':<34}{'team test: lifecycle':>22}{'social':>14}{'real: lifecycle':>24}{'social':>14}")
    print(f"{'bundled (before retraining)':<34}{scores(bundled, test):>36}{scores(bundled, real):>38}")
    runs: list[tuple[str, Trained, float]] = []
    started = time.perf_counter()
    alone = train(team, stages, kind=args.kind, folds=3)  # 4 posts of some stages: 3 folds, as a team would
    runs.append(("your posts alone (--no-corpus)", alone, time.perf_counter() - started))
    for weight in weights:
        started = time.perf_counter()
        trained = train(team, stages, kind=args.kind, corpus=corpus, weight=weight)
        label = f"with the corpus, weight {weight:g}" + (" (default)" if weight == default else "")
        runs.append((label, trained, time.perf_counter() - started))
    for label, trained, _ in runs:
        print(f"{label:<34}{scores(trained.model, test):>36}{scores(trained.model, real):>38}")
    print("\nWhat `journey train` shows and decides (new model cross-validated on the team's posts):")
    for label, trained, seconds in runs:
        comparison = compare_on_team(trained, bundled)
        new, active = (
            "".join(
                f"{comparison.scores[who][f]['macro_f1']:>7.3f}{comparison.scores[who][f]['accuracy']:>6.3f}"
                for f in FRAMEWORKS
            )
            for who in ("new", "active")
        )
        verdict = "kept the active model" if comparison.worse else "made active"
        print(f"{label:<34} new {new}  active {active}  -> {verdict}  ({seconds:.0f} s to train)")


if __name__ == "__main__":
    main()
