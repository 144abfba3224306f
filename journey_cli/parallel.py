"""Classify a stream of chunks in worker processes, in input order, with few chunks in flight.

Every post is scored on its own, so the output does not depend on how the rows are split into
chunks or spread over processes: it is byte for byte the same for any chunk size and workers.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from .classify import classify_table
from .model import JourneyModel
from .writing import encode_chunk


def default_workers() -> int:
    """One worker process per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows
        return max(1, os.cpu_count() or 1)


def classify_encoded(
    model: JourneyModel,
    chunks: Iterable[pa.Table],
    text_column: str,
    fmt: str = "csv",
    *,
    workers: int = 1,
    **options: Any,
) -> Iterator[tuple[int, bytes | memoryview]]:
    """Each chunk classified and encoded in `fmt` (the first with the header), as (rows, bytes), in order.

    The first chunk is done here; worker processes start only if a second chunk follows, so a
    small file never pays for them. At most two chunks per worker are in flight, so memory
    stays that of a few chunks whatever the input's size. `options` go to `classify_table`.
    """
    chunks = iter(chunks)
    first = next(chunks)
    yield len(first), encode_chunk(classify_table(model, first, text_column, **options), fmt, header=True)
    second = next(chunks, None)
    if second is None:
        return
    rest = itertools.chain([second], chunks)
    if workers <= 1:
        for chunk in rest:
            yield len(chunk), encode_chunk(classify_table(model, chunk, text_column, **options), fmt, header=False)
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # "spawn": forking a process whose Arrow thread pools are running can deadlock the child.
    pool = ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(model, text_column, fmt, options)
    )
    pending: deque = deque()
    try:
        for chunk in rest:
            pending.append((len(chunk), pool.submit(_classify_chunk, chunk)))
            if len(pending) >= 2 * workers:
                rows, future = pending.popleft()
                yield rows, future.result()
        while pending:
            rows, future = pending.popleft()
            yield rows, future.result()
    finally:
        pool.shutdown(wait=not pending, cancel_futures=True)


_worker: dict[str, Any] = {}


def _start_worker(model: JourneyModel, text_column: str, fmt: str, options: dict[str, Any]) -> None:
    # Ctrl-C reaches every process of the terminal's group; the parent alone decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker.update(model=model, text_column=text_column, fmt=fmt, options=options)


def _classify_chunk(chunk: pa.Table) -> bytes:
    classified = classify_table(_worker["model"], chunk, _worker["text_column"], **_worker["options"])
    return bytes(encode_chunk(classified, _worker["fmt"], header=False))
