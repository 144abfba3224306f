"""Sentence vectors of posts from the bundled sentence encoder, all-MiniLM-L6-v2 as int8 ONNX.

Word n-grams learn the surface of the posts they were trained on; a sentence encoder, trained on a
billion sentence pairs, places posts that mean alike near each other even when they share no word.
The ONNX file and its tokenizer ship in `journey_cli/encoder/` (built by scripts/export_encoder.py,
Apache-2.0, see the NOTICE there) and run with onnxruntime and tokenizers: no torch, nothing
downloaded. onnxruntime is imported only when vectors are asked for, so the fast path never loads it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, TransformerMixin

ENCODER_DIR = Path(__file__).with_name("encoder")
DIMENSIONS = 384
MAX_TOKENS = 128
"""Posts are cut to this many word pieces: enough for any tweet and most reviews, and attention costs
grow with the square of the length."""


def sentence_texts(normalised: pa.Array) -> list[str]:
    """What the encoder reads of each normalised post: its words, with handles and links as words it
    knows. The text is normalised once (`text.py`) for both kinds of feature; on real posts the raw
    text scored within 0.01 of it."""
    folded = pc.replace_substring(pc.replace_substring(normalised, "_user_", "@user"), "_url_", "http")
    return [text or " " for text in folded.to_pylist()]


_threads: dict[str, int] = {"per_process": 0}


def share_cpus(processes: int) -> None:
    """Give this process's encoder its share of the CPUs when `processes` encode side by side
    (classify's workers), so that they do not fight over the same cores."""
    _threads["per_process"] = max(1, (os.cpu_count() or 1) // max(processes, 1))


def encode(texts: Sequence[str], *, threads: int | None = None) -> np.ndarray:
    """A unit-length vector (float32, `DIMENSIONS` wide) per text: the mean of its token vectors.

    The texts are tokenised in one call, then run one post at a time. The int8 model scales its
    activations per run, so in a batch a post's vector would depend on its batch-mates (by up to
    0.05 in cosine, enough to change 1 stage in 100); one at a time, every post's result is its own
    and classify's output is the same whatever the chunks or workers, with no padding to compute.
    `threads` caps onnxruntime's threads (default: all CPUs, or this process's share, see
    `share_cpus`).
    """
    session, tokenizer = _loaded(threads if threads is not None else _threads["per_process"])
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for row, encoding in enumerate(tokenizer.encode_batch(list(texts))):
        ids = np.array([encoding.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        mean = session.run(None, feeds)[0][0].mean(axis=0)
        vectors[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return vectors


@functools.cache
def _loaded(threads: int) -> tuple[Any, Any]:
    import onnxruntime
    from tokenizers import Tokenizer

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0: one per CPU
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(ENCODER_DIR / "model.onnx"), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(ENCODER_DIR / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()  # the file asks for padding to 128 tokens, which one post at a time never needs
    return session, tokenizer


class SentenceEncoder(TransformerMixin, BaseEstimator):
    """`encode` as a scikit-learn transformer: a stateless step that turns texts into sentence vectors."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def fit(self, texts: Sequence[str], y: Any = None) -> SentenceEncoder:
        self.n_features_out_ = DIMENSIONS
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return encode([str(text) or " " for text in texts], threads=self.threads)
