"""The journey model: per framework a TF-IDF logistic regression held as plain arrays (with, for the
accurate kind, weights on sentence vectors), and how it turns posts into stages.

scikit-learn trains the model (see `training.py`); classifying needs only what a fitted linear
text model is made of (the vocabulary, IDF weights, coefficients and intercepts), so it runs on
numpy and Arrow without importing scikit-learn, whose import alone takes over a second. Saving and
loading it is `model_file.py`'s.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .calibration import Probabilities
from .decoding import Decoded, decode
from .errors import ModelError
from .features import Counts, count_features
from .metadata import ModelMetadata
from .stages import NONE, Stages
from .text import as_text_array, blank_posts, foreign_posts, normalise_texts

SENTENCE_DIMENSIONS = 384
"""The width of the accurate kind's sentence vectors (`encoder.DIMENSIONS`; not imported, so loading a
fast model never touches the encoder module)."""
MODEL_KINDS = ("fast", "accurate")
DEFAULT_KIND = "accurate"
"""The kind a plain `journey classify` and `journey train` use. The accurate kind reads posts from
sources and channels unlike the labelled ones better (leave-one-channel-out and real posts, see the
README) and classifies some 750 posts a second on 2 cores; `--model fast` does tens of thousands."""
UNREAD_BELOW = 1e-4
"""Every post the model read has at least this confidence; a post it could not read (another
language) has confidence 0 and stage `none`, so a classified file says which posts need a person."""


@dataclass
class LinearHead:
    """One framework's TF-IDF weights and logistic regression over the model's shared vocabulary."""

    classes: list[str]
    idf: np.ndarray  # per vocabulary gram; 0 for grams this framework was not trained on
    coef: np.ndarray  # (classes, grams), or (1, grams) for two classes
    intercept: np.ndarray
    # The accurate kind's weights on each post's sentence vector (`encoder.py`), (rows, dimensions),
    # added to the n-gram decision: the two models' probabilities pooled log-linearly.
    sentence_coef: np.ndarray | None = None

    def features(self, counts: Counts) -> np.ndarray:
        """The TF-IDF value of each entry of `counts`: scikit-learn's TfidfVectorizer(sublinear_tf=True)."""
        return _tfidf(counts, self.idf)

    def link(self, decision: np.ndarray) -> np.ndarray:
        """Probabilities from the decision values X @ coef.T (the intercept is added here)."""
        decision = decision + self.intercept
        if len(self.coef) == 1:  # two classes: scikit-learn keeps one row of weights for the second
            second = 1.0 / (1.0 + np.exp(-decision[:, 0]))
            return np.column_stack([1.0 - second, second])
        decision -= decision.max(axis=1, keepdims=True)
        np.exp(decision, out=decision)
        decision /= decision.sum(axis=1, keepdims=True)
        return decision


def _tfidf(counts: Counts, idf: np.ndarray) -> np.ndarray:
    weights = (1.0 + np.log(counts.counts)) * np.take(idf, counts.features)
    norms = np.sqrt(np.bincount(counts.rows, weights * weights, minlength=counts.posts))
    row_norms = norms[counts.rows]
    return np.divide(weights, row_norms, out=np.zeros_like(weights), where=row_norms > 0)


def _sparse_dot(counts: Counts, values: np.ndarray, coef_by_gram: np.ndarray) -> np.ndarray:
    """The (posts x columns) product of the sparse features with a (grams x columns) matrix."""
    product = np.zeros((counts.posts, coef_by_gram.shape[1]))
    if len(counts.rows):
        # Each entry's contribution to every column at once, summed over each post's entries.
        contributions = np.take(coef_by_gram, counts.features, axis=0)  # 4x faster than [...]
        contributions *= values[:, None]
        starts = np.flatnonzero(np.r_[True, counts.rows[1:] != counts.rows[:-1]])
        product[counts.rows[starts]] = np.add.reduceat(contributions, starts, axis=0)
    return product


@dataclass
class JourneyModel:
    """A linear head per framework over one vocabulary, the stages they were trained for, and how."""

    vocabulary: pa.Array  # the word 1-2-grams the model knows, in feature order
    heads: dict[str, LinearHead]
    stages: Stages
    stages_yaml: str
    metadata: ModelMetadata

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.metadata.thresholds)

    @property
    def kind(self) -> str:
        """`accurate` if the model also reads sentence vectors, else `fast` (word n-grams only)."""
        return "accurate" if any(head.sentence_coef is not None for head in self.heads.values()) else "fast"

    def counts(self, normalised: pa.Array) -> Counts:
        return count_features(normalised, self.vocabulary)

    def raw_probabilities(self, texts: Any) -> dict[str, Probabilities]:
        """Each framework's uncalibrated class probabilities; empty posts get all zeros."""
        return self.probabilities_of(normalise_texts(texts))

    def probabilities_of(self, normalised: pa.Array, blank: np.ndarray | None = None) -> dict[str, Probabilities]:
        """`raw_probabilities` of texts already normalised (`blank`: which are empty, if known)."""
        counts = self.counts(normalised)
        blank = blank_posts(normalised) if blank is None else blank
        vectors = None
        if self.kind == "accurate":
            from .encoder import DIMENSIONS, encode, sentence_texts

            vectors = np.zeros((len(normalised), DIMENSIONS), dtype=np.float32)
            read = np.flatnonzero(~blank)
            vectors[read] = encode(sentence_texts(normalised.take(pa.array(read))))
        results = {}
        # Frameworks trained on the same posts share their IDF: their TF-IDF features are
        # computed once and their weights applied in one pass.
        for idf, framework_ids, coef_by_gram in self._head_groups:
            decisions = _sparse_dot(counts, _tfidf(counts, idf), coef_by_gram)
            start = 0
            for framework_id in framework_ids:
                head = self.heads[framework_id]
                decision = decisions[:, start : start + len(head.coef)]
                if vectors is not None and head.sentence_coef is not None:
                    decision = decision + vectors @ head.sentence_coef.T
                values = head.link(decision)
                start += len(head.coef)
                values[blank] = 0.0
                results[framework_id] = Probabilities(list(head.classes), values)
        return {framework_id: results[framework_id] for framework_id in self.heads}

    @functools.cached_property
    def _head_groups(self) -> list[tuple[np.ndarray, list[str], np.ndarray]]:
        groups: list[tuple[np.ndarray, list[str]]] = []
        for framework_id, head in self.heads.items():
            for idf, members in groups:
                if np.array_equal(idf, head.idf):
                    members.append(framework_id)
                    break
            else:
                groups.append((head.idf, [framework_id]))
        return [
            (idf, members, np.ascontiguousarray(np.vstack([self.heads[f].coef for f in members]).T))
            for idf, members in groups
        ]

    def predict(self, texts: Any, thresholds: dict[str, float] | None = None) -> dict[str, Decoded]:
        """Stage and confidence per framework for every text, decoded as the model was tuned to."""
        texts = as_text_array(texts)
        normalised = normalise_texts(texts)
        return self.decide(normalised, thresholds, foreign=foreign_posts(texts, normalised))

    def decide(
        self, normalised: pa.Array, thresholds: dict[str, float] | None = None, *, foreign: np.ndarray | None = None
    ) -> dict[str, Decoded]:
        """`predict` for texts already normalised; `foreign` marks posts not in the model's language.

        Probabilities are calibrated with the temperature fitted in training; linked frameworks
        are decided jointly if that scored better; a stage under the framework's threshold
        becomes `none`. A post with no words always gets `none` with confidence 1, and a post in
        another language `none` with confidence 0: the model cannot read it, so a person should.
        """
        blank = blank_posts(normalised)
        decoded = decode(
            self.probabilities_of(normalised, blank),
            self.stages,
            temperatures=self.metadata.temperatures,
            thresholds={**self.thresholds, **(thresholds or {})},
            joint=self.metadata.joint,
        )
        for result in decoded.values():
            # Confidence 0 is kept for posts the model cannot read; one it read is never under the
            # 0.0001 that output rounds to.
            np.maximum(result.confidences, UNREAD_BELOW, out=result.confidences)
            result.stages[blank] = NONE
            result.confidences[blank] = 1.0
            if foreign is not None:
                result.stages[foreign] = NONE
                result.confidences[foreign] = 0.0
        return decoded

    def check_stages(self, stages: Stages) -> None:
        """Refuse stages whose framework or stage ids differ from the ones this model learnt."""
        if stages.fingerprint() != self.stages.fingerprint():
            raise ModelError(
                "the model was trained for other stages than the stages file in use "
                f"({_stage_differences(self.stages, stages)}); retrain it with "
                "`journey train LABELLED.csv --stages FILE`, or drop --stages to use the stages saved in the model"
            )


def _stage_differences(model_stages: Stages, file_stages: Stages) -> str:
    """The frameworks whose stage ids differ, e.g. 'social: the model has research but the file has study instead'."""
    in_model, in_file = model_stages.stage_ids(), file_stages.stage_ids()
    differences = []
    for framework_id in [*in_model, *(f for f in in_file if f not in in_model)]:
        model_ids, file_ids = in_model.get(framework_id), in_file.get(framework_id)
        if file_ids is None:
            differences.append(f"{framework_id} is in the model but not in the file")
        elif model_ids is None:
            differences.append(f"{framework_id} is in the file but not in the model")
        elif model_ids != file_ids:
            only_model = [i for i in model_ids if i not in file_ids]
            only_file = [i for i in file_ids if i not in model_ids]
            if only_model and only_file:
                difference = f"the model has {', '.join(only_model)} but the file has {', '.join(only_file)} instead"
            elif only_model or only_file:
                side, ids = ("model", only_model) if only_model else ("file", only_file)
                difference = f"the {side} also has {', '.join(ids)}"
            else:
                difference = "the same stages in another order"
            differences.append(f"{framework_id}: {difference}")
    return "; ".join(differences)
