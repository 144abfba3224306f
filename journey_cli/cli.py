"""The `journey` command line: parse options, call the library, turn its errors into exit codes."""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import signal
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from typer.core import TyperGroup

from .errors import JourneyError

# Click's exception classes, found through typer's public BadParameter (typer may vendor Click).
_UsageError: type[Any] = next(kind for kind in typer.BadParameter.__mro__ if kind.__name__ == "UsageError")


class _OneLineUsageErrors(TyperGroup):
    """Usage errors as one `Error:` line on stderr and exit 2, instead of Click's three-line block."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except _UsageError as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # `journey` alone: show the help
                error.show()
                sys.exit(2)
            command = error.ctx.command_path if error.ctx is not None else "journey"
            argv = kwargs.get("args", args[0] if args else None)
            given = [arg for arg in (sys.argv[1:] if argv is None else argv) if not arg.startswith("-")][:1]
            if command == "journey" and given and given[0] in self.commands:  # Click lost the command's context
                command = f"journey {given[0]}"
            # A BadParameter about no one option is about options that clash: its message says it all.
            clash = isinstance(error, typer.BadParameter) and error.param is None and error.param_hint is None
            message = error.message if clash else error.format_message().replace("Value error, ", "")
            if command == "journey classify" and message.startswith("Got unexpected extra"):  # an expanded pattern
                message += "; for many files, quote the pattern: --engine dask 'exports/*.csv'"
            _say(f"Error: {printable(message)} (see '{command} -h')")
            sys.exit(2)
        except typer.Abort:
            _say("Interrupted; no output file was changed.")
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="journey",
    cls=_OneLineUsageErrors,
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# Options several commands share, declared once.
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
    if value is None:
        return None
    value = {"\\t": "\t", "tab": "\t"}.get(value, value)
    if len(value) != 1 or value in '"\r\n':
        raise typer.BadParameter(
            "the delimiter is one character other than a quote or a line end, such as , ; | or tab"
        )
    return value


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
        help="Model file, or fast / accurate for a bundled one [default: your trained model, else the fast one].",
    ),
]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")]
AddBomOption = Annotated[
    bool, typer.Option("--add-bom", help="Start CSV or TSV with a UTF-8 BOM, so Excel opens it right by double-click.")
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


class ModelKind(str, Enum):
    fast = "fast"
    accurate = "accurate"


def _say(message: str) -> None:
    """A message for the user on stderr; control characters (from file names, say) are shown escaped."""
    typer.echo("\n".join(printable(line) for line in message.split("\n")), err=True)


def _show(text: str) -> None:
    """Text for people on stdout (a report, the stages), with control characters shown escaped."""
    if sys.stdout is None:
        raise JourneyError("stdout is closed; redirect it to a file")
    typer.echo("\n".join(printable(line) for line in text.split("\n")))


def printable(text: str) -> str:
    """Text safe to show on a terminal, on one line: control characters (escape sequences that could
    retitle the window or write the clipboard, line ends) and undecodable bytes are shown escaped."""
    import unicodedata

    text = _as_text(text)
    if text.isprintable():
        return text
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)


def _as_text(text: str) -> str:
    """Text with undecodable bytes replaced: arguments and file names that are not UTF-8 arrive as
    surrogates, which can be neither printed nor classified."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _name(path: str | Path) -> str:
    """A file name as given, on one line: a line break or escape in it is shown escaped, so a file
    name cannot forge a line of journey's messages."""
    return printable(str(path))


def _shown(path: str | Path) -> str:
    """A path as a user would type it, on one line: under the home folder it starts with ~; a line
    break or escape in a name is shown escaped, so a file name cannot forge a message line."""
    try:
        return printable("~/" + str(Path(path).expanduser().resolve().relative_to(Path.home().resolve())))
    except (ValueError, OSError, RuntimeError):
        return printable(str(path))


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"journey {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Place each social post in its customer journey and say how to engage.

    Every post gets a stage in each framework of stages.yaml (the customer experience lifecycle
    and the six stages of the social customer), a confidence and the engagement rule to follow.

    \b
    Example: journey classify examples/posts.csv > labelled.csv
    """


@app.command()
def classify(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="CSV of posts, or - for standard input.", show_default=False)
    ],
    text_column: TextColumnOption = None,
    model_path: ModelOption = None,
    stages_path: Annotated[
        Path | None, typer.Option("--stages", help="stages.yaml for the rule wording [default: the model's own].")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Below this confidence a post is 'none' [default: the model's, from CV]."),
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.csv,
    output: OutputOption = None,
    raw: RawOption = False,
    add_bom: AddBomOption = False,
    encoding: EncodingOption = "utf-8-sig",
    delimiter: DelimiterOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Add F_why: the words that pushed each post into its stage.")
    ] = False,
    top_k: Annotated[
        int, typer.Option("--top-k", min=0, max=10, help="Add F_next: the next K stages with their confidences.")
    ] = 0,
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows read and classified at a time.")] = 20_000,
    workers: Annotated[
        int | None, typer.Option(min=1, max=256, help="Processes classifying at once [default: one per CPU].")
    ] = None,
    engine: Annotated[
        Engine, typer.Option(help="dask: FILE is a glob of CSVs, scored on a Dask cluster into --output-dir.")
    ] = Engine.local,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", help="With --engine dask: write one output file per input here.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="With --engine dask: a Dask scheduler address [default: a local cluster].")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Add each framework's stage, confidence and engagement rule to every post of a CSV.

    Writes every input column unchanged, then F_stage, F_confidence and F_rule for each
    framework F, one row per input row, in order. Only data goes to stdout.

    \b
    Example: journey classify examples/posts.csv --format tsv | head
    """
    from .parallel import classify_encoded, default_workers
    from .reading import read_posts

    if add_bom and (output_format not in (OutputFormat.csv, OutputFormat.tsv) or engine is Engine.dask):
        raise typer.BadParameter("--add-bom goes with --format csv or tsv, without --engine dask")
    if engine is Engine.dask:
        if output_format is OutputFormat.xlsx:
            raise typer.BadParameter("--engine dask writes csv, tsv or jsonl files; for xlsx, classify without it")
        if output_dir is None or output is not None:
            raise typer.BadParameter("--engine dask writes to --output-dir DIR (not --output or stdout)")
        with _errors_as_exit_codes():
            _classify_with_dask(
                file, output_dir, model_path, stages_path, threshold, output_format.value, raw, text_column,
                encoding, delimiter, scheduler, workers, explain, top_k, quiet,
            )  # fmt: skip
        return
    if output_dir is not None or scheduler is not None:
        raise typer.BadParameter("--output-dir and --scheduler go with --engine dask")
    with _errors_as_exit_codes():
        _check_outputs([file, model_path, stages_path], [output], stdout=output is None)
        # The input is opened first: a wrong path or column is reported before the model loads.
        table = read_posts(file, text_column=text_column, encoding=encoding, delimiter=delimiter, chunk_size=chunk_size)
        model, stages, thresholds = _model_for(model_path, stages_path, threshold)
        if output_format is OutputFormat.xlsx:
            _classify_to_xlsx(model, table, output, raw, quiet, stages=stages, thresholds=thresholds,
                              explain=explain, top_k=top_k)  # fmt: skip
            return
        encoded = classify_encoded(
            model,
            table.chunks,
            table.text_column,
            output_format.value,
            raw=raw,
            workers=workers or default_workers(),
            stages=stages,
            thresholds=thresholds,
            explain=explain,
            top_k=top_k,
        )
        # Progress on a terminal, only for runs long enough to want it (the CSV may share the terminal).
        progress = not quiet and sys.stderr.isatty()
        started, shown = time.monotonic(), False
        rows = unread = 0
        # closing(): on an error or Ctrl-C here, the workers are stopped at once, not at exit.
        with contextlib.closing(encoded), _output_stream(output) as stream:
            if add_bom:  # csv or tsv: other formats were refused above
                stream.write(codecs.BOM_UTF8)
            for count, unread_count, data in encoded:
                stream.write(data)
                rows += count
                unread += unread_count
                if progress and time.monotonic() - started > 1:
                    sys.stderr.write(f"\r{rows:,} posts classified")
                    sys.stderr.flush()
                    shown = True
        if shown:
            sys.stderr.write("\r\x1b[K")  # the summary line below takes its place
        if not quiet:
            _say_classified(rows, unread, table, output)


def _classify_to_xlsx(model, table, output: Path | None, raw: bool, quiet: bool, **options) -> None:  # type: ignore[no-untyped-def]
    """Classify in this process into one Excel sheet (at most a million rows, so no workers needed)."""
    from collections.abc import Iterator

    import pyarrow as pa

    from .classify import classify_chunks, unread_posts
    from .writing import write_xlsx

    if output is None and sys.stdout is not None and sys.stdout.isatty():
        raise JourneyError("an xlsx file is binary: pass --output FILE.xlsx (or redirect stdout to a file)")
    unread = 0

    def counted(chunks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        nonlocal unread
        for chunk in chunks:
            unread += unread_posts(chunk, options["stages"])
            yield chunk

    with _warnings_as_lines(), _output_stream(output) as stream:
        classified = counted(classify_chunks(model, table.chunks, table.text_column, **options))
        rows = write_xlsx(classified, stream, raw=raw)
    if not quiet:
        _say_classified(rows, unread, table, output)


def _say_classified(rows: int, unread: int, table, output: Path | None) -> None:  # type: ignore[no-untyped-def]
    where = f" to {_name(output)}" if output is not None else ""
    column = printable(table.text_column)
    # Posts the model cannot read are counted so that nobody mistakes them for posts off any journey.
    foreign = f"; {unread} not in English, left at none with confidence 0 for a person to read" if unread else ""
    _say(f"Classified {rows} posts from {_name(table.name)}{where} (text column '{column}'){foreign}.")


@contextlib.contextmanager
def _warnings_as_lines():  # type: ignore[no-untyped-def]
    """journey's own warnings (a model from another scikit-learn, a cell cut for Excel) as `Warning:` lines."""
    import warnings

    from .errors import JourneyWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JourneyWarning)
        yield
    said = set()
    for warning in caught:
        if issubclass(warning.category, JourneyWarning):
            if str(warning.message) not in said:  # the same finding from two passes is said once
                _say(f"Warning: {printable(str(warning.message))}")
                said.add(str(warning.message))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def _load_model(path: Path | None):  # type: ignore[no-untyped-def]
    """`model.load_model`, with its warning (a model from another scikit-learn) as one `Warning:` line."""
    from .model import load_model

    with _warnings_as_lines():
        return load_model(path)


def _model_for(model_path: Path | None, stages_path: Path | None, threshold: float | None):  # type: ignore[no-untyped-def]
    """The model, the stages whose rules to use (checked against it), and the --threshold per framework."""
    from .stages import load_stages

    model = _load_model(model_path)
    stages = load_stages(stages_path) if stages_path else model.stages
    model.check_stages(stages)
    thresholds = dict.fromkeys(stages.framework_ids, threshold) if threshold is not None else None
    return model, stages, thresholds


def _classify_with_dask(  # type: ignore[no-untyped-def]
    pattern, output_dir, model_path, stages_path, threshold, fmt, raw, text_column, encoding, delimiter, scheduler,
    workers, explain, top_k, quiet,
) -> None:  # fmt: skip
    from .dask_engine import classify_files_with_dask

    model, stages, thresholds = _model_for(model_path, stages_path, threshold)
    results = classify_files_with_dask(
        model,
        pattern,
        output_dir,
        text_column=text_column,
        fmt=fmt,
        raw=raw,
        encoding=encoding,
        delimiter=delimiter,
        scheduler=scheduler,
        workers=workers,
        stages=stages,
        thresholds=thresholds,
        explain=explain,
        top_k=top_k,
    )
    if not quiet:
        for result in results:
            _say(f"Classified {result.rows} posts from {_name(result.source)} to {_name(result.output)}")


@app.command()
def train(
    labelled: Annotated[
        str,
        typer.Argument(
            metavar="LABELLED", help="CSV with a text column and one label column per framework.", show_default=False
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the model here [default: your journey model file].")
    ] = None,
    stages_path: Annotated[
        Path | None, typer.Option("--stages", help="Stages YAML [default: the bundled one].")
    ] = None,
    text_column: TextColumnOption = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds for the reported scores.")] = 5,
    mix: Annotated[
        str,
        typer.Option(
            metavar="MIX",
            help="Your stream's share of each stage: typical (a care team's stream, ~40% none), labelled "
            "(as in LABELLED), or stage=share pairs, e.g. none=50,post_purchase=30,...",
        ),
    ] = "typical",
    model_kind: Annotated[
        ModelKind,
        typer.Option(
            "--model-kind",
            help="fast: word n-grams, tens of thousands of posts/s; accurate: also sentence vectors, better on "
            "posts unlike your labelled ones, hundreds of posts/s.",
        ),
    ] = ModelKind.fast,
    encoding: EncodingOption = "utf-8-sig",
    delimiter: DelimiterOption = None,
) -> None:
    """Train a model on labelled posts, report cross-validated quality, and save it.

    LABELLED has a text column and a label column per framework (lifecycle, social); a row may
    leave a label blank. Scores go to stderr; afterwards a plain `journey classify` uses the
    new model unless you saved it elsewhere with --output.

    \b
    Example: journey train examples/b2b/labelled.csv --stages examples/b2b/stages.yaml -o b2b.skops
    """
    from .model import save_model, user_model_path
    from .reading import read_posts
    from .scoring import format_scores
    from .stages import load_stages
    from .training import parse_mix, train_model

    with _errors_as_exit_codes():
        target = output or user_model_path()
        if output is None:  # the user data folder does not exist before the first training
            target.parent.mkdir(parents=True, exist_ok=True)
        _check_outputs([labelled, stages_path], [target], stdout=False, model=False)
        stages = load_stages(stages_path)
        try:
            stream = parse_mix(mix, stages)
        except JourneyError as error:  # a wrong option, not wrong data
            raise typer.BadParameter(str(error), param_hint="--mix") from None
        table = read_posts(labelled, text_column=text_column, encoding=encoding, delimiter=delimiter)
        model = train_model(
            table.frame(),
            stages,
            text_column=table.text_column,
            folds=folds,
            mix=stream,
            kind=model_kind.value,
            progress=_say,
        )
        for framework_id, scores in model.metadata["cv"]["scores"].items():
            threshold = scores["threshold"]
            none = f"none below confidence {threshold:.3f}" if threshold > 0 else "none only where likeliest"
            title = f"\n{framework_id}: {folds}-fold cross-validation ({none})"
            _say(format_scores(title, scores))
            _say(f"  calibration error (ECE) {scores['ece']:.3f} after temperature {scores['temperature']:.2f}")
        if stages.crosswalk:  # with one framework, or none linked, there is no joint decision to compare
            comparison = model.metadata["cv"]["joint_decoding"]
            chosen = "jointly, within the crosswalk" if model.metadata["joint"] else "independently"
            _say(
                f"\nFrameworks are decided {chosen}: mean CV macro-F1 {comparison['joint']:.3f} joint, "
                f"{comparison['independent']:.3f} independent."
            )
        save_model(model, target)
        _say(f"\nSaved the model to {_shown(target)}")
        if output is None:
            _say("A plain `journey classify` now uses it. To return to the bundled model: journey model --reset")
        else:
            _say(f"Use it with: journey classify --model {_shown(target)} POSTS.csv")


@app.command()
def explain(
    texts: Annotated[list[str], typer.Argument(metavar="TEXT...", help="One or more posts.", show_default=False)],
    model_path: ModelOption = None,
    top_k: Annotated[int, typer.Option("--top-k", min=0, max=10, help="Runners-up to show.")] = 2,
    words: Annotated[int, typer.Option(min=1, max=30, help="Words to show per framework.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines, one per post.")] = False,
) -> None:
    """Show why a post gets its stages: the words that pushed it there, and the runners-up.

    A word's push is how much it raised the log-probability of the stage (a two-word
    phrase's push is shared by its words).

    \b
    Example: journey explain "@united lost my bag again, I want a refund"
    """
    import numpy as np

    from .explain import explain_texts
    from .rules import stage_rules

    with _errors_as_exit_codes():
        model = _load_model(model_path)
        texts = [_as_text(text) for text in texts]
        explained = explain_texts(model, texts, words=words, top_k=top_k)
        for text, per_framework in zip(texts, explained, strict=True):
            rules = stage_rules(model.stages, {f: np.array([e.stage]) for f, e in per_framework.items()})
            if as_json:
                record: dict[str, Any] = {"text": text}
                for framework_id, e in per_framework.items():
                    record[framework_id] = {
                        "stage": e.stage,
                        "confidence": round(e.confidence, 4),
                        "rule": rules[framework_id][0],
                        "why": [{"word": w, "push": p} for w, p in e.pushes],
                        "next": [{"stage": s, "confidence": round(p, 4)} for s, p in e.alternatives],
                    }
                typer.echo(json.dumps(record, ensure_ascii=False))
                continue
            lines = [printable(text)]
            for framework_id, e in per_framework.items():
                lines.append(f"  {framework_id}: {e.stage} ({e.confidence:.2f})  {rules[framework_id][0]}")
                lines.append(f"    why:  {e.pushes_text() or '(no word the model knows)'}")
                if e.alternatives:
                    lines.append(f"    next: {e.alternatives_text()}")
            typer.echo("\n".join(lines))


@app.command()
def suggest(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="CSV of unlabelled posts, or - for stdin.", show_default=False)
    ],
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many posts to suggest.")] = 50,
    model_path: ModelOption = None,
    output: OutputOption = None,
    raw: RawOption = False,
    add_bom: AddBomOption = False,
    text_column: TextColumnOption = None,
    encoding: EncodingOption = "utf-8-sig",
    delimiter: DelimiterOption = None,
) -> None:
    """Pick the posts most worth labelling next: the least certain, and unlike each other.

    Writes them as a CSV ready to label: your columns, an empty column per framework to fill in,
    the model's guess and its uncertainty. Label them, add them to your training file, and
    run `journey train` again.

    \b
    Example: journey suggest examples/posts.csv -n 20 -o to_label.csv
    """
    from .reading import read_posts
    from .suggest import suggest_posts

    with _errors_as_exit_codes():
        _check_outputs([file, model_path], [output], stdout=output is None)
        table = read_posts(file, text_column=text_column, encoding=encoding, delimiter=delimiter)
        model = _load_model(model_path)
        picked = suggest_posts(model, table.chunks, table.text_column, count)
        _write_rows(picked, output, raw=raw, add_bom=add_bom)
        where = f" to {_name(output)}" if output is not None else ""
        _say(f"Suggested {len(picked)} posts to label from {_name(table.name)}{where}.")


@app.command()
def evaluate(
    labelled: Annotated[
        str, typer.Argument(metavar="LABELLED", help="CSV with a text column and label columns.", show_default=False)
    ],
    model_path: ModelOption = None,
    cv: Annotated[
        int | None,
        typer.Option("--cv", min=2, max=20, help="Cross-validate training on LABELLED with K folds instead."),
    ] = None,
    stages_path: Annotated[
        Path | None, typer.Option("--stages", help="Stages YAML for --cv [default: the bundled one].")
    ] = None,
    errors: Annotated[Path | None, typer.Option("--errors", help="Write the misclassified posts to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw confusion matrices and reliability diagrams to a PNG.")
    ] = None,
    raw: RawOption = False,
    text_column: TextColumnOption = None,
    encoding: EncodingOption = "utf-8-sig",
    delimiter: DelimiterOption = None,
) -> None:
    """Measure quality on labelled posts: per-stage precision, recall, F1, confusion and calibration.

    Tests a saved model on posts it never saw, or with --cv K cross-validates training on the
    file, exactly as `journey train` reports it.

    \b
    Example: journey evaluate examples/b2b/labelled.csv --stages examples/b2b/stages.yaml --cv 3 --errors wrong.csv
    """
    from .evaluation import (
        cross_validate_labelled,
        evaluate_model,
        evaluation_report,
        format_confusion,
        plot_evaluation,
    )
    from .reading import read_posts
    from .scoring import format_scores
    from .stages import load_stages

    with _errors_as_exit_codes():
        if cv is not None and model_path is not None:
            raise JourneyError("--cv trains new models on the file; it cannot be combined with --model")
        _check_outputs([labelled, model_path, stages_path], [errors, plot], stdout=True)
        table = read_posts(labelled, text_column=text_column, encoding=encoding, delimiter=delimiter)
        frame = table.frame()
        if cv is not None:
            stages = load_stages(stages_path)
            results = cross_validate_labelled(frame, stages, folds=cv, text_column=table.text_column, progress=_say)
            how = f"{cv}-fold cross-validation on {_name(table.name)}"
        else:
            model = _load_model(model_path)
            with _warnings_as_lines():
                results = evaluate_model(model, frame, text_column=table.text_column)
            how = f"model tested on {_name(table.name)}"
        if errors is not None:
            import pandas as pd

            wrong = pd.concat([result.errors() for result in results.values()], ignore_index=True)
            _write_rows(wrong, errors, raw=raw)
            _say(f"Wrote {len(wrong)} misclassified posts to {_name(errors)}")
        if plot is not None:
            plot_evaluation(results, plot)
            _say(f"Drew the confusion matrices and reliability diagrams to {_name(plot)}")
        if as_json:
            typer.echo(json.dumps(evaluation_report(results), indent=2))
            return
        blocks = []
        for framework_id, result in results.items():
            scores = result.scores()
            blocks.append(
                format_scores(f"{framework_id}: {how}", scores)
                + f"\n  calibration error (ECE) {scores['ece']:.3f}\n\n"
                + format_confusion(result.confusion())
            )
        _show("\n\n".join(blocks))


@app.command()
def report(
    classified: Annotated[
        str, typer.Argument(metavar="CLASSIFIED", help="Output of journey classify (CSV), or -.", show_default=False)
    ],
    stages_path: Annotated[
        Path | None,
        typer.Option("--stages", help="Stages YAML the posts were classified with [default: the active model's]."),
    ] = None,
    top: Annotated[int, typer.Option(min=0, max=1000, help="Posts to list under 'reply first'.")] = 10,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Also write one self-contained HTML page with charts.")
    ] = None,
    text_column: TextColumnOption = None,
    encoding: EncodingOption = "utf-8-sig",
    delimiter: DelimiterOption = None,
) -> None:
    """Summarise classified posts: posts per stage with bars, the funnel, stages over time, who to answer first.

    \b
    Example: journey classify examples/posts.csv -o labelled.csv && journey report labelled.csv
    """
    from .reading import read_posts
    from .report import html_report, pyplot, report_columns, text_report
    from .stages import load_stages
    from .writing import replacing

    with _errors_as_exit_codes(), _warnings_as_lines():
        _check_outputs([classified, stages_path], [html_path], stdout=True)
        if html_path is not None:
            pyplot()  # before the text report, so a missing matplotlib is not lost under it
        stages = load_stages(stages_path) if stages_path else _load_model(None).stages
        table = read_posts(classified, text_column=text_column, encoding=encoding, delimiter=delimiter)
        frame = table.frame(report_columns(table.columns, stages, table.text_column))
        _show(text_report(frame, stages, table.text_column, top))
        if html_path is not None:
            page = html_report(frame, stages, table.text_column, table.name, top)
            with replacing(html_path) as stream:
                stream.write(page)
            _say(f"Wrote the report with its charts to {_name(html_path)}")


class StagesFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


@app.command("stages")
def stages_command(
    stages_path: Annotated[
        Path | None, typer.Option("--stages", help="Stages YAML to show [default: the bundled one].")
    ] = None,
    output_format: Annotated[StagesFormat, typer.Option("--format", "-f", help="How to show it.")] = StagesFormat.table,
    check: Annotated[
        Path | None,
        typer.Option("--check", metavar="FILE", help="Only validate FILE: report every problem with its line."),
    ] = None,
) -> None:
    """Show the journey frameworks: their stages, engagement rules and crosswalk, or check a team's own file.

    \b
    Example: journey stages --check examples/b2b/stages.yaml
    """
    from .stages import load_stages

    with _errors_as_exit_codes():
        if check is not None:
            stages = load_stages(check)
            counts = ", ".join(f"{f} ({len(framework.stages)} stages)" for f, framework in stages.frameworks.items())
            _show(f"{_name(check)} is a valid stages file: {counts}")
            return
        stages = load_stages(stages_path)
        if output_format is StagesFormat.json:
            typer.echo(json.dumps(stages.model_dump(mode="json"), indent=2, ensure_ascii=False))
        elif output_format is StagesFormat.markdown:
            _show(_stages_markdown(stages))
        else:
            _show(_stages_table(stages))


def _stages_table(stages) -> str:  # type: ignore[no-untyped-def]
    import textwrap

    width = 100
    blocks = []
    for framework_id, framework in stages.frameworks.items():
        lines = [f"{framework_id}: {framework.name}", textwrap.fill(framework.description, width, initial_indent="  ",
                                                                     subsequent_indent="  ")]  # fmt: skip
        for stage in framework.stages:
            lines.append(f"  {stage.id:<14}{stage.name}" + ("  (reply first)" if stage.reply_first else ""))
            when = [(f"if {_condition(c.when)}: {c.rule}") for c in stage.rules_when]
            labelled = [("wants", stage.customer_wants), ("rule", stage.rule), *[("", w) for w in when],
                        ("avoid", stage.avoid)]  # fmt: skip
            for label, text in labelled:
                lines.append(textwrap.fill(text, width, initial_indent=f"    {label:<7}", subsequent_indent=" " * 11))
        blocks.append("\n".join(lines))
    for crosswalk in stages.crosswalk:
        first, second = crosswalk.frameworks
        lines = [f"crosswalk: {first} -> {second}"]
        lines += [f"  {stage_id:<14}{', '.join(linked)}" for stage_id, linked in crosswalk.links.items()]
        blocks.append("\n".join(lines))
    if stages.always_wants:
        blocks.append("\n".join(["what customers always want:"] + [f"  {need.name}: {need.description}"
                                                                      for need in stages.always_wants]))  # fmt: skip
    return "\n\n".join(blocks)


def _condition(when: dict[str, str]) -> str:
    """A rules_when condition as a reader says it: `social is advocacy`."""
    return " and ".join(f"{framework_id} is {stage_id}" for framework_id, stage_id in when.items())


def _stages_markdown(stages) -> str:  # type: ignore[no-untyped-def]
    from html import escape

    def cell(text: str) -> str:  # a team's wording is text: no HTML of its own reaches a wiki page
        return escape(text, quote=False).replace("|", "\\|").replace("\n", " ")

    def rule(stage) -> str:  # type: ignore[no-untyped-def]
        return "<br>".join([cell(stage.rule)] + [f"If {_condition(c.when)}: {cell(c.rule)}" for c in stage.rules_when])

    blocks = []
    for framework_id, framework in stages.frameworks.items():
        rows = [f"## {cell(framework.name)} (`{framework_id}`)", "", cell(framework.description), "",
                "| stage | name | the customer wants | rule | avoid |", "|---|---|---|---|---|"]  # fmt: skip
        rows += [
            f"| `{s.id}` | {cell(s.name)}{' (reply first)' * s.reply_first} | {cell(s.customer_wants)} | {rule(s)}"
            f" | {cell(s.avoid)} |"
            for s in framework.stages
        ]
        blocks.append("\n".join(rows))
    for crosswalk in stages.crosswalk:
        first, second = crosswalk.frameworks
        rows = [f"## Crosswalk: `{first}` to `{second}`", "", f"| {first} | {second} |", "|---|---|"]
        rows += [
            f"| `{stage_id}` | {', '.join(f'`{o}`' for o in linked)} |" for stage_id, linked in crosswalk.links.items()
        ]
        blocks.append("\n".join(rows))
    if stages.always_wants:
        rows = ["## What customers always want", ""]
        rows += [f"- **{cell(need.name)}**: {cell(need.description)}" for need in stages.always_wants]
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)


@app.command("model")
def model_info(
    model_path: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="All the model's metadata as JSON.")] = False,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete your trained model so the bundled one is used again.")
    ] = False,
) -> None:
    """Show which model `journey classify` uses, what it was trained on and how well it scored.

    \b
    Example: journey model --json
    """
    from .model import BUNDLED_MODELS, active_model_path, bundled_or_file, user_model_path
    from .training import describe_model

    with _errors_as_exit_codes():
        if reset:
            user_model = user_model_path()
            if user_model.exists():
                user_model.unlink()
                _say(f"Removed {_shown(user_model)}; journey classify uses the bundled model again.")
            else:
                _say("No trained model to remove; journey classify already uses the bundled model.")
            return
        path = bundled_or_file(model_path) if model_path else active_model_path()
        model = _load_model(path)
        bundled = any(path.resolve() == file.resolve() for file in BUNDLED_MODELS.values())
        kind = "bundled" if bundled else "trained"
        # "kind" says whose model it is; "model_kind" which kind of model (the metadata's "kind").
        info = {**describe_model(model), "path": str(path), "kind": kind, "model_kind": model.kind}
        if as_json:
            typer.echo(json.dumps(info, indent=2))
            return
        data = info["training_data"]
        lines = [
            f"model     {_shown(path) if kind == 'trained' else 'bundled with journey'} ({kind}, {model.kind})",
            f"created   {info['created']} with scikit-learn {info['versions']['scikit-learn']}",
            f"trained   on {data['rows']} posts (data sha256 {data['sha256'][:12]})",
        ]
        for framework_id, stage_ids in info["stages"].items():
            scores = info["cv"]["scores"].get(framework_id)
            quality = (
                f"CV macro-F1 {scores['macro_f1']:.3f}, accuracy {scores['accuracy']:.3f}, "
                + (f"none below {scores['threshold']:.3f}" if scores["threshold"] > 0 else "none only where likeliest")
                if scores
                else "not trained"
            )
            lines.append(f"{framework_id:<10}{quality}; stages: {', '.join(stage_ids)}")
        _show("\n".join(lines))


class _errors_as_exit_codes:
    """Library errors and failed reads or writes become one `Error:` line and exit 1; Ctrl-C exits 130 quietly."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> Literal[False]:  # type: ignore[no-untyped-def]
        if isinstance(error, JourneyError):
            _say(f"Error: {printable(str(error))}")
            raise typer.Exit(1)
        if isinstance(error, KeyboardInterrupt):
            _say("Interrupted; no output file was changed.")
            raise typer.Exit(130)
        if isinstance(error, BrokenPipeError):  # the reader of stdout left (`| head`): stop quietly
            _quiet_stdout()
            raise typer.Exit(141)
        if isinstance(error, OSError):
            _say(f"Error: {printable(_os_problem(error))}")
            raise typer.Exit(1)
        return False


def _os_problem(error: OSError) -> str:
    import errno

    where = f" ({error.filename})" if error.filename else ""
    reason = (error.strerror or str(error)).lower()
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{reason}{where}; no output file was changed: free some space and run again"
    return f"cannot read or write{where}: {reason}"


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush to a closed pipe prints nothing."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())


def _check_outputs(
    inputs: list[str | Path | None], outputs: list[Path | None], *, stdout: bool, model: bool = True
) -> None:
    """Refuse, before any work, outputs that cannot be written or that would replace an input.

    Inputs are compared by file identity, so `-` (stdin redirected from a file), links and other
    spellings of the same file are caught, and so is stdout (`>> posts.csv`) if `stdout` is
    written. Unless `model` is False (train, which writes it), the trained model a plain command
    uses counts as an input too.
    """
    from .model import user_model_path
    from .writing import check_writable

    if model:
        inputs = [*inputs, user_model_path()]
    read = {identity: given for given in inputs if (identity := _identity(given)) is not None}
    written: set[object] = set()
    given_outputs: list[str | Path] = [*(["<stdout>"] if stdout else []), *(o for o in outputs if o is not None)]
    for output in given_outputs:
        if output != "<stdout>":
            check_writable(Path(output))
        identity = _identity(output)
        shown = "stdout" if output == "<stdout>" else str(output)
        if identity in read:
            raise JourneyError(
                f"{shown} is also an input ({read[identity]}); write to another file so the input is kept"
            )
        key = identity or (output if output == "<stdout>" else str(Path(output).resolve()))
        if key in written:
            raise JourneyError(f"{shown} is given for two outputs; give each its own file")
        written.add(key)


def _identity(given: str | Path | None) -> tuple[int, int] | None:
    """(device, inode) of a regular file named by `given` ("-": stdin, "<stdout>": stdout), if there is one."""
    import stat

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


def _write_rows(frame, output: Path | None, *, raw: bool = False, add_bom: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Write a pandas DataFrame as CSV to stdout or, once complete, to `output`."""
    import pyarrow as pa

    from .writing import write_table

    with _output_stream(output) as stream:
        if add_bom:
            stream.write(codecs.BOM_UTF8)
        write_table([pa.Table.from_pandas(frame.astype(str), preserve_index=False)], stream, raw=raw)


@contextlib.contextmanager
def _output_stream(output: Path | None):  # type: ignore[no-untyped-def]
    """stdout's bytes, or a file that replaces `output` only once complete (a failed run leaves no half file)."""
    from .writing import replacing

    if output is None:
        if sys.stdout is None:
            raise JourneyError("stdout is closed; pass --output FILE")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with replacing(output, "wb") as stream:
        yield stream


def _terminated(number: int, frame: object) -> None:
    raise SystemExit(128 + number)  # unwinds like Ctrl-C: temporary files removed, workers stopped


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # type: ignore[no-untyped-def]
    _say(f"Warning: {printable(str(message))}")


def _leave_now(code: int) -> None:
    """Exit without waiting on worker-pool threads: one that was reading from a worker ended mid-write
    would wait for ever. What exit would release (the pool's named semaphores) is released first."""
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


def main() -> None:
    """Console entry point."""
    for name in ("SIGTERM", "SIGHUP"):  # `kill` or a closed terminal: clean up as for Ctrl-C, then go
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminated)
    import warnings

    warnings.showwarning = _show_warning  # one line on stderr, not a source listing
    try:
        app()
    except SystemExit as stop:
        if stop.code in (129, 130, 141, 143):  # a signal, or the reader left: files and workers are seen to
            _leave_now(stop.code)
        raise
