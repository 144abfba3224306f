"""Choose the model by how it does on posts from sources it never saw.

    python bench/quality.py [--only accurate|fast]
        [--labelled journey_cli/corpus.csv] [--real ../shared/data/real_dev.csv]

For each candidate it prints, per framework, macro-F1 and accuracy under
- leave-one-channel-out cross-validation (LOCO, the main figure): each channel of the corpus
  (tweets to support accounts, reviews, forum posts, product questions, ...) is predicted by a
  model trained on all the other channels, with the decoding settings the shipped model would
  choose. In-corpus cross-validation flatters (0.82 against 0.45 on real posts); LOCO asks the
  question users ask, how it reads posts of a kind it was not taught on;
- the real labelled posts (`real_dev.csv`), overall and per source. They are never trained on.
Then LOCO per channel and real posts per stage (with counts) for the first candidate (the
default model, or the one `--only` names), and the
realism AUC of the corpus (bench/realism.py). Every candidate is trained as `journey train` trains.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from journey_cli import load_stages, train_model
from journey_cli.decoding import decode
from journey_cli.encoder import encode, sentence_texts
from journey_cli.metrics import score_stages
from journey_cli.training import checked_labels, cross_validate, pool_with_sentences, shift_to_mix

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is scripts, not a package
from realism import realism  # noqa: E402

FRAMEWORKS = ("lifecycle", "social")
ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = {  # the first is the default model, shown in detail
    "accurate (words + sentence vectors)": {"mix": "typical", "kind": "accurate"},
    "fast (words, LR, typical stream mix)": {"mix": "typical", "kind": "fast"},
    "fast, probabilities as labelled (no mix)": {"mix": "labelled", "kind": "fast"},
}


def figures(scores: dict[str, dict]) -> str:
    return "".join(f"{scores[f]['macro_f1']:>8.3f}{scores[f]['accuracy']:>7.3f}" for f in FRAMEWORKS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=ROOT / "journey_cli" / "corpus.csv")
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real_dev.csv")
    parser.add_argument(
        "--only", choices=[name.split()[0].rstrip(",") for name in CANDIDATES], help="one candidate: fast or accurate"
    )
    args = parser.parse_args()
    stages = load_stages()
    corpus = pd.read_csv(args.labelled, dtype=str, keep_default_na=False)
    real = pd.read_csv(args.real, dtype=str, keep_default_na=False)
    table = checked_labels(corpus, stages)
    header = "".join(f"{f[:4] + ' F1':>8}{'acc':>7}" for f in FRAMEWORKS)
    print(f"{'candidate':<44}{'':>4}{header}   (LOCO, then real posts)")
    details = None
    for name, options in CANDIDATES.items():
        if args.only and not name.startswith(args.only + " "):
            continue
        started = time.perf_counter()
        model = train_model(corpus, stages, **options)
        settings = model.metadata
        # LOCO: the same pipeline, each channel held out in turn, decoded as the shipped model decodes.
        oof = cross_validate(table, stages, groups=corpus["channel"].to_numpy())
        if options.get("kind") == "accurate":
            oof.probabilities = pool_with_sentences(oof, encode(sentence_texts(oof.normalised)), lambda _: None)
        shifted = {f: shift_to_mix(p, settings.mix[f]) for f, p in oof.probabilities.items()}
        loco = decode(
            shifted, stages, temperatures=settings.temperatures, thresholds=settings.thresholds, joint=settings.joint
        )
        truth = {f: oof.table[f].to_numpy() for f in FRAMEWORKS}
        loco_scores = {f: score_stages(truth[f], loco[f].stages, stages.frameworks[f].stage_ids) for f in FRAMEWORKS}
        predicted = model.predict(real["text"])
        real_scores = {
            f: score_stages(real[f].to_numpy(), predicted[f].stages, stages.frameworks[f].stage_ids) for f in FRAMEWORKS
        }
        print(f"{name:<44}{'LOCO':>4}{figures(loco_scores)}")
        print(f"{'':<44}{'real':>4}{figures(real_scores)}   {time.perf_counter() - started:.0f} s", flush=True)
        if details is None:
            details = (oof, loco, truth, predicted)
    oof, loco, truth, predicted = details
    channels = corpus["channel"].to_numpy()[oof.table.index]
    print(f"\nLOCO per channel (first candidate){'':<10}{header}")
    for channel in sorted(set(channels)):
        rows = channels == channel
        scores = {
            f: score_stages(truth[f][rows], loco[f].stages[rows], stages.frameworks[f].stage_ids) for f in FRAMEWORKS
        }
        print(f"  {channel:<20}{rows.sum():>6} posts{'':>14}{figures(scores)}")
    print(f"\nreal posts per source{'':<23}{header}")
    for source in sorted(real["source"].unique()):
        rows = (real["source"] == source).to_numpy()
        scores = {
            f: score_stages(real[f].to_numpy()[rows], predicted[f].stages[rows], stages.frameworks[f].stage_ids)
            for f in FRAMEWORKS
        }
        print(f"  {source:<20}{rows.sum():>6} posts{'':>14}{figures(scores)}")
    print("\nreal posts per stage: F1 (posts)")
    for f in FRAMEWORKS:
        scores = score_stages(real[f].to_numpy(), predicted[f].stages, stages.frameworks[f].stage_ids)
        cells = [f"{stage} {s['f1']:.2f} ({s['support']})" for stage, s in scores["per_stage"].items()]
        print(f"  {f}: " + ", ".join(cells))
    overall, per_channel = realism(corpus, real)
    print(f"\nrealism AUC (corpus against real posts; goal <= 0.75): {overall:.3f}")
    print("  " + ", ".join(f"{c} {a:.2f}" for c, a in sorted(per_channel.items(), key=lambda item: -item[1])))


if __name__ == "__main__":
    main()
