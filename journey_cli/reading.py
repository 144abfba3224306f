"""Read CSV exports of posts in chunks, keeping every cell exactly as it was written."""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import difflib
import gzip
import io
import json
import lzma
import os
import re
import stat
import sys
import warnings
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from . import signatures
from .errors import DataError, JourneyNote

if TYPE_CHECKING:
    import pandas as pd

TEXT_COLUMN_NAMES = (
    "text", "message", "content", "post", "body", "tweet", "full text", "tweet text", "post text", "message text",
    "post content", "mention content", "comment", "comment text", "review", "review text", "caption", "caption text",
    "description", "snippet",
)  # fmt: skip
"""Column names taken as the post text, in order of preference, when --text-column is not given; an
export's header matches whatever its case, spaces and punctuation (`Post Content`, `full_text`)."""

DEFAULT_CHUNK_SIZE = 20_000
BLOCK_BYTES = 8 << 20
"""Bytes parsed at a time. A row longer than this (a field of many megabytes) makes a file be
read again with blocks eight times larger; stdin cannot be read twice, so there it is an error."""
_MAX_BLOCK_BYTES = 1 << 30
_NOT_CSV = {
    signatures.ZIP[0]: "an Excel workbook (.xlsx) or another zip archive; in Excel, save it as 'CSV UTF-8'",
    signatures.OLE: "an old Office file, such as an Excel .xls workbook; save it as 'CSV UTF-8'",
    **signatures.DOCUMENTS,
}
"""Starts of files people pass by mistake, and what to tell them."""
DECOMPRESSED: dict[str, Callable[[BinaryIO], io.BufferedIOBase]] = {
    "gzip": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    "bz2": bz2.BZ2File,
    "xz": lzma.LZMAFile,
}
"""How each compressed format is read as a stream, without unpacking it to disk first."""
INPUT_FORMATS = ("auto", "csv", "jsonl", "lines")
"""csv (any delimiter), JSON lines (one object per line), or plain text with one post per line;
`auto` decides by the file's name, then by its first character (`{` is JSON lines)."""
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl"}
LINES_COLUMN = "text"
"""The one column of a plain-text input."""
_SNIFF_BYTES = 64 * 1024
_PREAMBLE_LINES = 30
"""A report preamble above the header is looked for in this many lines."""


@dataclass
class PostTable:
    """An open CSV of posts: its columns, which one holds the text, and its rows in chunks.

    Every chunk is an Arrow table of the file's columns, all text, cells exactly as written.
    """

    name: str
    columns: list[str]
    text_column: str | tuple[str, ...]  # several: joined into the post, in order (subject, then body)
    chunks: Iterator[pa.Table]
    bom: bool = False  # the file starts with a UTF-8 BOM (Excel's "CSV UTF-8"): its outputs get one too
    rows_expected: int | None = None  # about how many rows the file holds, from its size, if it has one

    @property
    def text_label(self) -> str:
        """The text column(s) as a message names them: `'text'`, or `'Subject' + 'Description'`."""
        columns = [self.text_column] if isinstance(self.text_column, str) else self.text_column
        return " + ".join(f"'{column}'" for column in columns)

    def close(self) -> None:
        """Stop reading and close the file (needed only if the chunks are not read to the end)."""
        self.chunks.close()  # type: ignore[attr-defined]

    def frame(self, columns: list[str] | None = None) -> pd.DataFrame:
        """All the (remaining) rows as one pandas DataFrame of strings, of only `columns` if given."""
        import pandas as pd

        columns = self.columns if columns is None else columns
        tables = [chunk.select(columns) for chunk in self.chunks]  # the others are let go chunk by chunk
        if not tables:
            return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
        return pa.concat_tables(tables).to_pandas()


def read_lines(stream: IO[str] | None) -> list[str]:
    """The posts of a text stream, one per line (blank lines skipped): `journey explain -`."""
    if stream is None:
        raise DataError("stdin is closed; give the posts as arguments")
    try:
        posts = [line.strip() for line in stream if line.strip()]
    except UnicodeDecodeError:
        raise DataError("stdin is not UTF-8 text; convert it first (iconv -f cp1252 -t utf-8)") from None
    if not posts:
        raise DataError("no posts on stdin: give one per line, or the posts as arguments")
    return posts


def find_text_column(
    columns: list[str], wanted: str | Sequence[str] | None = None, *, header: bool = True
) -> str | tuple[str, ...]:
    """The column that holds the post text: `wanted` if given, else the first well-known name.

    Several wanted columns (a ticket's subject and description) are all checked and returned as a
    tuple, to be joined into the post. Without a `header` the columns are numbered from 1.
    """
    listing = ", ".join(columns) if columns else "(none)"
    if wanted is not None and not isinstance(wanted, str):
        if len(wanted) > 1:
            return tuple(str(find_text_column(columns, one)) for one in wanted)
        wanted = wanted[0] if wanted else None
    if wanted is not None:
        if wanted in columns:
            return wanted
        close = difflib.get_close_matches(wanted, columns, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise DataError(f"text column '{wanted}' not found; {hint}columns are {listing}")
    if not header:
        if len(columns) == 1:
            return columns[0]
        raise DataError(
            f"with --no-header, say which column holds the posts: --text-column N, from 1 to {len(columns)}"
        )
    found = find_column(columns, TEXT_COLUMN_NAMES)
    if found is not None:
        return found
    near = [c for c in columns if difflib.get_close_matches(folded_name(c), TEXT_COLUMN_NAMES, n=1, cutoff=0.6)]
    hint = f"; is it {' or '.join(repr(c) for c in near[:3])}?" if near else ""
    raise DataError(f"no text column found; columns are {listing}{hint}; pass --text-column NAME")


def find_column(columns: list[str] | pd.Index, names: tuple[str, ...]) -> str | None:
    """The first of `columns` whose folded name (see `folded_name`) is the earliest in `names`."""
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(folded_name(str(column)), str(column))
    return next((by_name[name] for name in names if name in by_name), None)


def folded_name(name: str) -> str:
    """A column name as compared with the names journey knows: lower case, words split by one space.

    >>> folded_name("Post Content"), folded_name(" full_text "), folded_name("Date (GMT)")
    ('post content', 'full text', 'date gmt')
    """
    return " ".join(filter(None, re.split(r"[\W_]+", name.lower())))


def delimiter_character(value: str) -> str:
    """The delimiter a user means (`tab` and `\\t` are a tab); ValueError unless one character other
    than a quote or a line end.

    >>> delimiter_character(";"), delimiter_character("tab")
    (';', '\\t')
    """
    value = {"\\t": "\t", "tab": "\t"}.get(value, value)
    if len(value) != 1 or value in '"\r\n':
        raise ValueError("the delimiter is one character other than a quote or a line end, such as , ; | or tab")
    return value


def text_codec(encoding: str) -> str:
    """The codec name of a text encoding; LookupError for an unknown one or a byte codec such as rot13."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise LookupError(f"unknown text encoding '{encoding}'; try utf-8, cp1252 or latin-1")
    return info.name


@dataclass(frozen=True)
class InputOptions:
    """How to read an input file: the options every command that reads posts shares (`read_posts`)."""

    text_column: str | tuple[str, ...] | None = None
    encoding: str | None = None
    delimiter: str | None = None
    skip_lines: int | None = None
    header: bool = True
    input_format: str = "auto"
    guess_text_besides: tuple[str, ...] | None = None

    def read(self, source: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> PostTable:
        """`read_posts` with these options."""
        return read_posts(source, **vars(self), chunk_size=chunk_size)


def read_posts(
    source: str | Path,
    *,
    text_column: str | Sequence[str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    skip_lines: int | None = None,
    header: bool = True,
    input_format: str = "auto",
    guess_text_besides: tuple[str, ...] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> PostTable:
    """Open a file of posts (or `-` for stdin); the chunks are read lazily, so memory stays flat.

    The file is CSV (the delimiter sniffed unless given), JSON lines or plain text with a post per
    line (`input_format`, found by the name and first character unless given), and may be gzip,
    bzip2 or xz compressed. Every column is read as text and empty cells stay empty strings, so
    the rows can be written back unchanged. Without an `encoding`, a file whose start is not UTF-8
    is read as Windows' cp1252, with a note. A CSV report's preamble above the header is skipped
    with a note, unless `skip_lines` says how many lines to skip; without a `header` the columns
    are numbered from 1. With `guess_text_besides` (prefixes of columns that are not the text),
    a file with no text column known by name has its longest text taken as the posts, with a note.
    """
    name = "stdin" if str(source) == "-" else str(source)
    try:
        text_codec(encoding or "utf-8")
    except LookupError as error:
        raise DataError(str(error)) from None
    if input_format not in INPUT_FORMATS:
        raise DataError(f"unknown input format '{input_format}'; use one of {', '.join(INPUT_FORMATS)}")
    stream = _open_binary(source)
    try:
        sample = _read_sample(stream)
        if not sample.strip():
            raise DataError(f"{name} is empty; expected a CSV with a header row")
        for magic, what in _NOT_CSV.items():
            if sample.startswith(magic):
                raise DataError(f"{name} is not a CSV but {what}")
        encoding = _encoding(sample, name, encoding)
        codec = text_codec(encoding)
        if input_format == "auto":
            input_format = _input_format(name, sample.decode(encoding, errors="replace"))
        if input_format == "csv":
            delimiter, names, start = _inspect(sample, name, encoding, delimiter, skip_lines=skip_lines, header=header)
    except BaseException:
        _close(stream)
        raise
    bom = sample.startswith(codecs.BOM_UTF8)
    if input_format != "csv":
        rows = _Rewound(sample, stream)
        chunks = _records(rows, name, encoding, chunk_size, skip_lines or 0, json_lines=input_format == "jsonl")
    else:

        def open_reader(block_bytes: int, stream: BinaryIO) -> pa_csv.CSVStreamingReader:
            return pa_csv.open_csv(
                stream,
                # Arrow skips a UTF-8 BOM itself; other encodings are decoded by Python's codecs.
                read_options=pa_csv.ReadOptions(
                    block_size=block_bytes,
                    encoding="utf8" if codec.startswith("utf-8") else encoding,
                    column_names=None if header else names,
                ),
                parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )

        def reopen() -> BinaryIO | None:
            return None if name == "stdin" else _skipped(_open_binary(source), start)

        chunks = _chunks(open_reader, _Rewound(sample[start:], stream), reopen, name, encoding, chunk_size)
    # The first chunk is read now: a missing text column or a broken first row is reported
    # before any output is written.
    first = next(chunks)
    columns = first.column_names
    try:
        found = find_text_column(columns, text_column, header=header or input_format == "lines")
    except DataError:
        guessed = _longest_text(first, guess_text_besides) if text_column is None and header else None
        if guessed is None:
            chunks.close()
            raise
        note = f"took '{guessed}' as the text column of {name}, as it holds the longest text (--text-column to say)"
        warnings.warn(note, JourneyNote, stacklevel=2)
        found = guessed
    expected = _rows_expected(stream, sample)
    return PostTable(name, columns, found, _prepended(first, chunks), bom=bom, rows_expected=expected)


def _encoding(sample: bytes, name: str, given: str | None) -> str:
    """The encoding to read with: UTF-16 if the file starts with its BOM (Excel's "Unicode Text")
    and no other than UTF-8 was given; else the one given; else UTF-8, or Windows' cp1252 (what
    Excel on Windows saves as "CSV") if the start of the file is not UTF-8."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and text_codec(given or "utf-8") == "utf-8":
        return "utf-16"
    if given is not None or b"\x00" in sample:  # NUL bytes: binary, or UTF-16 without a BOM; see `_inspect`
        return given or "utf-8-sig"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(sample) - 3:  # not a character cut in two at the end of the sample
            with contextlib.suppress(UnicodeDecodeError):
                sample.decode("cp1252")
                note = f"read {name} as cp1252 (Windows), as it is not UTF-8 (--encoding to say)"
                warnings.warn(note, JourneyNote, stacklevel=2)
                return "cp1252"
    return "utf-8-sig"


def _input_format(name: str, text: str) -> str:
    """jsonl or lines by the file's name (`posts.jsonl.gz` too), else jsonl if it starts with `{`.

    A `.txt` file is a post per line unless its lines hold tabs alike: Excel saves sheets as
    "Text (Tab delimited)" and "Unicode Text" under that name.
    """
    path = Path(name)
    suffix = path.suffix.lower()
    if suffix in (".gz", ".bz2", ".xz"):
        suffix = Path(path.stem).suffix.lower()
    if suffix == ".txt":
        tabs = {line.count("\t") for line in text.split("\n")[:-1][:20] if line.strip()}
        return "csv" if len(tabs) == 1 and 0 not in tabs else "lines"
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    return "jsonl" if text.lstrip("\ufeff \t\r\n").startswith("{") else "csv"


def _records(
    stream: _Rewound, name: str, encoding: str, chunk_size: int, skip_lines: int, *, json_lines: bool
) -> Generator[pa.Table]:
    """The posts of a JSON lines or plain text input, in tables of at most `chunk_size` rows.

    Plain text is one post per line (blank lines skipped) in a column `text`. JSON lines are one
    object per line; its keys are the columns, in the order first met in the first chunk, and
    each value becomes text as JSON writes it (null is empty). A key first met later is an error,
    not a column quietly dropped.
    """
    columns: list[str] | None = None if json_lines else [LINES_COLUMN]
    rows: list[Any] = []
    number, given = 0, False
    try:
        with io.TextIOWrapper(io.BufferedReader(stream), encoding=encoding, newline=None) as lines:
            try:
                for number, line in enumerate(lines, start=1):
                    if number <= skip_lines or not line.strip():
                        continue
                    rows.append(_json_record(line, name, number) if json_lines else line.rstrip("\r\n"))
                    if len(rows) == chunk_size:
                        table, columns = _record_table(rows, columns, name, number, json_lines=json_lines)
                        yield table
                        rows, given = [], True
            except UnicodeDecodeError:
                raise DataError(
                    f"{name} is not valid {encoding} text (line {number + 1}); "
                    "pass --encoding cp1252 (Windows/Excel) or --encoding latin-1"
                ) from None
            if rows or not given:  # the rest, or the one (perhaps empty) table of an input without posts
                yield _record_table(rows, columns, name, number, json_lines=json_lines)[0]
    finally:
        stream.close()


def _json_record(line: str, name: str, number: int) -> dict[str, str]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(
            f"{name}: line {number} is not valid JSON ({error.msg}); expected one object per line"
        ) from None
    if not isinstance(record, dict):
        raise DataError(
            f'{name}: line {number} is not a JSON object; expected one object per line, such as {{"text": ...}}'
        )
    return {
        str(key): value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)
        for key, value in record.items()
    }


def _record_table(
    rows: list[Any], columns: list[str] | None, name: str, line: int, *, json_lines: bool
) -> tuple[pa.Table, list[str]]:
    """A chunk of lines (each a post) or JSON records as a table, and its columns (a JSON chunk's
    keys set them if no chunk has yet)."""
    if not json_lines:
        return pa.table({LINES_COLUMN: pa.array(rows, pa.string())}), [LINES_COLUMN]
    if columns is None:
        columns = list(dict.fromkeys(key for record in rows for key in record))
    known = set(columns)
    for record in rows:
        if not known.issuperset(record):
            new = next(key for key in record if key not in known)
            raise DataError(
                f"{name}: the key {new!r} first appears near line {line:,}, after the first chunk of posts "
                "set the columns; put a line with every key first"
            )
    return pa.table({c: pa.array([r.get(c, "") for r in rows], pa.string()) for c in columns}), columns


def _longest_text(chunk: pa.Table, besides: tuple[str, ...] | None) -> str | None:
    """The column with the longest text on average, of those not starting with one of `besides`."""
    if besides is None:
        return None
    lengths = {
        column: pc.mean(pc.utf8_length(chunk[column])).as_py() or 0
        for column in chunk.column_names
        if not column.startswith(besides)
    }
    return max(lengths, key=lengths.__getitem__) if any(lengths.values()) else None


def _prepended(first: pa.Table, rest: Iterator[pa.Table]) -> Iterator[pa.Table]:
    try:
        yield first
        yield from rest
    finally:
        rest.close()  # type: ignore[attr-defined]


def _inspect(
    sample: bytes, name: str, encoding: str, delimiter: str | None, *, skip_lines: int | None, header: bool
) -> tuple[str, list[str], int]:
    """Check the start of a CSV and find its delimiter, column names, and the byte its header
    starts at (after the lines skipped)."""
    if b"\x00" in sample and not _is_utf16(encoding):
        raise DataError(f"{name} holds NUL bytes: is it a binary file, or UTF-16 without a BOM (--encoding utf-16)?")
    text_sample = sample.decode(encoding, errors="replace").removeprefix("\ufeff")
    if delimiter is None:
        delimiter = _sniff_delimiter(text_sample)
    skipped = skip_lines if skip_lines is not None else _preamble(text_sample, delimiter) if header else 0
    if skipped and skip_lines is None:
        note = f"skipped {skipped} line(s) above the header of {name}, a report's preamble (--skip-lines N to say)"
        warnings.warn(note, JourneyNote, stacklevel=2)
    start = _line_start(sample, skipped, encoding)
    names = _header(text_sample.split("\n", skipped)[-1] if skipped else text_sample, delimiter)
    if not header:
        return delimiter, [str(number) for number in range(1, len(names) + 1)], start
    duplicates = sorted({column for column in names if names.count(column) > 1})
    if "" in duplicates:
        raise DataError(f"{name} has {names.count('')} columns without a name in its header row; name them")
    if duplicates:
        raise DataError(f"{name} has more than one column named {', '.join(map(repr, duplicates))}; rename them")
    return delimiter, names, start


def _preamble(text: str, delimiter: str) -> int:
    """How many lines a report puts above its header (`Report:,Mentions export`, its dates, a blank
    line): 0 unless the first row is narrower or wider than the data while a later one is a full header.

    A full header is as wide as most rows below it (at least three, and at least half of them),
    with every column named.
    """
    reader = csv.reader(io.StringIO(text[: text.rfind("\n") + 1]), delimiter=delimiter)
    rows: list[list[str]] = []
    starts, consumed = [], 0  # the line each row starts on: a quoted cell may hold line breaks
    try:
        for row in reader:
            starts.append(consumed)
            rows.append(row)
            consumed = reader.line_num
            if len(rows) == _PREAMBLE_LINES + 20:
                break
    except csv.Error:
        return 0
    widths = [len(row) for row in rows if any(cell.strip() for cell in row)]
    width = max(set(widths), key=lambda width: (widths.count(width), width), default=0)
    if widths.count(width) < max(3, len(widths) / 2):
        return 0

    def full(row: list[str]) -> bool:
        return len(row) == width > 1 and all(cell.strip() for cell in row)

    if len(rows[0]) == width:  # as wide as the data: the header (an index column may have no name)
        return 0
    return next((starts[number] for number, row in enumerate(rows[:_PREAMBLE_LINES]) if full(row)), 0)


def _line_start(sample: bytes, lines: int, encoding: str) -> int:
    """The byte offset of line `lines` (from 0) in `sample`."""
    if not lines:
        return 0
    newline = (
        "\n".encode("utf-16-be" if sample.startswith(codecs.BOM_UTF16_BE) else "utf-16-le")
        if _is_utf16(encoding)
        else b"\n"
    )
    start = 0
    for _ in range(lines):
        found = sample.find(newline, start)
        if found < 0:
            raise DataError("the lines to skip run past the first 64 KB of the file; is --skip-lines right?")
        start = found + len(newline)
    return start


def _is_utf16(encoding: str) -> bool:
    return text_codec(encoding).startswith("utf-16")


def _skipped(stream: BinaryIO, count: int) -> BinaryIO:
    """`stream` with its first `count` bytes read and dropped."""
    while count > 0:
        part = stream.read(min(count, _SNIFF_BYTES))
        if not part:
            break
        count -= len(part)
    return stream


def _chunks(open_reader, stream, reopen, name: str, encoding: str, chunk_size: int) -> Generator[pa.Table]:  # type: ignore[no-untyped-def]
    """The rows in tables of at most `chunk_size` rows; one empty table if there are none.

    Each table is handed on only once the next has been read, and the last only once the whole
    input is known to be sound: a quote left open swallows the rest of the file into the last
    row, and that row must never reach the output.
    """
    block_bytes, given, pending = BLOCK_BYTES, 0, None
    try:
        while True:
            try:
                reader = _opened(open_reader, block_bytes, stream, name, encoding)
                read, skip = 0, given
                for batch in _batches(reader, name, encoding, 0):
                    read += len(batch)
                    if stream.nul and not _is_utf16(encoding):
                        raise DataError(f"{name} holds NUL bytes near data row {read}: is part of it binary?")
                    if skip >= len(batch):
                        skip -= len(batch)
                        continue
                    batch, skip = batch.slice(skip), 0
                    for table in _sliced(batch, chunk_size):
                        if pending is not None:
                            yield pending
                            given += len(pending)
                        pending = table
                if stream is not None and stream.quotes % 2:
                    _check_quotes_closed(reopen(), name, encoding)
                yield pending if pending is not None else reader.schema.empty_table()
                return
            except _RowTooLong:
                # Read the file again with larger blocks, skipping the rows already handed on.
                _close(stream)
                reopened, block_bytes, pending = reopen(), block_bytes * 8, None
                stream = _Rewound(b"", reopened) if reopened is not None else None
                if stream is None or block_bytes > _MAX_BLOCK_BYTES:
                    raise DataError(
                        f"{name}: a row is longer than {block_bytes / 8 / 2**20:g} MB; "
                        + ("save the input to a file and pass its path" if stream is None else "is it really a CSV?")
                    ) from None
    finally:
        _close(stream)


class _RowTooLong(Exception):
    pass


def _check_quotes_closed(stream: BinaryIO | None, name: str, encoding: str) -> None:
    """An odd number of quote characters: a quoted field may run to the end of the file.

    Arrow then reads the rest of the file as one cell; a stray quote inside an unquoted field
    (`5" screen`) is fine, so Python's csv module decides which it is. stdin cannot be read twice.
    """
    if stream is None:
        return
    with io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="") as text:
        rows = csv.reader(text, strict=True)
        last_good_line = 0
        try:
            for _ in rows:
                last_good_line = rows.line_num
        except csv.Error:
            raise DataError(
                f"{name}: the quoted field that starts on line {last_good_line + 1} is never closed, so the rest "
                'of the file would be read as one cell; add the missing closing quote (")'
            ) from None


def _batches(reader: pa_csv.CSVStreamingReader, name: str, encoding: str, done: int) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            if "straddling" in str(error):
                raise _RowTooLong from None
            raise DataError(_explain_read_error(name, error, encoding, done)) from None
        done += len(batch)
        yield batch


def _opened(open_reader, block_bytes: int, stream: BinaryIO, name: str, encoding: str):  # type: ignore[no-untyped-def]
    try:
        return open_reader(block_bytes, stream)
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        if "straddling" in str(error):  # the header's block already ends inside a row
            raise _RowTooLong from None
        raise DataError(_explain_read_error(name, error, encoding, 0)) from None


def _close(stream: BinaryIO | None) -> None:
    if stream is not None and stream is not sys.stdin.buffer:
        stream.close()


def _sliced(batch: pa.RecordBatch, chunk_size: int) -> Iterator[pa.Table]:
    for start in range(0, len(batch), chunk_size):
        yield pa.Table.from_batches([batch.slice(start, chunk_size)])


def _header(text_sample: str, delimiter: str) -> list[str]:
    """The first row's cells: the column names, or (without a header) how many columns there are."""
    try:
        return next(csv.reader(io.StringIO(text_sample), delimiter=delimiter), [])
    except csv.Error:
        return []


def _explain_read_error(name: str, error: Exception, encoding: str, rows_done: int) -> str:
    message = str(error)
    where = f"after data row {rows_done}" if rows_done else "near the top"
    if isinstance(error, UnicodeDecodeError) or "invalid UTF8" in message:
        column = re.match(r"In CSV column #(\d+)", message)
        place = f"column {int(column.group(1)) + 1}, " if column else ""
        return (
            f"{name} is not valid {encoding} text ({place}{where}); "
            "pass --encoding cp1252 (Windows/Excel) or --encoding latin-1"
        )
    fields = re.match(r"CSV parse error: (?:Row #(\d+): )?Expected (\d+) columns, got (\d+): (.*)", message, re.DOTALL)
    if fields:
        number, expected, got, row = fields.groups()
        if number:  # newer Arrow says exactly where
            where = f"at row {int(number):,} (the header is row 1)"
        shown = row.splitlines()[0][:60] if row.strip() else ""
        more = "more" if int(got) > int(expected) else "fewer"
        return (
            f"{name}: a row {where} has {got} fields where the header has {expected} ({shown!r}); "
            f"it has {more} fields than the header: check the delimiter (--delimiter) and that quotes are closed"
        )
    first_line = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    return f"cannot read {name} as CSV ({where}): {first_line}; check its delimiter (--delimiter) and quoting"


def _open_binary(source: str | Path) -> BinaryIO:
    """The bytes of a file or stdin, decompressed as they are read if gzip, bzip2 or xz."""
    if str(source) == "-":
        if sys.stdin is None:
            raise DataError("stdin is closed; pass a file, or - with input piped in")
        stream: BinaryIO = sys.stdin.buffer
        name = "stdin"
    else:
        path = Path(source)
        if path.is_dir():
            raise DataError(f"{path} is a directory; pass a CSV file")
        try:
            stream = path.open("rb")
        except FileNotFoundError:
            raise DataError(f"file not found: {path}") from None
        except OSError as error:
            raise DataError(f"cannot open {path}: {error.strerror}") from None
        name = str(path)
    start = stream.peek(8)[:8] if hasattr(stream, "peek") else b""
    for kind, opener in DECOMPRESSED.items():
        if start.startswith(signatures.COMPRESSED[kind]):
            return cast(BinaryIO, _Decompressed(opener(stream), stream, name, kind))
    return stream


def _rows_expected(stream: BinaryIO, sample: bytes) -> int | None:
    """About how many rows a file holds: its size over the bytes per line of its first 64 KB; None
    for a pipe or a compressed file, whose size says nothing of it."""
    if isinstance(stream, _Decompressed) or not sample.count(b"\n"):
        return None
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(status.st_mode):  # stdin counts too, when it is a file
        return None
    return max(1, round(status.st_size * sample.count(b"\n") / len(sample)) - 1)  # the header is a line


class _Decompressed(io.RawIOBase):
    """A compressed stream read as its contents; a damaged one is a one-line error, not a traceback."""

    def __init__(self, inner: io.BufferedIOBase, raw: BinaryIO, name: str, kind: str) -> None:
        self._inner, self._raw, self._name, self._kind = inner, raw, name, kind

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError) as error:
            raise DataError(f"{self._name} is damaged {self._kind} data ({error}); is the file complete?") from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        _close(self._raw)
        super().close()


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
        self.quotes = head.count(b'"')  # quote characters seen, to notice a quote never closed
        self.nul = False  # a NUL byte seen after the sample (checked when it was read)

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
        self.quotes += data.count(b'"')
        self.nul = self.nul or b"\x00" in data
        return len(data)

    def close(self) -> None:
        if self._rest is not sys.stdin.buffer:
            self._rest.close()
        super().close()
