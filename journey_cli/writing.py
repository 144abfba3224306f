"""Write classified rows as CSV, TSV or JSON lines, and replace files only once they are complete."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from .errors import DataError

FORMATS = ("csv", "tsv", "jsonl")


def write_table(chunks: Iterable[pd.DataFrame], out: IO[str], fmt: str = "csv") -> int:
    """Write the chunks one after the other as one table; returns the number of rows written."""
    if fmt not in FORMATS:
        raise DataError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    rows = 0
    for index, chunk in enumerate(chunks):
        if fmt == "jsonl":
            if len(chunk):
                # pandas ends each block of lines with a newline itself.
                chunk.to_json(out, orient="records", lines=True, force_ascii=False)
        else:
            chunk.to_csv(
                out,
                sep="\t" if fmt == "tsv" else ",",
                index=False,
                header=index == 0,
                lineterminator="\n",
                # With "\n" line ends, Python's csv writer does not quote a lone "\r" in a cell,
                # and a reader would split the row there: quote every cell of such a chunk.
                quoting=csv.QUOTE_ALL if _has_carriage_return(chunk) else csv.QUOTE_MINIMAL,
            )
        rows += len(chunk)
    return rows


@contextlib.contextmanager
def replacing(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside `path`; it replaces `path` only if the block finishes.

    A crash, Ctrl-C or full disk part-way leaves whatever was at `path` before untouched.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise DataError(f"cannot write {path}: folder {directory} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        os.chmod(temporary, 0o666 & ~_current_umask())
        newline = "" if "b" not in mode else None
        with os.fdopen(handle, mode, encoding=encoding if "b" not in mode else None, newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _has_carriage_return(chunk: pd.DataFrame) -> bool:
    text_columns = chunk.select_dtypes(include=["object", "string"])
    return any(text_columns[column].str.contains("\r", regex=False).any() for column in text_columns)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
