"""The `journey` command line: parse options, call the library, turn its errors into exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .console import OneLineErrors, Progress, run, to_stderr, to_stdout
from .errors import JourneyError
from .options import (
    AddBomOption,
    DebugOption,
    Engine,
    Input,
    ModelKind,
    ModelOption,
    OutputFormat,
    OutputOption,
    RawOption,
    StagesFormat,
    VersionOption,
    reads_posts,
)
from .terminal import as_text, printable, shown_path

if TYPE_CHECKING:
    from .model import JourneyModel
    from .stages import Stages

app = typer.Typer(
    name="journey",
    cls=OneLineErrors,
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main_callback(
    version: VersionOption = False,
    debug: DebugOption = False,
) -> None:
    """Place each social post in its customer journey and say how to engage.

    Every post gets a stage in each framework of stages.yaml (the customer experience lifecycle
    and the six stages of the social customer), a confidence and the engagement rule to follow.

    \b
    Example: journey classify examples/posts.csv > labelled.csv
    """


@app.command()
@reads_posts
def classify(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="Posts: CSV, JSON lines or text, or - for stdin.", show_default=False)
    ],
    source: Input,
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
    add_bom: AddBomOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Add F_why: the words that pushed each post into its stage.")
    ] = False,
    top_k: Annotated[
        int, typer.Option("--top-k", min=0, max=10, help="Add F_next: the next K stages with their confidences.")
    ] = 0,
    rules: Annotated[
        bool, typer.Option("--rules/--no-rules", help="Add F_rule, the engagement rule (most of the output's size).")
    ] = True,
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
    from .parallel import classify_to, default_workers
    from .writing import check_xlsx_rows, output_stream

    if add_bom and (output_format not in (OutputFormat.csv, OutputFormat.tsv) or engine is Engine.dask):
        raise typer.BadParameter("--add-bom goes with --format csv or tsv, without --engine dask")
    options = {"explain": explain, "top_k": top_k, "rules": rules}
    if engine is Engine.dask:
        if output_format is OutputFormat.xlsx:
            raise typer.BadParameter("--engine dask writes csv, tsv or jsonl files; for xlsx, classify without it")
        if output_dir is None or output is not None:
            raise typer.BadParameter("--engine dask writes to --output-dir DIR (not --output or stdout)")
        from .dask_engine import classify_files_with_dask

        model, stages, thresholds = _model_for(model_path, stages_path, threshold)
        results = classify_files_with_dask(
            model, file, output_dir, fmt=output_format.value, raw=raw, scheduler=scheduler, workers=workers,
            source=source, stages=stages, thresholds=thresholds, **options,
        )  # fmt: skip
        for one in [] if quiet else results:
            to_stderr(f"Classified {one.rows} posts from {printable(str(one.source))} to {printable(str(one.output))}")
        return
    if output_dir is not None or scheduler is not None:
        raise typer.BadParameter("--output-dir and --scheduler go with --engine dask")
    _check_outputs(
        [file, model_path, stages_path], [output], stdout=output is None, xlsx=output_format is OutputFormat.xlsx
    )
    # The input is opened first: a wrong path or column is reported before the model loads.
    table = source.read(file, chunk_size)
    if output_format is OutputFormat.xlsx:
        check_xlsx_rows(source, file)
    model, stages, thresholds = _model_for(model_path, stages_path, threshold)
    progress = Progress(shown=not quiet and sys.stderr.isatty(), expected=table.rows_expected)
    bom = table.bom if add_bom is None else add_bom  # an Excel "CSV UTF-8" in gives one out
    with output_stream(output) as stream:
        done = classify_to(
            stream, model, table.chunks, table.text_column, output_format.value, raw=raw, add_bom=bom,
            workers=workers or default_workers(), progress=progress, stages=stages, thresholds=thresholds, **options,
        )  # fmt: skip
    progress.clear()
    if not quiet:
        where = f" to {printable(str(output))}" if output is not None else ""
        # Posts the model cannot read are counted so that nobody mistakes them for posts off any journey.
        foreign = f"; {done.unread} not in English, left at none with confidence 0 for a person to read"
        to_stderr(
            f"Classified {done.rows} posts from {printable(table.name)}{where} "
            f"(text column {printable(table.text_label)}){foreign if done.unread else ''}."
        )


@app.command()
@reads_posts
def train(
    labelled: Annotated[
        str,
        typer.Argument(
            metavar="LABELLED", help="CSV with a text column and one label column per framework.", show_default=False
        ),
    ],
    source: Input,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the model here [default: your journey model file].")
    ] = None,
    stages_path: Annotated[
        Path | None, typer.Option("--stages", help="Stages YAML [default: the bundled one].")
    ] = None,
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
    ] = ModelKind.accurate,
    corpus: Annotated[
        bool | None,
        typer.Option(
            "--corpus/--no-corpus",
            help="Learn your posts together with journey's own labelled corpus [default: yes with the bundled stages].",
            show_default=False,
        ),
    ] = None,
    weight: Annotated[
        float | None, typer.Option(min=1.0, help="With the corpus: corpus posts one of yours is worth [default: 1-5]")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Make the new model active even if clearly worse on your posts.")
    ] = False,
) -> None:
    """Train a model on labelled posts, report cross-validated quality, and save it.

    LABELLED has a text column and a label column per framework (lifecycle, social); a row may
    leave a label blank. With the bundled stages your posts are learnt together with journey's
    corpus, yours weighted up. Scores go to stderr, with the active model's on your posts: a new
    model that scores lower there is not made active unless --force. Afterwards a plain
    `journey classify` uses the new model unless you saved it elsewhere with --output.

    \b
    Example: journey train examples/b2b/labelled.csv --stages examples/b2b/stages.yaml -o b2b.skops
    """
    from .model_file import save_model, user_model_path
    from .stages import load_stages
    from .training import compare_with_active, corpus_for, parse_mix, train, training_summary

    target = output or user_model_path(made=True)
    _check_outputs([labelled, stages_path], [target], stdout=False, model=False)
    stages = load_stages(stages_path)
    try:
        stream = parse_mix(mix, stages)
    except JourneyError as error:  # a wrong option, not wrong data
        raise typer.BadParameter(str(error), param_hint="--mix") from None
    table = source.read(labelled)
    trained = train(
        table.frame(), stages, text_column=table.text_column, folds=folds, mix=stream, kind=model_kind.value,
        corpus=corpus_for(stages, corpus), weight=weight, progress=to_stderr,
    )  # fmt: skip
    comparison = compare_with_active(trained)
    to_stderr(f"\n{training_summary(trained.model)}\n\n{comparison.text()}")
    if comparison.worse and output is None and not force:
        raise JourneyError("kept the active model, clearly better on your posts; --force makes the new one active")
    save_model(trained.model, target)
    to_stderr(f"\nSaved the model to {shown_path(target)}")
    if output is None:
        to_stderr("A plain `journey classify` now uses it. To return to the bundled model: journey model --reset")
    else:
        to_stderr(f"Use it with: journey classify --model {shown_path(target)} POSTS.csv")


@app.command()
def explain(
    texts: Annotated[list[str], typer.Argument(metavar="TEXT...", help="Posts, or - for stdin.", show_default=False)],
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
    from .explain import explanation_lines
    from .model_file import load_model
    from .reading import read_lines

    model = load_model(model_path)
    posts = read_lines(sys.stdin) if texts == ["-"] else [as_text(text) for text in texts]
    for lines in explanation_lines(model, posts, words=words, top_k=top_k, as_json=as_json):
        typer.echo(lines)


@app.command()
@reads_posts
def suggest(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="CSV of unlabelled posts, or - for stdin.", show_default=False)
    ],
    source: Input,
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many posts to suggest.")] = 50,
    model_path: ModelOption = None,
    output: OutputOption = None,
    raw: RawOption = False,
    add_bom: AddBomOption = None,
) -> None:
    """Pick the posts most worth labelling next: the least certain, and unlike each other.

    Writes them as a CSV ready to label: your columns, an empty column per framework to fill in,
    the model's guess and its uncertainty. Label them, add them to your training file, and
    run `journey train` again.

    \b
    Example: journey suggest examples/posts.csv -n 20 -o to_label.csv
    """
    from .model_file import load_model
    from .suggest import suggest_posts
    from .writing import write_rows

    _check_outputs([file, model_path], [output], stdout=output is None)
    table = source.read(file)
    model = load_model(model_path)
    picked = suggest_posts(model, table.chunks, table.text_column, count)
    write_rows(picked, output, raw=raw, add_bom=table.bom if add_bom is None else add_bom)
    where = f" to {printable(str(output))}" if output is not None else ""
    to_stderr(f"Suggested {len(picked)} posts to label from {printable(table.name)}{where}.")


@app.command()
@reads_posts
def evaluate(
    labelled: Annotated[
        str, typer.Argument(metavar="LABELLED", help="CSV with a text column and label columns.", show_default=False)
    ],
    source: Input,
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
        evaluation_text,
        plot_evaluation,
    )
    from .model_file import load_model
    from .stages import load_stages
    from .writing import write_rows

    if cv is not None and model_path is not None:
        raise JourneyError("--cv trains new models on the file; it cannot be combined with --model")
    _check_outputs([labelled, model_path, stages_path], [errors, plot], stdout=True)
    table = source.read(labelled)
    frame = table.frame()
    if cv is not None:
        stages = load_stages(stages_path)
        results = cross_validate_labelled(frame, stages, folds=cv, text_column=table.text_column, progress=to_stderr)
        how = f"{cv}-fold cross-validation on {printable(table.name)}"
    else:
        results = evaluate_model(load_model(model_path), frame, text_column=table.text_column)
        how = f"model tested on {printable(table.name)}"
    if errors is not None:
        import pandas as pd

        wrong = pd.concat([result.errors() for result in results.values()], ignore_index=True)
        write_rows(wrong, errors, raw=raw)
        to_stderr(f"Wrote {len(wrong)} misclassified posts to {printable(str(errors))}")
    if plot is not None:
        plot_evaluation(results, plot)
        to_stderr(f"Drew the confusion matrices and reliability diagrams to {printable(str(plot))}")
    if as_json:
        typer.echo(json.dumps(evaluation_report(results), indent=2))
    else:
        to_stdout(evaluation_text(results, how))


@app.command()
@reads_posts
def report(
    classified: Annotated[
        str, typer.Argument(metavar="CLASSIFIED", help="Output of journey classify (CSV), or -.", show_default=False)
    ],
    source: Input,
    stages_path: Annotated[
        Path | None,
        typer.Option("--stages", help="Stages YAML the posts were classified with [default: the active model's]."),
    ] = None,
    top: Annotated[int, typer.Option(min=0, max=1000, help="Posts to list under 'reply first'.")] = 10,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Also write one self-contained HTML page with charts.")
    ] = None,
) -> None:
    """Summarise classified posts: posts per stage with bars, the funnel, stages over time, who to answer first.

    \b
    Example: journey classify examples/posts.csv -o labelled.csv && journey report labelled.csv
    """
    from .model_file import load_model
    from .report import html_report, open_classified, pyplot, read_classified_file, text_report
    from .stages import load_stages
    from .writing import replacing

    _check_outputs([classified, stages_path], [html_path], stdout=True)
    if html_path is not None:
        pyplot()  # before the text report, so a missing matplotlib is not lost under it
    stages = load_stages(stages_path) if stages_path else load_model(None).stages
    table = open_classified(source, classified, stages)
    frame = read_classified_file(table, stages)
    to_stdout(text_report(frame, stages, table.text_column, top))
    if html_path is not None:
        page = html_report(frame, stages, table.text_column, table.name, top)
        with replacing(html_path) as stream:
            stream.write(page)
        to_stderr(f"Wrote the report with its charts to {printable(str(html_path))}")


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
    from .stages_text import stages_check, stages_markdown, stages_table

    if check is not None:
        to_stdout(stages_check(check))
        return
    stages = load_stages(stages_path)
    if output_format is StagesFormat.json:
        typer.echo(json.dumps(stages.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        to_stdout(stages_markdown(stages) if output_format is StagesFormat.markdown else stages_table(stages))


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
    from .model_file import active_model_path, bundled_or_file, is_bundled, load_model, reset_model
    from .training import describe_model, model_summary

    if reset:
        to_stderr(reset_model())
        return
    path = bundled_or_file(model_path) if model_path else active_model_path()
    model = load_model(path)
    kind = "bundled" if is_bundled(path) else "trained"
    # "kind" says whose model it is; "model_kind" which kind of model (the metadata's "kind").
    info = {**describe_model(model), "path": str(path), "kind": kind, "model_kind": model.kind}
    if as_json:
        typer.echo(json.dumps(info, indent=2))
    else:
        to_stdout(model_summary(info, shown_path(path) if kind == "trained" else "bundled with journey"))


def _check_outputs(
    inputs: list[str | Path | None], outputs: list[Path | None], *, stdout: bool, model: bool = True, xlsx: bool = False
) -> None:
    """`writing.check_outputs`; unless `model` is False (train, which writes it), the trained model a
    plain command uses counts as an input too."""
    from .model_file import user_model_path
    from .writing import check_outputs

    check_outputs([*inputs, user_model_path()] if model else inputs, outputs, stdout=stdout, xlsx=xlsx)


def _model_for(
    model_path: Path | None, stages_path: Path | None, threshold: float | None
) -> tuple[JourneyModel, Stages, dict[str, float] | None]:
    """The model, the stages whose rules to use, and the --threshold per framework."""
    from .model_file import load_model_and_stages

    model, stages = load_model_and_stages(model_path, stages_path)
    return model, stages, dict.fromkeys(stages.framework_ids, threshold) if threshold is not None else None


def main() -> None:
    """Console entry point."""
    run(app)
