"""Classify a stream of chunks in worker processes, in input order, with few chunks in flight.

Every post is scored on its own, so the output does not depend on how the rows are split into
chunks or spread over processes: it is byte for byte the same for any chunk size and workers.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import functools
import itertools
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa

from .classify import classify_table, unread_posts
from .errors import JourneyError
from .model import JourneyModel
from .writing import encode_chunk

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

SLOW_MODEL_ROWS, FIRST_SLOW_ROWS = 2_000, 200
"""The accurate model classifies hundreds of posts a second, so it takes chunks in pieces of this many
rows (seconds of work each): the workers start early, progress moves and memory stays small. The
very first piece, classified before any worker starts, is smaller, so `| head` gets its rows soon."""
FIRST_CHUNK_GRACE = 0.05
"""Seconds given to a reader such as `| head` to leave after the first chunk, before the workers start
(starting them blocks for about a second, while each receives the model)."""


def default_workers() -> int:
    """One worker process per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows
        return max(1, os.cpu_count() or 1)


@dataclass
class Classified:
    """What a run wrote: rows, and posts the model could not read (another language)."""

    rows: int = 0
    unread: int = 0


def classify_to(
    stream: IO[bytes],
    model: JourneyModel,
    chunks: Iterable[pa.Table],
    text_column: str | Sequence[str],
    fmt: str = "csv",
    *,
    raw: bool = False,
    add_bom: bool = False,
    workers: int = 1,
    progress: Callable[[int], None] = lambda rows: None,
    **options: Any,
) -> Classified:
    """Classify the chunks and write them to `stream` in `fmt` (csv, tsv, jsonl or xlsx).

    CSV, TSV and JSON lines are classified by `classify_encoded` (`workers` processes); an xlsx
    sheet holds at most a million rows, so it is classified here. `add_bom` starts CSV or TSV with
    a UTF-8 BOM (other formats have none); `progress` is told the rows written so far after every chunk. `options` go to
    `classify_table`.
    """
    stages = options.get("stages") or model.stages
    done = Classified()
    if fmt == "xlsx":
        from .classify import classify_chunks
        from .writing import write_xlsx

        def counted(classified: Iterator[pa.Table]) -> Iterator[pa.Table]:
            for chunk in classified:
                done.unread += unread_posts(chunk, stages)
                yield chunk

        done.rows = write_xlsx(counted(classify_chunks(model, chunks, text_column, **options)), stream, raw=raw)
        return done
    if add_bom and fmt in ("csv", "tsv"):
        stream.write(codecs.BOM_UTF8)
    encoded = classify_encoded(
        model,
        chunks,
        text_column,
        fmt,
        raw=raw,
        workers=workers,
        reader_left=functools.partial(reader_left, stream),
        **options,
    )
    with contextlib.closing(encoded):  # on an error or Ctrl-C, the workers are stopped at once, not at exit
        for rows, unread, data in encoded:
            try:
                stream.write(data)
            except BrokenPipeError:  # `| head` has all it wants: stop the workers now, not after their chunk
                encoded.throw(BrokenPipeError(errno.EPIPE, "the reader of the output left"))
            done.rows += rows
            done.unread += unread
            progress(done.rows)
    return done


def reader_left(stream: IO[bytes], wait: float = 0.0) -> bool:
    """Whether `stream` is a pipe whose reader has gone (`| head` ended), found without writing to it;
    waits up to `wait` seconds for it to go."""
    try:
        import select

        poller = select.poll()
        poller.register(stream.fileno(), 0)  # no event asked for: only an error (the reader gone) ends the wait
        return any(events & select.POLLERR for _, events in poller.poll(wait * 1000))
    except (AttributeError, OSError, ValueError):  # not a file (tests), or no poll() (Windows)
        return False


def classify_encoded(
    model: JourneyModel,
    chunks: Iterable[pa.Table],
    text_column: str | Sequence[str],
    fmt: str = "csv",
    *,
    raw: bool = False,
    workers: int = 1,
    reader_left: Callable[[float], bool] = lambda wait: False,
    **options: Any,
) -> Generator[tuple[int, int, bytes | memoryview]]:
    """Each chunk classified and encoded in `fmt` (the first with the header), in order, as (rows,
    posts the model could not read, bytes).

    The first chunk is done here; worker processes start only if a second chunk follows, so a
    small file never pays for them. The accurate model takes chunks in pieces of `SLOW_MODEL_ROWS`
    (the first smaller, so the first rows come out soon). At most two chunks per worker are in
    flight, so memory stays that of a few chunks whatever the input's size. While it waits for a
    worker, `reader_left(wait)` is asked every tenth of a second whether the output is still wanted;
    if not, the workers are stopped at once and BrokenPipeError raised. Formula-like cells are
    neutralised unless `raw` (see `writing.encode_chunk`). `options` go to `classify_table`.
    """
    stages = options.get("stages") or model.stages
    chunks = iter(chunks) if model.kind == "fast" else _pieces(chunks, SLOW_MODEL_ROWS, first=FIRST_SLOW_ROWS)
    first = classify_table(model, next(chunks), text_column, **options)
    yield len(first), unread_posts(first, stages), encode_chunk(first, fmt, header=True, raw=raw)
    second = next(chunks, None)
    if second is None:
        return
    rest = itertools.chain([second], chunks)
    # Before starting workers, which blocks for a second: `| head` may be reading the first chunk.
    if reader_left(FIRST_CHUNK_GRACE):
        raise BrokenPipeError(errno.EPIPE, "the reader of the output left")
    if workers <= 1:
        for chunk in rest:
            classified = classify_table(model, chunk, text_column, **options)
            yield len(chunk), unread_posts(classified, stages), encode_chunk(classified, fmt, header=False, raw=raw)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    # "spawn": forking a process whose Arrow thread pools are running can deadlock the child.
    setup = (model, text_column, fmt, raw, options, workers)
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker, initargs=setup)
    pending: deque[tuple[int, Future[tuple[int, bytes]]]] = deque()
    try:
        for chunk in rest:
            with _sigint_held():  # a worker may start here
                pending.append((len(chunk), pool.submit(_classify_chunk, chunk)))
            if len(pending) >= 2 * workers:
                rows, future = pending.popleft()
                yield rows, *_result(future, reader_left)
        while pending:
            rows, future = pending.popleft()
            yield rows, *_result(future, reader_left)
    except BrokenPipeError:  # the reader of the output left: end the workers without waiting for them
        _end_workers_now(pool)
        raise
    except BrokenProcessPool as error:  # a worker was killed (out of memory, `kill -9`) or crashed
        _end_workers_now(pool)  # the others may be stuck handing over a result no one will read
        raise JourneyError(
            f"a worker process stopped before it finished ({error}); no output file was changed. "
            "If the machine ran short of memory, try fewer --workers or a smaller --chunk-size"
        ) from error
    except (Exception, GeneratorExit):
        # A bad row further on, or the reader stopped early (`| head` closes this generator): the
        # workers finish the chunk in hand and go. Ending them mid-chunk could cut a result short in
        # the pipe, and the pool's thread would then wait for the rest of it for ever.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    except BaseException:  # Ctrl-C or a termination signal: end the workers now (see `console.run`)
        _end_workers_now(pool)
        raise
    pool.shutdown(wait=True)


def _end_workers_now(pool: ProcessPoolExecutor) -> None:
    """Stop every worker at once, without waiting for the chunks in hand.

    Private names, as the executor has no public way to do it: shutdown() lets each worker finish
    its chunk, and its queue thread waits to hand over chunks no one will read.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()  # SIGTERM ends even a worker still starting up, without a traceback
    for process in processes:
        process.join(timeout=5)
    call_queue = getattr(pool, "_call_queue", None)
    if call_queue is not None:  # chunks no worker will read must not hold up the exit
        call_queue.cancel_join_thread()
    pool.shutdown(wait=False, cancel_futures=True)


def _pieces(chunks: Iterable[pa.Table], rows: int, first: int) -> Iterator[pa.Table]:
    """The chunks in pieces of at most `rows` rows, the very first of at most `first` (an empty chunk
    stays one piece)."""
    size = first
    for chunk in chunks:
        start = 0
        while True:
            yield chunk.slice(start, size)
            start, size = start + size, rows
            if start >= len(chunk):
                break


def _result(future: Future[tuple[int, bytes]], reader_left: Callable[[float], bool]) -> tuple[int, bytes]:
    """A worker's result, given up on (BrokenPipeError) as soon as `reader_left()` says no one reads it."""
    from concurrent.futures import TimeoutError as NotYet

    while True:
        try:
            return future.result(timeout=0.1)
        except NotYet:
            if reader_left(0):
                raise BrokenPipeError(errno.EPIPE, "the reader of the output left") from None


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Ctrl-C (and kill or hangup) held back for a moment and acted on right after; never lost.

    Ctrl-C reaches every process of the terminal's group. A worker still starting up would die
    with a traceback, and so would one whose start-up the parent abandoned half-way. So here
    the signals are noted rather than acted on, and blocked too: a child inherits the mask, so
    one being started cannot die before it has read all its start-up data from the parent (the
    parent would then wait for ever to finish writing it), and unblocks them once running.
    They take effect here once the workers are started.
    """
    noted: list[int] = []
    numbers = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    try:
        previous = {number: signal.signal(number, lambda number, frame: noted.append(number)) for number in numbers}
    except ValueError:  # not the main thread: signals are not ours to change
        yield
        return
    blocking = hasattr(signal, "pthread_sigmask")  # not on Windows, where Ctrl-C skips the workers
    if blocking:
        signal.pthread_sigmask(signal.SIG_BLOCK, numbers)
    try:
        yield
    finally:
        if blocking:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, numbers)
        for number, handler in previous.items():
            signal.signal(number, handler)
        if noted:
            handler = previous[noted[0]]
            if callable(handler):
                handler(noted[0], None)  # raises KeyboardInterrupt, or SystemExit for kill and hangup
            elif handler == signal.SIG_DFL:
                signal.raise_signal(noted[0])


_worker: dict[str, Any] = {}


def _start_worker(
    model: JourneyModel, text_column: str | Sequence[str], fmt: str, raw: bool, options: dict[str, Any], workers: int
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # see `_sigint_held`
    if hasattr(signal, "pthread_sigmask"):  # started with them blocked; a kill now ends this worker as it should
        kills = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
        signal.pthread_sigmask(signal.SIG_UNBLOCK, kills)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    _worker.update(model=model, text_column=text_column, fmt=fmt, raw=raw, options=options)
    if model.kind == "accurate":
        from .encoder import share_cpus

        share_cpus(workers)


def _exit_with_parent() -> None:
    """End this worker as soon as the parent process is gone, however it ended: never an orphan."""
    from multiprocessing import connection, parent_process

    parent = parent_process()
    if parent is not None:
        connection.wait([parent.sentinel])
        os._exit(1)


def _classify_chunk(chunk: pa.Table) -> tuple[int, bytes]:
    model, options = _worker["model"], _worker["options"]
    classified = classify_table(model, chunk, _worker["text_column"], **options)
    unread = unread_posts(classified, options.get("stages") or model.stages)
    return unread, bytes(encode_chunk(classified, _worker["fmt"], header=False, raw=_worker["raw"]))


def exit_now(code: int) -> None:
    """Exit without waiting on worker-pool or reader threads: one that was reading from a worker ended
    mid-write would wait for ever. What exit would release (the pool's named semaphores) is released
    first, and what was written to stdout is flushed."""
    import sys

    with contextlib.suppress(Exception):
        if sys.stdout is not None:
            sys.stdout.flush()
    with contextlib.suppress(Exception):
        if "multiprocessing" in sys.modules:
            from multiprocessing import resource_tracker, util

            # Private, as no public call runs the finalizers without joining threads: the semaphores are
            # unlinked and no thread is joined.
            util._run_finalizers(0)  # type: ignore[attr-defined]
            tracker = getattr(getattr(resource_tracker, "_resource_tracker", None), "_pid", None)
            if tracker:  # nothing is left for it to clean, only a race to warn about
                os.kill(tracker, signal.SIGKILL)
        sys.stderr.flush()
    os._exit(code)
