"""Read CSV exports of posts in chunks, keeping every cell exactly as it was written."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from .errors import DataError

TEXT_COLUMN_NAMES = (
    "text", "message", "content", "post", "body", "tweet", "full_text",
    "comment", "review", "review_text", "caption", "description",
)  # fmt: skip
"""Column names taken as the post text, in order of preference, when --text-column is not given."""

DEFAULT_CHUNK_SIZE = 20_000
_SNIFF_BYTES = 64 * 1024


@dataclass
class PostTable:
    """An open CSV of posts: its columns, which one holds the text, and its rows in chunks."""

    name: str
    columns: list[str]
    text_column: str
    chunks: Iterator[pd.DataFrame]


def find_text_column(columns: list[str], wanted: str | None = None) -> str:
    """The column that holds the post text: `wanted` if given, else the first well-known name."""
    listing = ", ".join(columns) if columns else "(none)"
    if wanted is not None:
        if wanted in columns:
            return wanted
        raise DataError(f"column '{wanted}' not found; columns are {listing}; pass --text-column")
    by_folded_name = {column.strip().lower(): column for column in reversed(columns)}
    for name in TEXT_COLUMN_NAMES:
        if name in by_folded_name:
            return by_folded_name[name]
    raise DataError(f"no text column found; columns are {listing}; pass --text-column NAME")


def read_posts(
    source: str | Path,
    *,
    text_column: str | None = None,
    encoding: str = "utf-8-sig",
    delimiter: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> PostTable:
    """Open a CSV file (or `-` for stdin) of posts; the chunks are read lazily, so memory stays flat.

    Every column is read as text and empty cells stay empty strings, so the rows can be written
    back unchanged. The delimiter is sniffed from the start of the file unless given.
    """
    name = "stdin" if str(source) == "-" else str(source)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"unknown encoding '{encoding}'; try utf-8, cp1252 or latin-1") from None
    stream = _open_binary(source)
    sample = _read_sample(stream)
    stream = _Rewound(sample, stream)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and codecs.lookup(encoding).name.startswith(
        "utf-8"
    ):
        encoding = "utf-16"  # what Excel writes for "Unicode Text"; its BOM says so unambiguously
    if not sample.strip():
        raise DataError(f"{name} is empty; expected a CSV with a header row")
    if b"\x00" in sample and not codecs.lookup(encoding).name.startswith("utf-16"):
        raise DataError(f"{name} holds NUL bytes: is it a binary file, or UTF-16 without a BOM (--encoding utf-16)?")
    text_sample = sample.decode(encoding, errors="replace")
    if delimiter is None:
        delimiter = _sniff_delimiter(text_sample)
    header = _header(text_sample, delimiter)
    duplicates = sorted({column for column in header if header.count(column) > 1})
    if duplicates:
        raise DataError(f"{name} has more than one column named {', '.join(map(repr, duplicates))}; rename them")
    try:
        reader = pd.read_csv(
            io.BufferedReader(stream, buffer_size=1 << 20),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            index_col=False,
            encoding=encoding,
            encoding_errors="strict",
            chunksize=chunk_size,
            engine="c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        raise DataError(_explain_read_error(name, error, encoding)) from None
    chunks = _chunks(reader, header, name, encoding)
    # The first chunk is read now: a missing text column or a broken first row is reported
    # before any output is written.
    first = next(chunks)
    columns = list(first.columns)
    found = find_text_column(columns, text_column)
    return PostTable(name, columns, found, itertools.chain([first], chunks))


def _chunks(
    reader: pd.io.parsers.TextFileReader, header: list[str], name: str, encoding: str
) -> Iterator[pd.DataFrame]:
    with reader:
        while True:
            try:
                with warnings.catch_warnings():
                    # pandas only warns when a row has more fields than the header, and drops them.
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    chunk = next(reader)
            except StopIteration:
                return
            except pd.errors.ParserWarning:
                raise DataError(
                    f"{name}: a row has more fields than the header; check the delimiter (--delimiter) and quoting"
                ) from None
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
                raise DataError(_explain_read_error(name, error, encoding)) from None
            if len(chunk.columns) == len(header):
                # pandas renames blank headers ("Unnamed: 2"); keep the names as written.
                chunk.columns = header
            yield chunk


def _header(text_sample: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text_sample), delimiter=delimiter), [])
    except csv.Error:
        return []


def _explain_read_error(name: str, error: Exception, encoding: str) -> str:
    if isinstance(error, UnicodeDecodeError):
        return (
            f"{name} is not valid {encoding} text ({error.reason} at byte {error.start}); "
            "pass --encoding cp1252 (Windows/Excel) or --encoding latin-1"
        )
    if isinstance(error, pd.errors.EmptyDataError):
        return f"{name} is empty; expected a CSV with a header row"
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"cannot read {name} as CSV: {first_line}; check its delimiter (--delimiter) and quoting"


def _open_binary(source: str | Path) -> BinaryIO:
    if str(source) == "-":
        return sys.stdin.buffer
    path = Path(source)
    if path.is_dir():
        raise DataError(f"{path} is a directory; pass a CSV file")
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except OSError as error:
        raise DataError(f"cannot open {path}: {error.strerror}") from None


def _read_sample(stream: BinaryIO) -> bytes:
    # A pipe may deliver less than asked for in one read, so read until the sample is full or EOF.
    parts, size = [], 0
    while size < _SNIFF_BYTES:
        part = stream.read(_SNIFF_BYTES - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _sniff_delimiter(text: str) -> str:
    # Only whole lines: a field cut in half confuses the sniffer.
    text = text[: text.rfind("\n") + 1] or text
    try:
        return csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


class _Rewound(io.RawIOBase):
    """A stream that replays the sample already read before continuing with the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self._rest is not sys.stdin.buffer:
            self._rest.close()
        super().close()
