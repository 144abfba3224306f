"""The command line's options that several commands share, and the choices options take, declared once."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

TextColumnOption = Annotated[
    str | None, typer.Option("--text-column", "-t", help="Column with the post text [default: found by name].")
]


def _known_encoding(value: str) -> str:
    from .reading import text_codec

    try:
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


EncodingOption = Annotated[
    str, typer.Option(callback=_known_encoding, help="Input encoding (a BOM is always removed).")
]
DelimiterOption = Annotated[
    str | None, typer.Option(callback=_one_character, help="Input delimiter, one character or tab [default: sniffed].")
]
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
        help="Write cells exactly as read. By default cells that a spreadsheet would run as a formula "
        "(starting with = + - @, tab or CR) get a leading ' (see Security in the README).",
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
