"""Write classified rows as CSV, TSV, JSON lines or xlsx, and replace files only once they are complete.

Post text is written by strangers. A spreadsheet runs a cell that starts with `=`, `+`, `-` or
`@` as a formula (OWASP's "CSV injection": `=HYPERLINK(...)`, `=cmd|' /C calc'!A0`), and a
leading tab or carriage return can hide such a start. So in CSV and TSV every such cell and
column name gets OWASP's leading single quote, which makes the spreadsheet show it as text,
unless `raw` is asked for. Plain numbers (`-3`, `+1.5e3`) are left alone: a spreadsheet can
only read them as numbers. JSON lines are never changed, and nor is xlsx text: a cell typed as
text is never run.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from . import signatures
from .errors import DataError, JourneyNote, JourneyWarning, missing_extra

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd
    from openpyxl.cell.cell import Cell

    from .reading import InputOptions

FORMATS = ("csv", "tsv", "jsonl")

FORMULA_START = r"^[=+\-@\t\r]"
"""What makes a spreadsheet treat a cell as a formula (OWASP's list)."""
_LINE_SEPARATORS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}
PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def write_table(chunks: Iterable[pa.Table], out: IO[bytes], fmt: str = "csv", *, raw: bool = False) -> int:
    """Write the chunks one after the other as one UTF-8 table; returns the number of rows written."""
    if fmt not in FORMATS:
        raise DataError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    rows = 0
    for index, chunk in enumerate(chunks):
        out.write(encode_chunk(chunk, fmt, header=index == 0, raw=raw))
        rows += len(chunk)
    return rows


def encode_chunk(chunk: pa.Table, fmt: str, *, header: bool, raw: bool = False) -> bytes | memoryview:
    """One chunk's rows as bytes of CSV (with the header line if `header`), TSV or JSON lines.

    Unless `raw`, CSV and TSV cells and column names that a spreadsheet would run as a formula
    start with a single quote (see the module's notes).
    """
    if fmt == "jsonl":
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in chunk.to_pylist())
        # Escaped, as JSON allows: some line readers (Python's splitlines, old JavaScript) split on these.
        return text.translate(_LINE_SEPARATORS).encode()
    delimiter = "\t" if fmt == "tsv" else ","
    width = chunk.num_columns
    lines = _lines([_cells(column, delimiter, width, raw) for column in chunk.columns], delimiter)
    body = _data(lines) if len(chunk) else b""
    if not header:
        return body
    names = [_cells(pa.array([name], pa.string()), delimiter, width, raw) for name in chunk.column_names]
    return bytes(_data(_lines(names, delimiter))) + bytes(body)


def neutralise(column: pa.Array) -> pa.Array:
    """Strings a spreadsheet would run as formulas, prefixed with a single quote; others unchanged.

    >>> neutralise(pa.array(["=HYPERLINK(1)", "@united help", "-3", "fine"])).to_pylist()
    ["'=HYPERLINK(1)", "'@united help", '-3', 'fine']
    """
    starts = pc.match_substring_regex(column, FORMULA_START)
    if not pc.any(starts).as_py():  # the usual case: one pass, no copy
        return column
    risky = pc.and_not(starts, pc.match_substring_regex(column, PLAIN_NUMBER))
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def unneutralise(column: pa.Array) -> pa.Array:
    """The inverse of `neutralise`: the single quote it added taken away, and nothing else (a post's
    own leading quotes stay).

    >>> unneutralise(pa.array(["'=HYPERLINK(1)", "'@united help", "''Tis the season"])).to_pylist()
    ['=HYPERLINK(1)', '@united help', "''Tis the season"]
    """
    marked = pc.match_substring_regex(column, "^'" + FORMULA_START.removeprefix("^"))
    if not pc.any(marked).as_py():
        return column
    rest = pc.utf8_slice_codeunits(column, 1)
    added = pc.and_not(marked, pc.match_substring_regex(rest, PLAIN_NUMBER))
    return pc.if_else(added, rest, column)


def _cells(column: pa.Array | pa.ChunkedArray, delimiter: str, width: int, raw: bool = False) -> pa.Array:
    """A column as CSV cells: quoted (quotes doubled) where it holds the delimiter, a quote or a line end.

    Every cell holding a carriage return is quoted too: Python's csv writer leaves a lone "\r"
    bare, and readers split the row there. Unless `raw`, formula-like cells are neutralised first.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):  # a few distinct values: quote each once
        return _cells(column.dictionary, delimiter, width, raw).take(column.indices)
    column = _text_column(column, raw)
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
def replacing(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; it replaces `path` only if the block finishes.

    A crash, Ctrl-C or full disk part-way leaves whatever was at `path` before untouched. A file
    that was there keeps its permissions, and a symbolic link keeps pointing at the new content.
    """
    path = Path(path)
    if _is_special(path):  # a device or pipe such as /dev/stdout: write straight into it
        with open(path, mode, encoding=encoding if "b" not in mode else None) as stream:
            yield stream
        return
    path = _through_links(path)
    check_writable(path)
    directory = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        # mkstemp makes the file private (0600); give it the old file's permissions, else those a
        # plain open() would.
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode) if path.is_file() else 0o666 & ~_current_umask())
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


def check_writable(path: Path) -> None:
    """Refuse, before any work, an output path that could never be written (devices and pipes pass)."""
    if _is_special(path):
        return
    path = _through_links(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a file name inside it, such as {path / 'out.csv'}")
    if not path.parent.is_dir():
        raise DataError(f"cannot write {path}: folder {path.parent} does not exist")


def check_outputs(
    inputs: Iterable[str | Path | None], outputs: Iterable[Path | None], *, stdout: bool, xlsx: bool = False
) -> None:
    """Refuse, before any work, outputs that cannot be written or that would replace an input.

    Inputs are compared by file identity, so `-` (stdin redirected from a file), links and other
    spellings of the same file are caught, and so is stdout (`>> posts.csv`) if `stdout` is written.
    An `xlsx` workbook is binary, so it is never written to a terminal.
    """
    import sys

    if xlsx and stdout and sys.stdout is not None and sys.stdout.isatty():
        raise DataError("an xlsx file is binary: pass --output FILE.xlsx (or redirect stdout to a file)")
    read = {identity: given for given in inputs if (identity := _identity(given)) is not None}
    written: set[object] = set()
    given_outputs: list[str | Path] = [*(["<stdout>"] if stdout else []), *(o for o in outputs if o is not None)]
    for output in given_outputs:
        if output != "<stdout>":
            check_writable(Path(output))
        identity = _identity(output)
        shown = "stdout" if output == "<stdout>" else str(output)
        if identity in read:
            raise DataError(f"{shown} is also an input ({read[identity]}); write to another file so the input is kept")
        key = identity or (output if output == "<stdout>" else str(Path(output).resolve()))
        if key in written:
            raise DataError(f"{shown} is given for two outputs; give each its own file")
        written.add(key)


def _identity(given: str | Path | None) -> tuple[int, int] | None:
    """(device, inode) of a regular file named by `given` ("-": stdin, "<stdout>": stdout), if there is one."""
    import io
    import sys

    try:
        if given in ("-", "<stdout>"):
            stream = sys.stdin if given == "-" else sys.stdout
            if stream is None:
                return None
            status = os.fstat(stream.fileno())
        elif given is None:
            return None
        else:
            status = os.stat(given)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    return (status.st_dev, status.st_ino) if stat.S_ISREG(status.st_mode) else None


@contextlib.contextmanager
def output_stream(output: Path | None) -> Iterator[IO[bytes]]:
    """stdout's bytes, or a file that replaces `output` only once complete (a failed run leaves no half file)."""
    import sys

    if output is None:
        if sys.stdout is None:
            raise DataError("stdout is closed; pass --output FILE")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with replacing(output, "wb") as stream:
        yield stream


def write_rows(frame: pd.DataFrame, output: Path | None, *, raw: bool = False, add_bom: bool = False) -> None:
    """Write a pandas DataFrame as CSV to stdout or, once complete, to `output`."""
    with output_stream(output) as stream:
        if add_bom:
            stream.write(codecs.BOM_UTF8)
        write_table([pa.Table.from_pandas(frame.astype(str), preserve_index=False)], stream, raw=raw)


def _through_links(path: Path) -> Path:
    """Where a symbolic link leads (the file written is its target); any other path as it is."""
    if not path.is_symlink():
        return path
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # RuntimeError before Python 3.13, OSError (ELOOP) after
        raise DataError(f"cannot write {path}: its symbolic links go round in a loop") from None


def _is_special(path: Path) -> bool:
    """A path that is not a plain file to replace: a device, a pipe, or a /dev or /proc name."""
    if str(path).startswith(("/dev/", "/proc/")):
        return True
    try:
        return path.exists() and not path.is_file() and not path.is_dir()
    except OSError:
        return False


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


XLSX_MAX_ROWS = 1_048_576
"""Rows an Excel sheet holds, the header included."""
XLSX_MAX_CHARACTERS = 32_767
"""Characters an Excel cell holds."""
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0, and so an xlsx file, cannot hold (openpyxl checks only the first group)."""
XLSX_NUMBER = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$"
"""A cell written to xlsx as a number: a plain decimal. A leading zero (`007`: an id or a zip code),
a `+` (`+14155550100`: a phone number), an exponent, a thousands separator, `inf` or `nan` keeps a
cell text, as the number would not show what was written."""
EXCEL_DIGITS = 15
"""Significant digits Excel keeps: a longer number (a 19-digit tweet id) stays text, else it would change."""
_DAY = r"(?:19|[2-9][0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}"
_TIME = r"[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,3})?)?"
XLSX_DATE = f"^{_DAY}(?:{_TIME})?$"
"""A cell written to xlsx as a date: ISO 8601 from 1900 (Excel's first year) to the millisecond
(Excel's finest). A cell holds no time zone, so times with an offset (`+02:00`) stay text, and a
column's times are all without a zone, or all in UTC (`XLSX_UTC_DATE`, shown in UTC)."""
XLSX_UTC_DATE = f"^{_DAY}(?:{_TIME}Z)?$"
_KINDS = {"number": "numbers", "date": "dates", "utc": "dates in UTC"}
"""The types an xlsx column of text can be written as, tried in this order, and how a note names them."""


def check_xlsx_rows(source: InputOptions, path: str | Path) -> None:
    """Refuse, before anything is classified or written, an input file (found readable already) with
    more posts than an Excel sheet holds; a file too small to hold that many is not read again."""
    from .reading import DECOMPRESSED

    if str(path) == "-":
        return
    with open(path, "rb") as file:
        compressed = file.read(8).startswith(tuple(signatures.COMPRESSED[kind] for kind in DECOMPRESSED))
    if os.path.getsize(path) < XLSX_MAX_ROWS and not compressed:
        return
    table = source.read(path, chunk_size=1 << 20)
    rows = 0
    for chunk in table.chunks:
        rows += len(chunk)
        if rows >= XLSX_MAX_ROWS:
            table.close()
            raise DataError(
                f"{table.name} has more than the {XLSX_MAX_ROWS - 1:,} posts an Excel sheet holds; use --format csv"
            )


_DATE_LENGTHS = pa.array([10, 16, 19])
_DATE_FORMATS = pa.array(["yyyy-mm-dd", "yyyy-mm-dd hh:mm", "yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd hh:mm:ss.000"])
"""A date's number format by the length of its text without `Z`, so it shows as precisely as written."""


def write_xlsx(chunks: Iterable[pa.Table], out: IO[bytes], *, raw: bool = False) -> int:
    """Write the chunks as one Excel sheet: a bold, frozen header and columns sized to their text.

    A text cell holds exactly its text and is typed as text, so a post starting with `=` or `@` is
    never a formula and needs no leading quote (`raw` is for CSV; it changes nothing here). Numbers
    and dates are written as such, to sort, sum and filter: the confidences, and each input column
    whose every non-empty cell is a number Excel holds exactly (`XLSX_NUMBER`: one `007` or 19-digit
    id keeps the column text) or an ISO date (`XLSX_DATE`), formatted as precisely as written. The
    sheet is written chunk by chunk, so that is settled on the first chunk with a value in the
    column; a later cell that does not fit is written as text, exactly as read, with a note naming
    its row, so no value is ever lost or changed. Empty cells stay empty. Characters that an xlsx
    file cannot hold are removed and a cell over Excel's 32,767 characters is cut, each with a
    warning naming the first row. Returns the number of rows written.
    """
    try:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter
    except ImportError:
        raise missing_extra("--format xlsx", "xlsx") from None
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("journey")
    bold = Font(bold=True)
    rows = 0
    changed: dict[str, list[int]] = {"cut": [], "removed": []}  # the rows of cells changed to fit
    names: list[str] = []
    kinds: list[str | None] = []  # per column "number", "date" or "text"; None until a value is seen
    strays: dict[int, list[int]] = {}  # per typed column, the rows of cells written as text

    def cell(value: object, row: int, font: Font | None = None) -> object:
        if not isinstance(value, str):
            return value  # a number, a date's cell, or None for an empty cell
        if not value:
            return None  # no cell at all, as in any spreadsheet
        fitted = _NOT_XML.sub("", value)
        if fitted != value:
            changed["removed"].append(row)
        if len(fitted) > XLSX_MAX_CHARACTERS // 2 and len(fitted.encode("utf-16-le")) > 2 * XLSX_MAX_CHARACTERS:
            # Excel counts UTF-16 units (an emoji is two); never keep half of one.
            fitted = fitted.encode("utf-16-le")[: 2 * XLSX_MAX_CHARACTERS].decode("utf-16-le", "ignore")
            changed["cut"].append(row)
        written = WriteOnlyCell(sheet, fitted)
        written.data_type = "s"  # text, never a formula
        if font is not None:
            written.font = font
        return written

    def date_cell(value: datetime, number_format: str) -> Cell:
        written = WriteOnlyCell(sheet, value)
        written.number_format = number_format
        return written

    def values(position: int, column: pa.Array | pa.ChunkedArray, first_row: int) -> list[Any]:
        """One column of a chunk as the values to write: numbers, dates' cells, or text."""
        if _is_number(column.type):
            return column.to_pylist()
        text = _text_column(column, raw=True)  # typed as text, a cell is inert: no quote needed
        if kinds[position] is None and pc.any(pc.not_equal(text, "")).as_py():
            kinds[position] = _kind_of(text)
        kind = kinds[position]
        if kind not in _KINDS:
            return text.to_pylist()
        typed_array, formats = _typed(text, kind)
        if formats is None:
            typed: list[Any] = typed_array.to_pylist()
        else:
            typed = [
                None if stamp is None else date_cell(stamp, number_format)
                for stamp, number_format in zip(typed_array.to_pylist(), formats.to_pylist(), strict=True)
            ]
        stray = pc.indices_nonzero(pc.and_(pc.not_equal(text, ""), pc.is_null(typed_array)))
        if len(stray):  # not of the column's type: written as text, exactly as read
            for index, value in zip(stray.to_pylist(), text.take(stray).to_pylist(), strict=True):
                typed[index] = value
                strays.setdefault(position, []).append(first_row + index)
        return typed

    try:
        for index, chunk in enumerate(chunks):
            if index == 0:
                names = chunk.column_names
                kinds = [None] * chunk.num_columns
                for number, (name, column) in enumerate(zip(names, chunk.columns, strict=True), start=1):
                    text = _text_column(column[:1000], raw=True)
                    sample = pc.max(pc.utf8_length(text)).as_py() if len(text) else 0
                    width = min(max(len(name), sample or 0) + 2, 60)
                    sheet.column_dimensions[get_column_letter(number)].width = width
                sheet.freeze_panes = "A2"
                sheet.append([cell(name, 1, bold) for name in names])
            if rows + len(chunk) >= XLSX_MAX_ROWS:
                raise DataError(f"an Excel sheet holds at most {XLSX_MAX_ROWS - 1:,} rows; use --format csv for more")
            columns = [values(position, column, rows + 2) for position, column in enumerate(chunk.columns)]
            for row, row_values in enumerate(zip(*columns, strict=True), rows + 2):
                sheet.append([cell(value, row) for value in row_values])
            rows += len(chunk)
    except BaseException:
        with contextlib.suppress(Exception):
            sheet.close()  # so that openpyxl's row writer does not complain at exit about a file gone
        raise
    for what, rows_changed in changed.items():
        if rows_changed:
            problem = (
                f"longer than Excel's {XLSX_MAX_CHARACTERS:,} characters were cut"
                if what == "cut"
                else "held control characters an xlsx file cannot store, which were removed"
            )
            first = rows_changed[0]
            warnings.warn(
                f"{len(rows_changed):,} cell(s) {problem}, the first on row {first:,}; --format csv keeps them whole",
                JourneyWarning,
                stacklevel=2,
            )
    for position, stray_rows in strays.items():
        warnings.warn(
            f"column {names[position]!r} is written as {_KINDS[str(kinds[position])]}, as its first rows are, but "
            f"{len(stray_rows):,} cell(s) further down are not and were written as text, the first on "
            f"row {stray_rows[0]:,}",
            JourneyNote,
            stacklevel=2,
        )
    # Built whole first, then copied: a reader that goes away (`| head`) or a full disk then meets a
    # plain copy, not openpyxl half-way through its zip.
    with tempfile.TemporaryFile() as built:
        workbook.save(built)
        built.seek(0)
        shutil.copyfileobj(built, out)
    return rows


def _kind_of(text: pa.Array) -> str:
    """The first of `_KINDS` that every non-empty cell is, as xlsx holds it exactly; else "text"."""
    filled = pc.sum(pc.not_equal(text, "")).as_py()
    for kind in _KINDS:
        typed, _ = _typed(text, kind)
        if len(typed) - typed.null_count == filled:
            return kind
    return "text"


def _typed(text: pa.Array, kind: str) -> tuple[pa.Array, pa.Array | None]:
    """Each cell as a number or date of `kind` where it is one, else null; for dates, the number
    format that shows each as precisely as it is written."""
    if kind == "number":
        return _xlsx_numbers(text), None
    return _xlsx_dates(text, utc=kind == "utc")


def _xlsx_numbers(text: pa.Array) -> pa.Array:
    """Each cell as a number where it is one Excel holds exactly (see `XLSX_NUMBER`), else null.

    >>> _xlsx_numbers(pa.array(["45492", "-1.50", "007", "+1", "1e3", "1234567890123456789", ""])).to_pylist()
    [45492.0, -1.5, None, None, None, None, None]
    """
    plain = pc.match_substring_regex(text, XLSX_NUMBER)
    if not pc.any(plain).as_py():  # a column of words: one pass
        return pa.nulls(len(text), pa.float64())
    digits = pc.utf8_ltrim(pc.replace_substring_regex(text, "[^0-9]", ""), "0")
    exact = pc.and_(plain, pc.less_equal(pc.utf8_length(digits), EXCEL_DIGITS))
    whole = not pc.any(pc.and_(exact, pc.match_substring(text, "."))).as_py()
    return pc.cast(pc.if_else(exact, text, pa.scalar(None, pa.string())), pa.int64() if whole else pa.float64())


def _xlsx_dates(text: pa.Array, *, utc: bool) -> tuple[pa.Array, pa.Array]:
    """Each cell as a timestamp where it is a date Excel holds (see `XLSX_DATE`) with a time in UTC
    if `utc`, with no zone if not, else null; and the number format that shows it as written.

    >>> stamps, formats = _xlsx_dates(pa.array(["2024-03-05 14:02", "2024-02-30", "2024-03-05T14:02Z"]), utc=False)
    >>> stamps.to_pylist(), formats[0].as_py()
    ([datetime.datetime(2024, 3, 5, 14, 2), None, None], 'yyyy-mm-dd hh:mm')
    """
    shaped = pc.match_substring_regex(text, XLSX_UTC_DATE if utc else XLSX_DATE)
    if not pc.any(shaped).as_py():
        return pa.nulls(len(text), pa.timestamp("ms")), pa.nulls(len(text), pa.string())
    local = pc.if_else(shaped, pc.utf8_rtrim(text, "Z"), pa.scalar(None, pa.string()))
    try:
        stamps = pc.cast(local, pa.timestamp("ms"))
    except pa.ArrowInvalid:  # a day not in the calendar (2024-02-30), a 24:00: only such cells stay text
        stamps = pa.array([_timestamp(value) for value in local.to_pylist()], pa.timestamp("ms"))
    formats = pc.take(_DATE_FORMATS, pc.fill_null(pc.index_in(pc.utf8_length(local), _DATE_LENGTHS), 3))
    return stamps, formats


def _timestamp(value: str | None) -> Any:
    """One cell as Arrow's strict cast reads it (a datetime), or None."""
    try:
        return None if value is None else pc.cast(pa.array([value]), pa.timestamp("ms"))[0].as_py()
    except pa.ArrowInvalid:
        return None


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_floating(kind) or pa.types.is_integer(kind)


def _text_column(column: pa.Array | pa.ChunkedArray, raw: bool) -> pa.Array:
    """A column as strings, nulls as empty, formula-like cells neutralised unless `raw`."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    column = pc.fill_null(column, "")
    return column if raw else neutralise(column)
