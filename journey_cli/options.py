"""The command line's options that several commands share, and the choices options take, declared once."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from .reading import InputOptions


def _known_encoding(value: str | None) -> str | None:
    from .reading import text_codec

    try:
        if value is not None:
            text_codec(value)
    except LookupError as error:
        raise typer.BadParameter(str(error)) from None
    return value


def _one_character(value: str | None) -> str | None:
    from .reading import delimiter_character

    try:
        return None if value is None else delimiter_character(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


class InputFormat(str, Enum):  # reading.INPUT_FORMATS, declared here so that --help never imports reading
    auto = "auto"
    csv = "csv"
    jsonl = "jsonl"
    lines = "lines"


_INPUT_PARAMETERS = [
    inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)
    for name, default, annotation in [
        (
            "text_column",
            None,
            Annotated[
                list[str] | None,
                typer.Option(
                    "--text-column",
                    "-t",
                    metavar="COLUMN",
                    help="Column with the post text [default: found by name]. Give it twice to join two columns "
                    "(a subject, then a body); with --no-header, a column number.",
                ),
            ],
        ),
        (
            "input_format",
            InputFormat.auto,
            Annotated[
                InputFormat,
                typer.Option(
                    help="csv (any delimiter), jsonl (a JSON object per line) or lines (plain text, a post per "
                    "line); auto goes by the file's name, then its first character. Any of them may be .gz, .bz2 "
                    "or .xz."
                ),
            ],
        ),
        (
            "encoding",
            None,
            Annotated[
                str | None,
                typer.Option(
                    callback=_known_encoding,
                    metavar="NAME",
                    help="Input encoding, such as utf-8, cp1252 or latin-1 [default: UTF-8, or cp1252 if the file "
                    "is not UTF-8]. A BOM is always removed.",
                ),
            ],
        ),
        (
            "delimiter",
            None,
            Annotated[
                str | None,
                typer.Option(callback=_one_character, help="CSV delimiter, one character or tab [default: sniffed]."),
            ],
        ),
        (
            "skip_lines",
            None,
            Annotated[
                int | None,
                typer.Option(
                    min=0, metavar="N", help="Lines to skip above the header [default: a report's preamble is found]."
                ),
            ],
        ),
        (
            "no_header",
            False,
            Annotated[
                bool, typer.Option("--no-header", help="The first row is a post: columns are numbered 1, 2, 3...")
            ],
        ),
    ]
]
Input = Annotated["InputOptions", "the input options"]
"""A command's `source: Input` parameter: how to read its input, from the options `reads_posts` adds."""


def reads_posts(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the input options every command that reads posts shares (text column,
    format, encoding, delimiter, lines to skip, header), handed to it as one `source: Input`."""
    signature = inspect.signature(command, eval_str=True)
    parameters = [
        added
        for parameter in signature.parameters.values()
        for added in (_INPUT_PARAMETERS if parameter.name == "source" else [parameter])
    ]
    names = [parameter.name for parameter in _INPUT_PARAMETERS]

    @functools.wraps(command)
    def with_source(**values: Any) -> None:
        from .reading import InputOptions

        given = {name: values.pop(name) for name in names}
        columns = tuple(given.pop("text_column") or ())
        source = InputOptions(
            text_column=columns[0] if len(columns) == 1 else columns or None,
            header=not given.pop("no_header"),
            input_format=given.pop("input_format").value,
            **given,
        )
        command(**values, source=source)

    with_source.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    with_source.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return with_source


ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="Model file, or fast / accurate for a bundled one [default: your trained model, else the accurate one].",
    ),
]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")]
AddBomOption = Annotated[
    bool | None,
    typer.Option(
        "--add-bom/--no-bom",
        help="Start CSV or TSV with a UTF-8 BOM, so Excel opens it right by double-click [default: as the input].",
        show_default=False,
    ),
]
RawOption = Annotated[
    bool,
    typer.Option(
        "--raw",
        help="Write CSV and TSV cells exactly as read. By default cells that a spreadsheet would run as a formula "
        "(starting with = + - @, tab or CR) get a leading ' (see Security in the README); xlsx cells are always "
        "exact.",
    ),
]


class Engine(str, Enum):
    local = "local"
    dask = "dask"


class OutputFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"
    xlsx = "xlsx"


class ModelKind(str, Enum):  # model.MODEL_KINDS, declared here so that --help never imports the model
    fast = "fast"
    accurate = "accurate"


class StagesFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"journey {__version__}")
        raise typer.Exit()


VersionOption = Annotated[
    bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
]
# Read by console.OneLineErrors, which turns errors into `Error:` lines.
DebugOption = Annotated[
    bool, typer.Option("--debug", envvar="JOURNEY_DEBUG", help="Show the full traceback behind an Error: line.")
]
