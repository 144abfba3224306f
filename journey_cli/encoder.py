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

ENCODER_DIR = Path(__file__).with_name("encoder")
DIMENSIONS = 384
MAX_TOKENS = 128
"""Posts are cut to this many word pieces: enough for any tweet and most reviews, and attention costs
grow with the square of the length."""
BATCH_POSTS, BATCH_TOKENS = 16, 256
"""Batches small enough to stay in a CPU's cache: on 2 cores, batches of 64 posts ran slower than 16."""


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

    The texts are tokenised in one call, then run in batches of posts with the same number of word
    pieces (at most `BATCH_POSTS` posts and `BATCH_TOKENS` pieces), so no batch is padded. The
    model quantises each token on its own (scripts/export_encoder.py), so a post's vector is the same,
    bit for bit, whichever posts share its batch, and classify's output is the same whatever the
    chunks or workers. `threads` caps onnxruntime's threads (default: all CPUs, or this process's
    share, see `share_cpus`).
    """
    session, tokenizer = _loaded(threads if threads is not None else _threads["per_process"])
    encodings = tokenizer.encode_batch(list(texts))
    by_length: dict[int, list[int]] = {}
    for row, encoding in enumerate(encodings):
        by_length.setdefault(len(encoding.ids), []).append(row)
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for length, rows in by_length.items():
        step = max(1, min(BATCH_POSTS, BATCH_TOKENS // length))
        for start in range(0, len(rows), step):
            batch = rows[start : start + step]
            ids = np.array([encodings[row].ids for row in batch], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            vectors[batch] = session.run(None, feeds)[0].mean(axis=1)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


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
    tokenizer.no_padding()  # the file asks for padding to 128 tokens; batches of one length never need it
    return session, tokenizer
