"""How the command line talks to a person: one-line errors and warnings, progress, exit codes, signals.

The commands in cli.py raise the library's errors; this module is the one place that turns them
(and bad options, Ctrl-C, a closed pipe, a full disk) into an `Error:` line and an exit code:
1 for a problem with the input, 2 for a wrong option, 130 for Ctrl-C, 141 when the reader of
stdout left. `journey --debug` (or JOURNEY_DEBUG=1) shows the traceback behind an `Error:` line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup

from .errors import JourneyError, JourneyNote, JourneyWarning
from .terminal import printable

# Click's exception classes, found through typer's public BadParameter (typer may vendor Click).
_UsageError: type[Any] = next(kind for kind in typer.BadParameter.__mro__ if kind.__name__ == "UsageError")


class OneLineErrors(TyperGroup):
    """Usage errors as one `Error:` line on stderr and exit 2, instead of Click's three-line block;
    library errors and failed reads or writes as one `Error:` line and exit 1, the one place they are
    turned into exit codes."""

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
            to_stderr(f"Error: {printable(message)} (see '{command} -h')")
            sys.exit(2)
        except typer.Abort:
            to_stderr("Interrupted; no output file was changed.")
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def get_command(self, ctx: Any, name: str) -> Any:
        command = super().get_command(ctx, name)
        for param in [] if command is None else command.params:
            _in_words(param)
        return command

    def invoke(self, ctx: Any) -> Any:
        try:
            with warnings_as_lines():
                return super().invoke(ctx)
        except (JourneyError, KeyboardInterrupt, OSError) as error:
            if isinstance(error, BrokenPipeError):  # the reader of stdout left (`| head`): stop quietly
                _quiet_stdout()
                raise typer.Exit(141) from None
            if isinstance(error, KeyboardInterrupt):
                to_stderr("Interrupted; no output file was changed.")
                raise typer.Exit(130) from None
            if ctx.params.get("debug"):
                import traceback

                sys.stderr.write("".join(traceback.format_exception(error)))
            problem = str(error) if isinstance(error, JourneyError) else _os_problem(error)
            to_stderr(f"Error: {printable(problem)}")
            raise typer.Exit(1) from None


METAVARS = {
    "model_path": "FILE|fast|accurate", "stages_path": "FILE", "output": "FILE", "errors": "FILE", "plot": "FILE.png",
    "html_path": "FILE.html", "output_dir": "FOLDER", "threshold": "CONFIDENCE", "top_k": "K", "folds": "K",
    "cv": "K", "chunk_size": "ROWS", "workers": "N", "count": "N", "words": "N", "top": "N", "weight": "TIMES",
    "scheduler": "ADDRESS", "delimiter": "CHARACTER",
}  # fmt: skip
"""How `-h` names the value each option takes, in words; any other option is named by its type."""
_BY_TYPE = {"int": "N", "integer": "N", "float": "NUMBER", "path": "FILE"}


def _in_words(param: Any) -> None:
    """Name the value of `param` in words in help: `--output FILE`, not `--output <path>`; an
    argument by its name alone (`FILE`, not `FILE <str>`). Choices are words already."""
    described = getattr(param, "type_descriptor", None)  # typer 0.20 and later; Click's own types before
    if param.param_type_name == "argument":
        if described is not None:
            param.display_type_rich = lambda ctx: None
        return
    choice = described.is_choice if described is not None else hasattr(param.type, "choices")
    if param.metavar is not None or param.is_flag or choice:
        return
    kind = ("path" if described.is_path else param.bare_type()) if described is not None else param.type.name
    param.metavar = METAVARS.get(param.name) or _BY_TYPE.get(kind, "TEXT")


def to_stderr(message: str) -> None:
    """A message for the user on stderr; control characters (from file names, say) are shown escaped."""
    typer.echo("\n".join(printable(line) for line in message.split("\n")), err=True)


def to_stdout(text: str) -> None:
    """Text for people on stdout (a report, the stages), with control characters shown escaped."""
    if sys.stdout is None:
        raise JourneyError("stdout is closed; redirect it to a file")
    typer.echo("\n".join(printable(line) for line in text.split("\n")))


class Progress:
    """Posts classified so far on stderr, for runs long enough to want it: the count, the rate, and,
    when about how many there will be is `expected`, the share done and the time left (drawn by
    rich, which typer brings; the output may share the terminal, so the bar goes when done)."""

    def __init__(self, *, shown: bool, expected: int | None = None) -> None:
        self.wanted, self.expected, self.started = shown, expected, time.monotonic()
        self.bar: Any = None

    def __call__(self, rows: int) -> None:
        elapsed = time.monotonic() - self.started
        if not self.wanted or elapsed < 1:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            columns = (TextColumn("{task.fields[posts]:,} posts, {task.fields[rate]:,.0f}/s"), BarColumn())
            self.bar = Bar(
                *columns, TaskProgressColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                auto_refresh=False,  # drawn as each chunk is written: no thread of its own
            )  # fmt: skip
            self.bar.start()
            self.task = self.bar.add_task("classify", total=None, posts=0, rate=0)
        total = None if self.expected is None else max(self.expected, round(rows * 1.01))  # an estimate, never done
        self.bar.update(self.task, total=total, completed=rows, posts=rows, rate=rows / elapsed)
        self.bar.refresh()

    def clear(self) -> None:
        if self.bar is not None:
            self.bar.stop()  # transient: the bar goes, and the summary line takes its place


@contextlib.contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Every warning as one `Warning:` line on stderr as it comes, not a source listing; journey's own
    (a model from another scikit-learn, a cell cut for Excel) each said once, even if found twice."""
    said: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # type: ignore[no-untyped-def]
        if issubclass(category, JourneyWarning) and str(message) in said:
            return
        said.add(str(message))
        to_stderr(f"{'Note' if issubclass(category, JourneyNote) else 'Warning'}: {printable(str(message))}")

    with warnings.catch_warnings():  # restores the filters and showwarning after the command
        warnings.simplefilter("always", JourneyWarning)
        warnings.showwarning = show
        yield


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


def _terminated(number: int, frame: object) -> None:
    raise SystemExit(128 + number)  # unwinds like Ctrl-C: temporary files removed, workers stopped


def run(app: typer.Typer) -> None:
    """Run the app as the `journey` command: signals, warnings and exits seen to."""
    for name in ("SIGTERM", "SIGHUP"):  # `kill` or a closed terminal: clean up as for Ctrl-C, then go
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminated)
    try:
        app()
    except SystemExit as stop:
        # After an error (1), a signal or a closed pipe, every file and worker has been seen to, so the
        # process ends here without the interpreter's own shutdown. That shutdown could abort the process
        # (exit 134, "terminate called without an active exception"): a CSV reader's background thread
        # (Arrow's) may still be reading from a Python stream, and CPython up to 3.13 ends a foreign
        # thread that asks for the GIL during shutdown with pthread_exit, which C++ turns into abort.
        if stop.code in (1, 129, 130, 141, 143):
            from .parallel import exit_now

            exit_now(stop.code)
        raise
