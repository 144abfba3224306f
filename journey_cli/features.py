"""Word 1-2-gram features of normalised posts, a whole chunk at a time with Arrow string kernels.

The same function feeds training (scikit-learn's TF-IDF learns the vocabulary from its n-grams)
and classifying (the n-grams are looked up in that vocabulary and counted), so the two can never
tokenise differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass
class Grams:
    """Every unigram and bigram of a chunk of posts, with the row each came from."""

    rows: np.ndarray  # int64, one per gram
    grams: pa.Array  # strings; a bigram is its two words joined by a space


def word_grams(normalised: pa.Array) -> Grams:
    """The word unigrams and bigrams of each normalised post, posts in order."""
    pieces = pc.split_pattern(normalised, " ")  # normalisation leaves words between spaces
    lengths = pc.list_value_length(pieces).to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(normalised), dtype=np.int64), lengths)
    tokens = pieces.flatten()
    kept = pc.greater(pc.binary_length(tokens), 0)
    tokens = tokens.filter(kept)
    rows = rows[kept.to_numpy(zero_copy_only=False)]
    same_post = rows[:-1] == rows[1:]
    pairs = pa.array(same_post)
    bigrams = pc.binary_join_element_wise(tokens[:-1].filter(pairs), tokens[1:].filter(pairs), " ")
    return Grams(np.concatenate([rows, rows[:-1][same_post]]), pa.concat_arrays([tokens, bigrams]))


def documents(normalised: pa.Array) -> list[list[str]]:
    """Each post's grams as a list of strings: what scikit-learn's vectoriser is trained on."""
    found = word_grams(normalised)
    order = np.argsort(found.rows, kind="stable")
    offsets = np.searchsorted(found.rows[order], np.arange(len(normalised) + 1)).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), found.grams.take(pa.array(order))).to_pylist()


@dataclass
class Counts:
    """Sparse counts of vocabulary features per post: `rows` ascending, one entry per (row, feature)."""

    rows: np.ndarray  # int64
    features: np.ndarray  # int64 index into the vocabulary
    counts: np.ndarray  # float64
    posts: int


def count_features(normalised: pa.Array, vocabulary: pa.Array) -> Counts:
    """How often each vocabulary gram occurs in each post; grams outside the vocabulary are dropped."""
    found = word_grams(normalised)
    index = pc.index_in(found.grams, value_set=vocabulary)
    known = pc.is_valid(index).to_numpy(zero_copy_only=False)
    features = index.to_numpy(zero_copy_only=False)[known].astype(np.int64) if len(index) else np.zeros(0, np.int64)
    keys = found.rows[known] * len(vocabulary) + features
    keys, counts = np.unique(keys, return_counts=True)
    rows, features = np.divmod(keys, max(len(vocabulary), 1))
    return Counts(rows, features, counts.astype(np.float64), len(normalised))
