"""Read CSV exports of posts in chunks, keeping every cell exactly as it was written."""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv

from . import signatures
from .errors import DataError

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
    signatures.COMPRESSED["gzip"]: "gzip-compressed; decompress it first (gunzip)",
    signatures.COMPRESSED["bz2"]: "bzip2-compressed; decompress it first (bunzip2)",
    signatures.COMPRESSED["xz"]: "xz-compressed; decompress it first (unxz)",
    **signatures.DOCUMENTS,
}
"""Starts of files people pass by mistake, and what to tell them."""
_SNIFF_BYTES = 64 * 1024


@dataclass
class PostTable:
    """An open CSV of posts: its columns, which one holds the text, and its rows in chunks.

    Every chunk is an Arrow table of the file's columns, all text, cells exactly as written.
    """

    name: str
    columns: list[str]
    text_column: str
    chunks: Iterator[pa.Table]
    bom: bool = False  # the file starts with a UTF-8 BOM (Excel's "CSV UTF-8"): its outputs get one too

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


def find_text_column(columns: list[str], wanted: str | None = None) -> str:
    """The column that holds the post text: `wanted` if given, else the first well-known name."""
    listing = ", ".join(columns) if columns else "(none)"
    if wanted is not None:
        if wanted in columns:
            return wanted
        close = difflib.get_close_matches(wanted, columns, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise DataError(f"text column '{wanted}' not found; {hint}columns are {listing}")
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
    """How to read an input file: the options every command that reads posts shares."""

    text_column: str | None = None
    encoding: str = "utf-8-sig"
    delimiter: str | None = None

    def read(self, source: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> PostTable:
        """`read_posts` with these options."""
        return read_posts(
            source,
            text_column=self.text_column,
            encoding=self.encoding,
            delimiter=self.delimiter,
            chunk_size=chunk_size,
        )


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
        codec = text_codec(encoding)
    except LookupError as error:
        raise DataError(str(error)) from None
    stream = _open_binary(source)
    try:
        delimiter, header, codec, encoding, sample = _inspect(stream, name, encoding, codec, delimiter)
    except BaseException:
        _close(stream)
        raise

    def open_reader(block_bytes: int, stream: BinaryIO) -> pa_csv.CSVStreamingReader:
        return pa_csv.open_csv(
            stream,
            # Arrow skips a UTF-8 BOM itself; other encodings are decoded by Python's codecs.
            read_options=pa_csv.ReadOptions(
                block_size=block_bytes, encoding="utf8" if codec.startswith("utf-8") else encoding
            ),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    def reopen() -> BinaryIO | None:
        return None if name == "stdin" else _open_binary(source)

    chunks = _chunks(open_reader, _Rewound(sample, stream), reopen, name, encoding, chunk_size)
    # The first chunk is read now: a missing text column or a broken first row is reported
    # before any output is written.
    first = next(chunks)
    columns = first.column_names
    try:
        found = find_text_column(columns, text_column)
    except DataError:
        chunks.close()
        raise
    return PostTable(name, columns, found, _prepended(first, chunks), bom=sample.startswith(codecs.BOM_UTF8))


def _prepended(first: pa.Table, rest: Iterator[pa.Table]) -> Iterator[pa.Table]:
    try:
        yield first
        yield from rest
    finally:
        rest.close()  # type: ignore[attr-defined]


def _inspect(
    stream: BinaryIO, name: str, encoding: str, codec: str, delimiter: str | None
) -> tuple[str, list[str], str, str, bytes]:
    """Check the start of the input and find its delimiter, header and real encoding."""
    sample = _read_sample(stream)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and codec.startswith("utf-8"):
        codec = encoding = "utf-16"  # what Excel writes for "Unicode Text"; its BOM says so unambiguously
    if not sample.strip():
        raise DataError(f"{name} is empty; expected a CSV with a header row")
    for magic, what in _NOT_CSV.items():
        if sample.startswith(magic):
            raise DataError(f"{name} is not a CSV but {what}")
    if b"\x00" in sample and not codec.startswith("utf-16"):
        raise DataError(f"{name} holds NUL bytes: is it a binary file, or UTF-16 without a BOM (--encoding utf-16)?")
    text_sample = sample.decode(encoding, errors="replace").removeprefix("\ufeff")
    if delimiter is None:
        delimiter = _sniff_delimiter(text_sample)
    header = _header(text_sample, delimiter)
    duplicates = sorted({column for column in header if header.count(column) > 1})
    if "" in duplicates:
        raise DataError(f"{name} has {header.count('')} columns without a name in its header row; name them")
    if duplicates:
        raise DataError(f"{name} has more than one column named {', '.join(map(repr, duplicates))}; rename them")
    return delimiter, header, codec, encoding, sample


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
                    if stream.nul and not encoding.lower().replace("_", "-").startswith("utf-16"):
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
    if str(source) == "-":
        if sys.stdin is None:
            raise DataError("stdin is closed; pass a file, or - with input piped in")
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
