"""Write classified rows as CSV, TSV or JSON lines, and replace files only once they are complete."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from .errors import DataError

FORMATS = ("csv", "tsv", "jsonl")


def write_table(chunks: Iterable[pa.Table], out: BinaryIO, fmt: str = "csv") -> int:
    """Write the chunks one after the other as one UTF-8 table; returns the number of rows written."""
    if fmt not in FORMATS:
        raise DataError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    rows = 0
    for index, chunk in enumerate(chunks):
        out.write(encode_chunk(chunk, fmt, header=index == 0))
        rows += len(chunk)
    return rows


def encode_chunk(chunk: pa.Table, fmt: str, *, header: bool) -> bytes | memoryview:
    """One chunk's rows as bytes of CSV (with the header line if `header`), TSV or JSON lines."""
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in chunk.to_pylist()).encode()
    delimiter = "\t" if fmt == "tsv" else ","
    lines = _lines([_cells(column, delimiter, chunk.num_columns) for column in chunk.columns], delimiter)
    body = _data(lines) if len(chunk) else b""
    if not header:
        return body
    names = [_cells(pa.array([name], pa.string()), delimiter, chunk.num_columns) for name in chunk.column_names]
    return bytes(_data(_lines(names, delimiter))) + bytes(body)


def _cells(column: pa.Array | pa.ChunkedArray, delimiter: str, width: int) -> pa.Array:
    """A column as CSV cells: quoted (quotes doubled) where it holds the delimiter, a quote or a line end.

    Every cell holding a carriage return is quoted too: Python's csv writer leaves a lone "\r"
    bare, and readers split the row there.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):  # a few distinct values: quote each once
        return _cells(column.dictionary, delimiter, width).take(column.indices)
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    column = pc.fill_null(column, "")
    needs_quotes = pc.match_substring_regex(column, f'[{re.escape(delimiter)}"\r\n]')
    if width == 1:
        needs_quotes = pc.or_(needs_quotes, pc.equal(pc.binary_length(column), 0))  # else a blank line
    if not pc.any(needs_quotes).as_py():
        return column
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs_quotes, quoted, column)


def _lines(cells: list[pa.Array], delimiter: str) -> pa.Array:
    joined = pc.binary_join_element_wise(*cells, delimiter) if len(cells) > 1 else cells[0]
    return pc.binary_join_element_wise(joined, "", "\n")  # each row followed by a line end


def _data(lines: pa.Array) -> memoryview:
    """The bytes of all the strings of an array, back to back, without copying them."""
    offsets = lines.buffers()[1]
    first, last = (
        int(o) for o in memoryview(offsets).cast("i")[lines.offset : lines.offset + len(lines) + 1 : len(lines)]
    )
    return memoryview(lines.buffers()[2])[first:last]


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


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
