"""Train a journey model from labelled posts, with cross-validated scores and `none` thresholds."""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any, ParamSpec

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold
from sklearn.pipeline import Pipeline

from .calibration import Probabilities, expected_calibration_error, fit_temperature
from .decoding import Decoded, decode
from .errors import DataError, ModelError
from .features import documents
from .metadata import CrossValidation, FrameworkScores, ModelMetadata, TrainingData
from .metrics import format_scores, resampled_macro_f1, score_stages
from .model import DEFAULT_KIND, MODEL_KINDS, JourneyModel, LinearHead
from .stages import NONE, Stages, load_stages
from .text import MODEL_LANGUAGE, blank_posts, normalise_texts, post_texts

P = ParamSpec("P")

BUNDLED_CORPUS = Path(__file__).with_name("corpus.csv")
"""The labelled posts the bundled models learnt from (see examples/LABELLING.md), shipped so that a
team can train on its own posts together with them."""
WEIGHT = "weight"
"""A training table's column of how much each post counts in fitting (a team's posts among a corpus's)."""
TEAM = "team"
"""A training table's column of which posts are the team's own, not the corpus's."""
TEAM_SHARE = 0.2
MAX_TEAM_WEIGHT = 5.0
"""A team's posts are counted enough times to carry `TEAM_SHARE` of the training, at most this. On a
mobile network's 120 posts (bench/retrain.py), its 120 others were labelled with macro-F1 0.64 /
0.67 at weight 5, against 0.64 / 0.65 at 1, 0.61 / 0.63 at 10 and 0.56 / 0.58 at 20 (the bundled
model: 0.52 / 0.54); more weight learns the team's few posts by heart."""

MIN_TEMPERATURE = 1.0
"""Calibration may soften a model's probabilities but never sharpen them. Cross-validation on a
team's clean labelled posts is more accurate than the model will be on a real stream, so a
temperature fitted there (about 0.7 on the bundled corpus) makes confidences overstate
real-world accuracy: on the real posts of the development set the calibration error was 0.12
to 0.16 with it and 0.08 to 0.10 without."""
THRESHOLD_GRID = np.round(np.arange(0.0, 0.951, 0.025), 3)

TYPICAL_STREAM = {
    "lifecycle": {
        "none": 0.40, "service": 0.28, "consumption": 0.18, "transaction": 0.05,
        "evaluation": 0.04, "awareness": 0.03, "realisation": 0.02,
    },
    "social": {
        "none": 0.40, "post_purchase": 0.38, "advocacy": 0.10, "selection": 0.05,
        "research": 0.03, "validation": 0.025, "pain_point": 0.015,
    },
}  # fmt: skip
"""The share of each stage in a typical stream a care or social team exports, for the bundled
frameworks: about 40% of posts are on no journey, most of the rest are customers after buying,
and each pre-purchase stage is a few percent. The shares are rounded from labelled samples of real
public posts (tweets to airlines and brands, tech chatter, event chatter, review sentences, care
messages), where these proportions held. A model is trained with every stage weighted alike, so that
rare stages are learnt; its probabilities are then moved to this mix, so that a confidence means
what it says on a real stream, not on a corpus with far more pre-purchase posts."""


def stream_mix(
    stages: Stages, labelled: pd.DataFrame, mix: str | dict[str, dict[str, float]] = "typical"
) -> dict[str, dict[str, float]]:
    """Each framework's expected share of every stage in the stream the model will classify.

    `mix` is "typical" (`TYPICAL_STREAM` for the bundled frameworks; a framework it does not know
    keeps the mix of its labelled posts), "labelled" (the mix of the labelled posts, as if they
    were a sample of the stream), or shares per framework and stage. Shares are made to sum to one.
    """
    shares = {}
    for framework_id, framework in stages.frameworks.items():
        if framework_id not in labelled:
            continue
        labels = labelled[framework_id][labelled[framework_id] != ""]
        counted = {str(stage): float(share) for stage, share in labels.value_counts(normalize=True).items()}
        if isinstance(mix, dict):
            given = mix.get(framework_id, counted)
        elif mix == "typical":
            typical = TYPICAL_STREAM.get(framework_id, {})
            given = typical if set(typical) == set(framework.stage_ids) else counted
        elif mix == "labelled":
            given = counted
        else:
            raise DataError(f"unknown mix {mix!r}; say typical, labelled, or stage=share pairs")
        unknown = sorted(set(given) - set(framework.stage_ids))
        if unknown:
            known = ", ".join(framework.stage_ids)
            raise DataError(f"{framework_id}: {', '.join(unknown)} in the mix are not stages; stages are {known}")
        present = [s for s in framework.stage_ids if s in set(labels)]
        total = sum(float(given.get(s, 0.0)) for s in present)
        if total <= 0 or any(float(given.get(s, 0.0)) <= 0 for s in present):
            missing = [s for s in present if float(given.get(s, 0.0)) <= 0]
            raise DataError(
                f"{framework_id}: the mix leaves out {', '.join(missing)}; give every labelled stage a share"
            )
        shares[framework_id] = {s: round(float(given[s]) / total, 6) for s in present}
    return shares


def parse_mix(text: str, stages: Stages) -> str | dict[str, dict[str, float]]:
    """`typical`, `labelled`, or `stage=share` pairs separated by commas ("none=40,post_purchase=35,...").

    Shares may be fractions or percentages; a stage id found in several frameworks (`none`) counts
    for each of them.

    >>> parse_mix("none=50,post_purchase=30", load_stages())
    {'lifecycle': {'none': 50.0}, 'social': {'none': 50.0, 'post_purchase': 30.0}}
    """
    if text in ("typical", "labelled"):
        return text
    mix: dict[str, dict[str, float]] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        stage_id, _, share = pair.partition("=")
        try:
            value = float(share)
        except ValueError:
            raise DataError(f"{pair!r} is not stage=share; say typical, labelled, or e.g. none=40,service=30") from None
        owners = [f for f, framework in stages.frameworks.items() if stage_id.strip() in framework.stage_ids]
        if not owners:
            raise DataError(f"{stage_id.strip()!r} is no stage of {', '.join(stages.framework_ids)}")
        for framework_id in owners:
            mix.setdefault(framework_id, {})[stage_id.strip()] = value
    return mix


def shift_to_mix(probabilities: Probabilities, shares: dict[str, float]) -> Probabilities:
    """Probabilities of a model trained with stages weighted alike, moved to a stream with these shares."""
    weights = np.array([shares[c] for c in probabilities.columns])
    values = probabilities.values * weights
    totals = values.sum(axis=1, keepdims=True)
    return Probabilities(probabilities.columns, np.divide(values, totals, out=np.zeros_like(values), where=totals > 0))


SENTENCE_WEIGHT = 0.4
"""How much the accurate kind's sentence-vector model counts against its n-gram model: their
probabilities are pooled log-linearly, p ∝ p_ngrams^0.6 · p_sentences^0.4 (one linear model over both
feature sets, so it costs nothing to apply). Chosen with bench/quality.py: 0.3 to 0.5 all beat
n-grams alone on LOCO and on real posts; log-linear pooling beat averaging the probabilities."""


def _sentence_classifier() -> LogisticRegression:
    return LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)


def pool_with_sentences(
    oof: OutOfFold, sentences: np.ndarray, progress: Callable[[str], None]
) -> dict[str, Probabilities]:
    """Each framework's out-of-fold n-gram probabilities pooled with those of a sentence-vector model
    cross-validated on the same folds."""
    pooled = {}
    for framework_id, ngrams in oof.probabilities.items():
        progress(f"{framework_id}: cross-validating the sentence-vector model")
        labels = oof.table[framework_id].to_numpy()
        found = np.zeros_like(ngrams.values)
        for train_rows, test_rows in oof.splits:
            train_rows = train_rows[labels[train_rows] != ""]
            fitted = _sentence_classifier().fit(
                sentences[train_rows], labels[train_rows], sample_weight=oof.weights[train_rows]
            )
            predicted = fitted.predict_proba(sentences[test_rows])
            for column, stage_id in enumerate(fitted.classes_):
                found[test_rows, ngrams.columns.index(stage_id)] = predicted[:, column]
        logs = (1 - SENTENCE_WEIGHT) * np.log(np.clip(ngrams.values, 1e-12, 1.0))
        logs += SENTENCE_WEIGHT * np.log(np.clip(found, 1e-12, 1.0))
        values = np.exp(logs - logs.max(axis=1, keepdims=True))
        pooled[framework_id] = Probabilities(ngrams.columns, values / values.sum(axis=1, keepdims=True))
    return pooled


def build_pipeline() -> Pipeline:
    """TF-IDF over word 1-2-grams into a class-balanced logistic regression.

    It is fed each post's grams from `features.documents`, the same grams classifying counts.
    Logistic regression gives usable probabilities, and the fitted model is a few arrays that
    score a million posts in seconds. Character n-grams scored within noise on real posts and
    cost ten times the work per post (see bench/quality.py in the README).
    """
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer=_given_grams, sublinear_tf=True)),
            ("classifier", LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)),
        ]
    )


def _given_grams(grams: list[str]) -> list[str]:
    return grams


def export_pipelines(pipelines: dict[str, Pipeline]) -> tuple[pa.Array, dict[str, LinearHead]]:
    """The arrays a fitted `build_pipeline()` per framework is made of, over one shared vocabulary.

    A gram one framework never saw gets IDF 0 there, so it adds nothing to that framework's
    features or their norm, exactly as if it were absent.
    """
    names = sorted({name for pipeline in pipelines.values() for name in pipeline[0].vocabulary_})
    position = {name: index for index, name in enumerate(names)}
    heads = {}
    for framework_id, pipeline in pipelines.items():
        vectoriser, classifier = pipeline[0], pipeline[-1]
        columns = np.array([position[name] for name in vectoriser.get_feature_names_out()], dtype=np.int64)
        idf = np.zeros(len(names))
        idf[columns] = vectoriser.idf_
        coef = np.zeros((len(classifier.coef_), len(names)))
        coef[:, columns] = classifier.coef_
        heads[framework_id] = LinearHead([str(c) for c in classifier.classes_], idf, coef, classifier.intercept_.copy())
    return pa.array(names, pa.string()), heads


def checked_labels(labelled: pd.DataFrame, stages: Stages, text_column: str | Sequence[str] = "text") -> pd.DataFrame:
    """Check a labelled table against the stages: a text column and one label column per framework.

    Returns the text (several text columns joined, see `post_texts`) and label columns, with blank
    labels as "" (that framework skips the row).
    """
    texts = [text_column] if isinstance(text_column, str) else list(text_column)
    missing = [c for c in [*texts, *stages.framework_ids] if c not in labelled.columns]
    if absent := [c for c in texts if c in missing]:
        raise DataError(
            f"no '{absent[0]}' column; columns are {', '.join(map(str, labelled.columns))}; pass --text-column"
        )
    present = [f for f in stages.framework_ids if f not in missing]
    if not present:
        frameworks = ", ".join(stages.framework_ids)
        folded = [str(c) for c in labelled.columns if str(c).strip().lower() in stages.framework_ids]
        raise DataError(
            f"no label column: found {', '.join(map(repr, folded))}; label columns are named exactly as the framework "
            f"ids ({frameworks})"
            if folded
            else f"no label column: add a column named after a framework ({frameworks}), or pass --stages FILE "
            f"for your own frameworks; columns are {', '.join(map(str, labelled.columns))}"
        )
    table = labelled[present].fillna("").astype(str)
    text = post_texts(pa.Table.from_pandas(labelled[texts].fillna("").astype(str), preserve_index=False), text_column)
    table.insert(0, "text", text.to_numpy(zero_copy_only=False))
    problems = []
    for framework_id in present:
        table[framework_id], problem = _stage_ids(table[framework_id], framework_id, stages)
        problems += [problem] if problem else []
    if problems:
        raise DataError("; ".join(problems))
    return table


def _stage_ids(labels: pd.Series, framework_id: str, stages: Stages) -> tuple[pd.Series, str | None]:
    """Labels as stage ids, matched ignoring case and with spaces or hyphens for underscores
    (`Post-purchase` is `post_purchase`), and a description of any that are no stage."""
    known = stages.frameworks[framework_id].stage_ids
    ids = labels.str.strip().str.lower().str.replace(r"[\s-]+", "_", regex=True)
    unknown = labels[(ids != "") & ~ids.isin(known)]
    if not len(unknown):
        return ids, None
    first_rows = unknown.groupby(unknown, sort=False).head(1)  # each wrong label at its first row
    shown = ", ".join(f"'{label}' (row {row + 2})" for row, label in first_rows.head(5).items())
    more = f" and {len(first_rows) - 5} more" if len(first_rows) > 5 else ""
    return ids, (
        f"{framework_id}: {shown}{more} {'is' if len(first_rows) == 1 else 'are'} not a stage "
        f"({len(unknown)} row{'s' * (len(unknown) != 1)}); stages are {', '.join(known)}"
    )


def data_fingerprint(table: pd.DataFrame) -> str:
    """sha256 of the training rows (text and labels), independent of file encoding and line endings."""
    digest = hashlib.sha256()
    for row in table.itertuples(index=False):
        digest.update(json.dumps(list(row), ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass
class OutOfFold:
    """Cross-validated class probabilities for every post, and the labels to score them against."""

    table: pd.DataFrame  # the posts used (non-empty text), with their label columns and input index
    inputs: np.ndarray  # what the pipelines were fed for each post: its grams, or its normalised text
    probabilities: dict[str, Probabilities]  # per framework, one row per post of `table`
    normalised: pa.Array  # each post of `table` normalised
    splits: list[tuple[np.ndarray, np.ndarray]]  # (training rows, held-out rows) of each fold

    def labelled(self, framework_id: str) -> np.ndarray:
        """Which rows of `table` carry a label in this framework."""
        return (self.table[framework_id] != "").to_numpy()

    @property
    def weights(self) -> np.ndarray:
        """How much each post counts in fitting: its `weight` column (a team's posts among a corpus's), else 1."""
        return _weights(self.table)


def _weights(table: pd.DataFrame) -> np.ndarray:
    return table[WEIGHT].to_numpy(float) if WEIGHT in table else np.ones(len(table))


def _fit(pipeline: Pipeline, inputs: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> Pipeline:
    """`pipeline` fitted with each post weighted (its last step takes the weights)."""
    return pipeline.fit(inputs, labels, **{f"{pipeline.steps[-1][0]}__sample_weight": weights})


def cross_validate(
    table: pd.DataFrame,
    stages: Stages,
    *,
    folds: int = 5,
    pipeline: Pipeline | None = None,
    groups: np.ndarray | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> OutOfFold:
    """Out-of-fold probabilities from `folds` stratified splits, the same splits for every framework.

    Each fold trains one pipeline per framework on the training posts labelled in it, and
    predicts every held-out post, so that frameworks can also be decided jointly. The default
    pipeline is fed each post's grams; another `pipeline` (benchmarks pass some) its normalised text.
    With `groups` (one value per row of `table`, such as its channel), each group is held out in
    turn instead: every post is predicted by a model that saw nothing of its group.
    """
    normalised = normalise_texts(pa.array(table["text"].tolist(), pa.string()))
    kept = ~blank_posts(normalised)  # posts with no words are `none` by rule, not by the model
    table = table[kept]
    normalised = normalised.filter(pa.array(kept))
    texts = np.empty(len(table), dtype=object)
    for row, value in enumerate(documents(normalised) if pipeline is None else normalised.to_pylist()):
        texts[row] = value  # one by one: numpy would read a list of gram lists as a 2-d array
    frameworks = [f for f in stages.framework_ids if f in table]
    for framework_id in frameworks:
        _check_enough(framework_id, table.loc[table[framework_id] != "", framework_id].to_numpy(), folds)
    strata = table[frameworks[0]].to_numpy()
    weights = _weights(table)
    probabilities = {}
    if groups is not None:
        splits = list(LeaveOneGroupOut().split(texts, groups=np.asarray(groups)[kept]))
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        with warnings.catch_warnings():
            # Rows left unlabelled in the first framework may be fewer than the folds; that is fine.
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            splits = list(splitter.split(texts, strata))
    for framework_id in frameworks:
        labels = table[framework_id].to_numpy()
        classes = [s for s in stages.frameworks[framework_id].stage_ids if s in set(labels)]
        collected = np.zeros((len(table), len(classes)))
        progress(f"{framework_id}: cross-validating on {int((labels != '').sum())} posts ({folds} folds)")
        for train_rows, test_rows in splits:
            train_rows = train_rows[labels[train_rows] != ""]
            fitted = clone(pipeline if pipeline is not None else build_pipeline())
            _fit(fitted, texts[train_rows], labels[train_rows], weights[train_rows])
            predicted = fitted.predict_proba(texts[test_rows])
            for column, stage_id in enumerate(fitted.classes_):
                collected[test_rows, classes.index(stage_id)] = predicted[:, column]
        probabilities[framework_id] = Probabilities(classes, collected)
    return OutOfFold(table, texts, probabilities, normalised, splits)


def corpus_for(stages: Stages, wanted: bool | None = None) -> pd.DataFrame | None:
    """The bundled corpus to train with, if `wanted` (None: whenever `stages` are the bundled ones,
    the stages its posts are labelled in)."""
    bundled = stages.fingerprint() == load_stages().fingerprint()
    if wanted and not bundled:
        raise DataError(
            "journey's corpus is labelled in the bundled stages, not in this stages file; train on your posts "
            "alone (--no-corpus)"
        )
    if not (bundled if wanted is None else wanted):
        return None
    return pd.read_csv(BUNDLED_CORPUS, dtype=str, keep_default_na=False)


def team_weight(team_posts: int, corpus_posts: int) -> float:
    """How many corpus posts each of a team's posts counts as: enough for the team's posts to carry
    `TEAM_SHARE` of the training, but never under 1 nor over `MAX_TEAM_WEIGHT` (a few posts, each
    counted too often, would be learnt by heart).

    >>> team_weight(120, 11_360), team_weight(1_000, 11_360), team_weight(5_000, 11_360)
    (5.0, 2.8, 1.0)
    """
    wanted = TEAM_SHARE * corpus_posts / ((1 - TEAM_SHARE) * team_posts)
    return round(min(MAX_TEAM_WEIGHT, max(1.0, wanted)), 1)


def post_hash(text: str) -> str:
    """A short fingerprint of a post's text, to know later which posts a model was trained on."""
    return hashlib.sha256(text.strip().encode()).hexdigest()[:16]


@dataclass
class Trained:
    """A trained model, and the team's posts with the stage each got out of fold (`F_cv`): what
    its cross-validation says about those posts in particular."""

    model: JourneyModel
    team: pd.DataFrame


def train(
    labelled: pd.DataFrame,
    stages: Stages | None = None,
    *,
    text_column: str | Sequence[str] = "text",
    folds: int = 5,
    mix: str | dict[str, dict[str, float]] = "typical",
    kind: str = DEFAULT_KIND,
    corpus: pd.DataFrame | None = None,
    weight: float | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> Trained:
    """Fit one pipeline per framework and choose how to decode it, all from cross-validation.

    On the out-of-fold probabilities it fits a temperature per framework (calibration), decides
    whether deciding linked frameworks jointly raises macro-F1, and picks the threshold under
    which a post is `none` (the one that maximises macro-F1, `none` included). The reported
    scores are those of the model with these settings. `stages` defaults to the bundled
    frameworks; the model keeps their YAML. `mix` is the stream's expected share of each stage
    (see `stream_mix`): the probabilities are moved to it before any of the above is chosen.
    `kind` "accurate" also fits a logistic regression per framework on each post's sentence vector
    (`encoder.py`) and pools its probabilities with the n-gram model's (see `SENTENCE_WEIGHT`).
    With a `corpus` (labelled posts, such as `corpus_for`'s), the team's posts are learnt together
    with it, each counted `weight` times (default: `team_weight`); a corpus post the team labelled
    too is left to the team's label.
    """
    if kind not in MODEL_KINDS:
        raise DataError(f"unknown model kind {kind!r}; kinds are {', '.join(MODEL_KINDS)}")
    stages = stages if stages is not None else load_stages()
    table = checked_labels(labelled, stages, text_column)
    unlabelled = [f for f in stages.framework_ids if f not in table or not (table[f] != "").any()]
    if unlabelled:  # a model must say a stage in every framework of its stages file
        raise DataError(
            f"no labels for {', '.join(unlabelled)}; label posts in every framework of the stages file, or train "
            f"with a stages file of only the frameworks you label (--stages FILE)"
        )
    team = table.assign(**{TEAM: True})
    base = checked_labels(corpus, stages) if corpus is not None else table.iloc[:0]
    base = base[~base["text"].isin(set(table["text"]))]
    if len(base):
        weight = weight or team_weight(len(table), len(base))
        progress(f"training on your {len(table)} posts, each counted {weight:g} times, and journey's {len(base)}")
        table = pd.concat([base.assign(**{WEIGHT: 1.0, TEAM: False}), team.assign(**{WEIGHT: weight})])
        table = table.reset_index(drop=True)
    else:
        table, weight = team, None
    shares = stream_mix(stages, table, mix)
    oof = cross_validate(table, stages, folds=folds, progress=progress)
    sentences = None
    if kind == "accurate":
        from .encoder import encode, sentence_texts

        progress(f"encoding {len(oof.table)} posts into sentence vectors")
        sentences = encode(sentence_texts(oof.normalised))
        oof.probabilities = pool_with_sentences(oof, sentences, progress)
    oof.probabilities = {f: shift_to_mix(p, shares[f]) for f, p in oof.probabilities.items()}
    settings, decoded = choose_decoding(oof, stages)
    cv_scores = {}
    for framework_id, result in decoded.items():
        rows = oof.labelled(framework_id)
        truth = oof.table[framework_id].to_numpy()[rows]
        cv_scores[framework_id] = FrameworkScores(
            **score_stages(truth, result.stages[rows], stages.frameworks[framework_id].stage_ids),
            threshold=settings["thresholds"][framework_id],
            temperature=settings["temperatures"][framework_id],
            ece=expected_calibration_error(truth, result.probabilities[rows]),
        )
    pipelines = fit_pipelines(oof, build_pipeline(), progress)
    counts = {framework_id: int(oof.labelled(framework_id).sum()) for framework_id in pipelines}
    metadata = ModelMetadata(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        stages_fingerprint=stages.fingerprint(),
        stage_ids=stages.stage_ids(),
        versions=_versions(),
        training_data=TrainingData(
            rows=len(table),
            labelled_rows=counts,
            sha256=data_fingerprint(table.drop(columns=[TEAM])),
            corpus_rows=int((~table[TEAM]).sum()),
            team_weight=weight,
            team_posts=[post_hash(text) for text in team["text"]],
        ),
        cv=CrossValidation(folds=folds, scores=cv_scores, joint_decoding=settings["comparison"]),
        thresholds=settings["thresholds"],
        temperatures=settings["temperatures"],
        joint=settings["joint"],
        mix=shares,
        language=MODEL_LANGUAGE,
        sentence_weight=SENTENCE_WEIGHT if sentences is not None else None,
    )
    vocabulary, heads = export_pipelines(pipelines)
    if sentences is not None:
        for framework_id, head in heads.items():
            rows = oof.labelled(framework_id)
            fitted = _sentence_classifier().fit(
                sentences[rows], oof.table[framework_id].to_numpy()[rows], sample_weight=oof.weights[rows]
            )
            assert list(fitted.classes_) == head.classes  # both sort the same labels
            head.coef = head.coef * (1 - SENTENCE_WEIGHT)
            head.sentence_coef = fitted.coef_ * SENTENCE_WEIGHT
            head.intercept = head.intercept * (1 - SENTENCE_WEIGHT) + fitted.intercept_ * SENTENCE_WEIGHT
    for framework_id, head in heads.items():  # the shift to the mix, folded into the intercepts
        logs = np.log([shares[framework_id][c] for c in head.classes])
        head.intercept = head.intercept + (logs[1] - logs[0] if len(head.coef) == 1 else logs)
    model = JourneyModel(vocabulary, heads, stages, stages.source_yaml, metadata)
    mine = oof.table[TEAM].to_numpy(bool)
    team = oof.table.loc[mine, ["text", *decoded]].reset_index(drop=True)
    for framework_id, result in decoded.items():
        team[f"{framework_id}_cv"] = result.stages[mine]
    return Trained(model, team)


def _model_only(function: Callable[P, Trained]) -> Callable[P, JourneyModel]:
    @functools.wraps(function)
    def model_only(*args: P.args, **kwargs: P.kwargs) -> JourneyModel:
        return function(*args, **kwargs).model

    model_only.__name__ = model_only.__qualname__ = "train_model"
    model_only.__doc__ = "`train`, returning the model alone."
    return model_only


train_model = _model_only(train)


def fit_pipelines(
    oof: OutOfFold, pipeline: Pipeline, progress: Callable[[str], None] = lambda message: None
) -> dict[str, Pipeline]:
    """A clone of `pipeline` per framework, fitted on all the posts labelled in it."""
    pipelines = {}
    for framework_id in oof.probabilities:
        rows = oof.labelled(framework_id)
        progress(f"{framework_id}: fitting on all {int(rows.sum())} posts")
        pipelines[framework_id] = _fit(
            clone(pipeline), oof.inputs[rows], oof.table[framework_id].to_numpy()[rows], oof.weights[rows]
        )
    return pipelines


def choose_decoding(oof: OutOfFold, stages: Stages) -> tuple[dict[str, Any], dict[str, Decoded]]:
    """Temperatures, joint or independent decoding and `none` thresholds chosen on out-of-fold
    data, and the out-of-fold decisions they give."""
    temperatures = {}
    for framework_id, probabilities in oof.probabilities.items():
        rows = oof.labelled(framework_id)
        fitted = fit_temperature(probabilities[rows], oof.table[framework_id][rows].to_numpy())
        temperatures[framework_id] = round(max(MIN_TEMPERATURE, fitted), 4)
    comparison = {}
    for joint in (False, True):
        decoded = decode(oof.probabilities, stages, temperatures=temperatures, joint=joint)
        comparison["joint" if joint else "independent"] = _mean_macro_f1(oof, decoded, stages)
    joint = bool(stages.crosswalk) and comparison["joint"] > comparison["independent"]
    if joint:
        # Jointly decided frameworks turn `none` together, so they share one threshold.
        best = max(
            THRESHOLD_GRID,
            key=lambda t: (_mean_macro_f1(oof, _decode_at(oof, stages, temperatures, joint, t), stages), -t),
        )
        thresholds = dict.fromkeys(oof.probabilities, float(best))
    else:
        decoded = decode(oof.probabilities, stages, temperatures=temperatures)
        thresholds = {}
        for framework_id, result in decoded.items():
            rows = oof.labelled(framework_id)
            thresholds[framework_id] = _best_threshold(
                oof.table[framework_id].to_numpy()[rows],
                result.stages[rows],
                result.confidences[rows],
                stages.frameworks[framework_id].stage_ids,
            )
    settings = {"temperatures": temperatures, "thresholds": thresholds, "joint": joint, "comparison": comparison}
    decoded = decode(oof.probabilities, stages, temperatures=temperatures, thresholds=thresholds, joint=joint)
    return settings, decoded


def _decode_at(
    oof: OutOfFold, stages: Stages, temperatures: dict[str, float], joint: bool, threshold: float
) -> dict[str, Decoded]:
    thresholds = dict.fromkeys(oof.probabilities, float(threshold))
    return decode(oof.probabilities, stages, temperatures=temperatures, thresholds=thresholds, joint=joint)


def _mean_macro_f1(oof: OutOfFold, decoded: dict[str, Decoded], stages: Stages) -> float:
    scores = []
    for framework_id, result in decoded.items():
        rows = oof.labelled(framework_id)
        truth = oof.table[framework_id].to_numpy()[rows]
        scores.append(score_stages(truth, result.stages[rows], stages.frameworks[framework_id].stage_ids)["macro_f1"])
    return round(float(np.mean(scores)), 4)


def _check_enough(framework_id: str, labels: np.ndarray, folds: int) -> None:
    values, counts = np.unique(labels, return_counts=True)
    if len(values) < 2:
        found = ", ".join(values) or "none"
        raise DataError(f"{framework_id}: need posts of at least two stages to train; found {found}")
    scarce = [f"{v} ({c})" for v, c in zip(values, counts, strict=True) if c < folds]
    if scarce:
        raise DataError(
            f"{framework_id}: each stage needs at least {folds} labelled posts for {folds}-fold "
            f"cross-validation; too few: {', '.join(scarce)}; label more or pass --folds"
        )


def _best_threshold(truth: np.ndarray, predicted: np.ndarray, confidence: np.ndarray, stage_ids: list[str]) -> float:
    if NONE not in stage_ids:
        return 0.0
    best_threshold, best_macro = 0.0, -1.0
    for threshold in THRESHOLD_GRID:
        guess = np.where(confidence < threshold, NONE, predicted)
        macro = score_stages(truth, guess, stage_ids)["macro_f1"]
        if macro > best_macro + 1e-9:
            best_threshold, best_macro = float(threshold), macro
    return best_threshold


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("journey", "scikit-learn", "numpy", "scipy", "skops"):
        try:
            versions[package] = package_metadata.version(package)
        except package_metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def describe_model(model: JourneyModel) -> dict[str, Any]:
    """The metadata a user wants to see about a model, in a plain dict."""
    return {
        "stages": model.stages.stage_ids(),
        **model.metadata.model_dump(
            mode="json", exclude={"stage_ids": True, "training_data": {"team_posts"}}, exclude_none=True
        ),
    }


def training_summary(model: JourneyModel) -> str:
    """What `journey train` reports: each framework's cross-validated scores and calibration, and
    whether the frameworks are decided jointly."""
    cv = model.metadata.cv
    blocks = []
    for framework_id, scores in cv.scores.items():
        none = f"none below confidence {scores.threshold:.3f}" if scores.threshold > 0 else "none only where likeliest"
        blocks.append(
            format_scores(f"{framework_id}: {cv.folds}-fold cross-validation ({none})", scores.model_dump())
            + f"\n  calibration error (ECE) {scores.ece:.3f} after temperature {scores.temperature:.2f}"
        )
    if model.stages.crosswalk:  # with one framework, or none linked, there is no joint decision to compare
        chosen = "jointly, within the crosswalk" if model.metadata.joint else "independently"
        blocks.append(
            f"Frameworks are decided {chosen}: mean CV macro-F1 {cv.joint_decoding['joint']:.3f} joint, "
            f"{cv.joint_decoding['independent']:.3f} independent."
        )
    return "\n\n".join(blocks)


@dataclass
class Comparison:
    """A new model against the active one on the team's labelled posts: the new one's
    cross-validated stages against the active one's, on the posts the active model never saw.

    On a hundred posts, with a few of each pre-purchase stage, macro-F1 moves by a few hundredths
    when one post flips, so the two are also compared on resamples of the posts (a paired
    bootstrap): the new model is worse only if its mean macro-F1 is lower on all but 0.5% of them.
    A 95% interval was too eager: a mobile network's care team, retraining on 120 posts with the
    corpus (bench/retrain.py), got a new model 0.023 lower on them (95%: -0.062 to -0.001) that was
    0.067 higher on its 120 other posts and higher on the real posts of the development set.
    """

    posts: int  # compared on
    scores: dict[str, dict[str, dict[str, Any]]]  # "active" and "new": per framework, `score_stages`
    note: str = ""  # why not compared, or what was left out
    difference: float = 0.0  # new minus active, mean macro-F1 over the frameworks
    interval: tuple[float, float] = (0.0, 0.0)  # 99% of the resampled differences lie within

    @property
    def worse(self) -> bool:
        """The new model is clearly worse: lower mean macro-F1 on 99.5% of the resamples."""
        return bool(self.posts) and self.interval[1] < 0

    def text(self) -> str:
        """What `journey train` prints: both models' macro-F1 and accuracy per framework, and the verdict."""
        if not self.posts:
            return self.note
        frameworks = list(self.scores["new"])
        lines = [
            f"On your {self.posts} labelled posts{self.note}, macro-F1 / accuracy:",
            (f"  {'':<22}" + "".join(f"{framework_id:<16}" for framework_id in frameworks)).rstrip(),
        ]
        for who, label in (("active", "active model"), ("new", "new model (CV)")):
            scores = self.scores[who]
            cells = [f"{scores[f]['macro_f1']:.3f} / {scores[f]['accuracy']:.3f}" for f in frameworks]
            lines.append((f"  {label:<22}" + "".join(f"{cell:<16}" for cell in cells)).rstrip())
        low, high = self.interval
        verdict = "clearly lower" if self.worse else "clearly higher" if low > 0 else "not clearly different"
        lines.append(
            f"The new model's mean macro-F1 is {self.difference:+.3f} against the active one's: {verdict} "
            f"(99% of resamples of these posts: {low:+.3f} to {high:+.3f})."
        )
        return "\n".join(lines)


def _mean(scores: dict[str, dict[str, Any]]) -> float:
    return float(np.mean([framework["macro_f1"] for framework in scores.values()]))


def compare_with_active(trained: Trained) -> Comparison:
    """`compare_on_team` with the model a plain `journey classify` uses now."""
    from .model_file import active_model_path, load_model

    try:
        active = load_model(active_model_path())
    except ModelError as error:  # a damaged model must not stand in the way of a new one
        return Comparison(0, {}, f"Not compared with the active model, which cannot be loaded: {error}")
    return compare_on_team(trained, active)


def _posts_seen_by(model: JourneyModel) -> set[str]:
    """`post_hash` of each post `model` was trained on: the team's, and journey's corpus if it learnt it too."""
    data = model.metadata.training_data
    seen = set(data.team_posts)
    if data.corpus_rows:
        seen |= {post_hash(text) for text in pd.read_csv(BUNDLED_CORPUS, dtype=str, keep_default_na=False)["text"]}
    return seen


def compare_on_team(trained: Trained, active: JourneyModel, *, resamples: int = 2000) -> Comparison:
    """How `trained` and the `active` model label the team's posts (see `Comparison`)."""
    from .classify import classify_texts, stage_column

    if active.stages.fingerprint() != trained.model.stages.fingerprint():
        return Comparison(0, {}, "Not compared with the active model: it was trained for other stages.")
    seen = trained.team["text"].map(post_hash).isin(_posts_seen_by(active)).to_numpy()
    posts = trained.team[~seen]
    if posts.empty:
        return Comparison(0, {}, "Not compared with the active model: it was trained on all of these posts.")
    note = f" the active model never saw ({int(seen.sum())} it was trained on are left out)" if seen.any() else ""
    labelled = classify_texts(active, posts["text"])
    draws = np.random.default_rng(0).multinomial(len(posts), np.full(len(posts), 1 / len(posts)), size=resamples)
    scores: dict[str, dict[str, dict[str, Any]]] = {"active": {}, "new": {}}
    frameworks = trained.model.stages.framework_ids
    differences = np.zeros(resamples)  # per resample, new minus active, mean macro-F1 over the frameworks
    for framework_id in frameworks:
        rows = (posts[framework_id] != "").to_numpy()
        truth, stage_ids = posts[framework_id].to_numpy()[rows], trained.model.stages.frameworks[framework_id].stage_ids
        given = {"active": labelled[stage_column(framework_id)], "new": posts[f"{framework_id}_cv"]}
        resampled = {}
        for who, stages in given.items():
            scores[who][framework_id] = score_stages(truth, stages.to_numpy()[rows], stage_ids)
            resampled[who] = resampled_macro_f1(truth, stages.to_numpy()[rows], stage_ids, draws[:, rows])
        differences += (resampled["new"] - resampled["active"]) / len(frameworks)
    difference = _mean(scores["new"]) - _mean(scores["active"])
    low, high = np.percentile(differences, [0.5, 99.5])
    return Comparison(len(posts), scores, note, difference, (float(low), float(high)))


def model_summary(info: dict[str, Any], where: str) -> str:
    """What `journey model` shows of `describe_model`'s dict: where the model is, when and on what it
    was trained, and each framework's cross-validated quality."""
    data = info["training_data"]
    lines = [
        f"model     {where} ({info['kind']}, {info['model_kind']})",
        f"created   {info['created']} with scikit-learn {info['versions']['scikit-learn']}",
        f"trained   on {data['rows']} posts (data sha256 {data['sha256'][:12]})"
        + (
            f": {data['rows'] - data['corpus_rows']} of yours, each counted {data['team_weight']:g} times, and "
            f"{data['corpus_rows']} of journey's corpus"
            if data.get("corpus_rows")
            else ""
        ),
    ]
    for framework_id, stage_ids in info["stages"].items():
        scores = info["cv"]["scores"].get(framework_id)
        quality = (
            f"CV macro-F1 {scores['macro_f1']:.3f}, accuracy {scores['accuracy']:.3f}, "
            + (f"none below {scores['threshold']:.3f}" if scores["threshold"] > 0 else "none only where likeliest")
            if scores
            else "not trained"
        )
        lines.append(f"{framework_id:<10}{quality}; stages: {', '.join(stage_ids)}")
    return "\n".join(lines)


class SentenceEncoder(TransformerMixin, BaseEstimator):
    """`encoder.encode` as a scikit-learn transformer, a stateless step that turns texts into sentence
    vectors, for pipelines of your own. It lives here, with scikit-learn, so that classifying with the
    accurate model never imports scikit-learn (training encodes the posts once, not per fold)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def fit(self, texts: Sequence[str], y: Any = None) -> SentenceEncoder:
        from .encoder import DIMENSIONS

        self.n_features_out_ = DIMENSIONS
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        from .encoder import encode

        return encode([str(text) or " " for text in texts], threads=self.threads)
