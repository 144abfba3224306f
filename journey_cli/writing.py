"""Write classified rows as CSV, TSV or JSON lines, and replace files only once they are complete.

Post text is written by strangers. A spreadsheet runs a cell that starts with `=`, `+`, `-` or
`@` as a formula (OWASP's "CSV injection": `=HYPERLINK(...)`, `=cmd|' /C calc'!A0`), and a
leading tab or carriage return can hide such a start. So in CSV and TSV every such cell and
column name gets OWASP's leading single quote, which makes the spreadsheet show it as text,
unless `raw` is asked for. Plain numbers (`-3`, `+1.5e3`) are left alone: a spreadsheet can
only read them as numbers. JSON lines are never changed.
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

from .errors import DataError, JourneyWarning, missing_extra

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.cell.cell import Cell

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


def write_xlsx(chunks: Iterable[pa.Table], out: IO[bytes], *, raw: bool = False) -> int:
    """Write the chunks as one Excel sheet: a bold, frozen header and columns sized to their text.

    Numeric columns (the confidences) are numbers, to sort, average and format; every other cell
    is text (a post starting with `=` is never a live formula, even with `raw`); unless `raw`,
    formula-like cells also get OWASP's leading quote, as in CSV, so that they stay inert if the
    sheet is saved as CSV again. Characters that an xlsx file cannot hold are removed and a cell
    over Excel's 32,767 characters is cut, each with a warning naming the first row. Returns the
    number of rows written.
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

    def cell(value: str | float | None, row: int, font: Font | None = None) -> Cell | float | None:
        if not isinstance(value, str):
            return value  # a number, or None for an empty cell
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

    try:
        for index, chunk in enumerate(chunks):
            columns = [column if _is_number(column.type) else _text_column(column, raw) for column in chunk.columns]
            if index == 0:
                names = _text_column(pa.array(chunk.column_names, pa.string()), raw).to_pylist()
                for number, (name, column) in enumerate(zip(names, columns, strict=True), start=1):
                    sample = pc.max(pc.utf8_length(column[:1000].cast(pa.string()))).as_py() if len(column) else 0
                    width = min(max(len(name), sample or 0) + 2, 60)
                    sheet.column_dimensions[get_column_letter(number)].width = width
                sheet.freeze_panes = "A2"
                sheet.append([cell(name, 1, bold) for name in names])
            if rows + len(chunk) >= XLSX_MAX_ROWS:
                raise DataError(f"an Excel sheet holds at most {XLSX_MAX_ROWS - 1:,} rows; use --format csv for more")
            for row, values in enumerate(zip(*(column.to_pylist() for column in columns), strict=True), rows + 2):
                sheet.append([cell(value, row) for value in values])
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
    # Built whole first, then copied: a reader that goes away (`| head`) or a full disk then meets a
    # plain copy, not openpyxl half-way through its zip.
    with tempfile.TemporaryFile() as built:
        workbook.save(built)
        built.seek(0)
        shutil.copyfileobj(built, out)
    return rows


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
