"""The `journey` command line, run the way a user runs it (through typer's CliRunner)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from journey_cli import __version__, load_model
from journey_cli.cli import app
from journey_cli.model_file import user_model_path

from .conftest import DATA, EXAMPLES, ROOT, spreadsheet_safe

RESULT_COLUMNS = [
    "lifecycle_stage", "lifecycle_confidence", "lifecycle_rule",
    "social_stage", "social_confidence", "social_rule",
]  # fmt: skip
GOLDEN = DATA / "mini_classified.csv"


def classify(runner, mini_model_path, *args, input=None):
    return runner.invoke(app, ["classify", *args, "--model", str(mini_model_path)], input=input)


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_classify_keeps_every_row_and_column_and_adds_the_results(runner, mini_model_path, source):
    posts = EXAMPLES / "posts.csv"
    if source == "file":
        result = classify(runner, mini_model_path, str(posts))
    else:
        result = classify(runner, mini_model_path, "-", input=posts.read_bytes())
    assert result.exit_code == 0, result.stderr
    original = pd.read_csv(posts, dtype=str, keep_default_na=False)
    output = pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)
    assert list(output.columns) == list(original.columns) + RESULT_COLUMNS
    pd.testing.assert_frame_equal(output[original.columns], original.map(spreadsheet_safe))
    assert output["lifecycle_stage"].isin(["realisation", "awareness", "evaluation", "transaction",
                                           "consumption", "service", "none"]).all()  # fmt: skip
    confidences = output["social_confidence"].astype(float)
    assert confidences.between(0, 1).all()
    assert output["social_rule"].str.len().gt(10).all()
    empty = output["text"] == ""
    assert (output.loc[empty, ["lifecycle_stage", "social_stage"]] == "none").all().all()
    assert f"Classified {len(original)} posts" in result.stderr


def test_raw_writes_every_cell_exactly_as_read(runner, mini_model_path):
    posts = EXAMPLES / "posts.csv"
    result = classify(runner, mini_model_path, str(posts), "--raw")
    assert result.exit_code == 0, result.stderr
    original = pd.read_csv(posts, dtype=str, keep_default_na=False)
    output = pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)
    assert original["author"].str.startswith("@").any()
    pd.testing.assert_frame_equal(output[original.columns], original)


def test_golden_output_of_a_fixed_model(runner, mini_model_path):
    result = classify(runner, mini_model_path, str(DATA / "mini_posts.csv"), "--quiet")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "", "--quiet writes nothing to stderr"
    if os.environ.get("JOURNEY_UPDATE_GOLDEN"):
        GOLDEN.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == GOLDEN.read_text(encoding="utf-8"), "if intended: JOURNEY_UPDATE_GOLDEN=1 pytest"


@pytest.mark.parametrize("fmt", ["tsv", "jsonl"])
def test_other_formats_hold_the_same_rows(runner, mini_model_path, fmt):
    csv_out = classify(runner, mini_model_path, str(DATA / "mini_posts.csv"), "-q", "--raw").stdout
    expected = pd.read_csv(io.StringIO(csv_out), dtype=str, keep_default_na=False)
    if fmt == "tsv":  # spreadsheet-safe like CSV; JSON lines hold the text exactly
        expected = expected.map(spreadsheet_safe)
    result = classify(runner, mini_model_path, str(DATA / "mini_posts.csv"), "-q", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    if fmt == "tsv":
        output = pd.read_csv(io.StringIO(result.stdout), sep="\t", dtype=str, keep_default_na=False)
    else:
        lines = result.stdout.splitlines()
        assert len(lines) == len(expected)
        output = pd.DataFrame([json.loads(line) for line in lines]).astype(str)
        output["lifecycle_confidence"] = expected["lifecycle_confidence"]
        output["social_confidence"] = expected["social_confidence"]
    pd.testing.assert_frame_equal(output, expected)


def test_output_file_is_written_and_the_input_is_never_overwritten(runner, mini_model_path, tmp_path):
    posts = tmp_path / "posts.csv"
    posts.write_bytes((DATA / "mini_posts.csv").read_bytes())
    out = tmp_path / "out.csv"
    result = classify(runner, mini_model_path, str(posts), "--output", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert pd.read_csv(out).shape[0] == pd.read_csv(posts).shape[0]
    before = posts.read_bytes()
    result = classify(runner, mini_model_path, str(posts), "--output", str(posts))
    assert result.exit_code == 1
    assert "is also an input" in result.stderr
    assert posts.read_bytes() == before


def test_threshold_option_makes_unsure_posts_none(runner, mini_model_path):
    result = classify(runner, mini_model_path, str(DATA / "mini_posts.csv"), "-q", "--threshold", "1")
    output = pd.read_csv(io.StringIO(result.stdout))
    assert set(output["lifecycle_stage"]) == {"none"} and set(output["social_stage"]) == {"none"}


def test_text_column_option_and_error(runner, mini_model_path, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("id,remarks\n1,where can I buy a decent used bike\n")
    result = classify(runner, mini_model_path, str(path))
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: no text column found; columns are id, remarks; pass --text-column NAME"
    result = classify(runner, mini_model_path, str(path), "--text-column", "remarks", "-q")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("id,remarks,lifecycle_stage")


@pytest.mark.parametrize(("args", "env"), [(["--debug"], {}), ([], {"JOURNEY_DEBUG": "1"})])
def test_debug_shows_the_traceback_behind_an_error_line(runner, tmp_path, args, env):
    path = tmp_path / "export.csv"
    path.write_text("id,remarks\n1,where can I buy a decent used bike\n")
    plain = runner.invoke(app, ["classify", str(path)])
    debugged = runner.invoke(app, [*args, "classify", str(path)], env=env)
    assert plain.exit_code == debugged.exit_code == 1
    assert len(plain.stderr.splitlines()) == 1
    assert debugged.stderr.startswith("Traceback (most recent call last):")
    assert "journey_cli/reading.py" in debugged.stderr and "DataError: no text column found" in debugged.stderr
    assert debugged.stderr.splitlines()[-1] == plain.stderr.strip()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["classify", "absent.csv"], 1, "Error: file not found: absent.csv"),
        (["classify", "examples/posts.csv", "--model", "absent.skops"], 1, "Error: model file not found"),
        (["classify", "examples/posts.csv", "--threshold", "2"], 2, "Invalid value for '--threshold'"),
        (["classify", "examples/posts.csv", "--format", "xml"], 2, "Invalid value for '--format'"),
        (["classify"], 2, "Missing argument 'FILE'"),
        (["train", "absent.csv"], 1, "Error: file not found: absent.csv"),
        (["train", "examples/posts.csv"], 1, "Error: no label column"),
        (["train", "journey_cli/corpus.csv", "--folds", "1"], 2, "Invalid value for '--folds'"),
        (["classify", "examples/posts.csv", "--stages", "absent.yaml"], 1, "Error: stages file not found"),
    ],
)
def test_bad_input_gets_one_clear_line_and_an_exit_code(runner, args, code, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    if code == 1:
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_train_then_plain_classify_uses_the_new_model_and_reset_goes_back(runner, tmp_path, monkeypatch):
    home = tmp_path / "fresh" / "journey"  # as on a new machine: the user data folder does not exist yet
    monkeypatch.setenv("JOURNEY_HOME", str(home))
    result = runner.invoke(app, ["train", str(DATA / "mini_labelled.csv"), "--folds", "3", "--no-corpus"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "", "training reports go to stderr"
    saved = home / "model.skops"
    assert saved.exists()
    assert f"Saved the model to {saved}" in result.stderr
    assert "journey model --reset" in result.stderr
    assert re.search(r"lifecycle: 3-fold cross-validation", result.stderr)
    assert re.search(r"macro-F1 \d\.\d{3}", result.stderr)

    info = json.loads(runner.invoke(app, ["model", "--json"]).stdout)
    assert info["path"] == str(saved) and info["kind"] == "trained"
    assert info["training_data"]["rows"] == 84

    result = runner.invoke(app, ["model", "--reset"])
    assert result.exit_code == 0 and not saved.exists()
    assert json.loads(runner.invoke(app, ["model", "--json"]).stdout)["kind"] == "bundled"
    assert "bundled with journey" in runner.invoke(app, ["model"]).stdout


@pytest.mark.slow
def test_train_with_output_leaves_the_active_model_alone(runner, tmp_path, journey_home):
    target = tmp_path / "team.skops"
    result = runner.invoke(
        app, ["train", str(DATA / "mini_labelled.csv"), "--folds", "3", "--no-corpus", "-o", str(target)]
    )
    assert result.exit_code == 0, result.stderr
    assert target.exists() and not (journey_home / "model.skops").exists()
    assert f"journey classify --model {target}" in result.stderr


def test_no_rules_leaves_the_rule_columns_out(runner, mini_model_path):
    full = runner.invoke(app, ["classify", str(EXAMPLES / "posts.csv"), "-m", str(mini_model_path), "-q"]).stdout
    short = runner.invoke(
        app, ["classify", str(EXAMPLES / "posts.csv"), "-m", str(mini_model_path), "-q", "--no-rules"]
    )
    kept = pd.read_csv(io.StringIO(full), dtype=str).drop(columns=["lifecycle_rule", "social_rule"])
    assert_frame_equal(pd.read_csv(io.StringIO(short.stdout), dtype=str), kept)
    assert len(short.stdout) < len(full) / 2


def test_help_names_every_value_in_words(runner):
    for command in app.registered_commands:
        shown = runner.invoke(app, [command.name or command.callback.__name__, "-h"]).stdout
        assert not re.search(r"<(str|path|int|float|list)", shown), shown
    classify = runner.invoke(app, ["classify", "-h"]).stdout
    for option in ("--output FILE", "--chunk-size ROWS", "--threshold CONFIDENCE", "-t, --text-column COLUMN"):
        assert option in classify


def test_version_and_help_with_an_example_for_every_command(runner):
    result = runner.invoke(app, ["--version"])
    assert result.stdout.strip() == f"journey {__version__}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        help_text = runner.invoke(app, [name, "-h"]).stdout
        assert f"Example: {EXAMPLES_IN_HELP[name]}\n" in help_text, f"{name}: the example must show on one line"
        assert f"journey {name}" in readme, f"README does not show `journey {name}`"


EXAMPLES_IN_HELP = {
    (command.name or command.callback.__name__): re.search(r"Example: (journey .+)", command.callback.__doc__).group(1)
    for command in app.registered_commands
}


def run_help_example(command: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """The example in a command's help, as a user pastes it, in `folder` holding the repository's examples/."""
    shutil.copytree(EXAMPLES, folder / "examples")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        EXAMPLES_IN_HELP[command], shell=True, capture_output=True, text=True, cwd=folder, timeout=300,
        env={**os.environ, "PATH": path},
    )  # fmt: skip


@pytest.fixture(scope="module")
def b2b_trained(tmp_path_factory):
    """The b2b example model, trained once by the example in `journey train -h`."""
    folder = tmp_path_factory.mktemp("b2b")
    return run_help_example("train", folder), folder / "b2b.skops"


# What each help example leaves behind when it works: (in the folder, or on stdout/stderr).
HELP_EXAMPLE_SHOWS = {
    "classify": lambda run, folder: run.stdout.startswith("id\tauthor\tcreated_at\ttext\tlifecycle_stage\t"),
    "explain": lambda run, folder: run.stdout.splitlines()[1].startswith("  lifecycle: service ("),
    "suggest": lambda run, folder: len(pd.read_csv(folder / "to_label.csv")) == 20,
    "evaluate": lambda run, folder: "buying: 3-fold cross-validation" in run.stdout and (folder / "wrong.csv").exists(),
    "report": lambda run, folder: "reply first: the 10 surest" in run.stdout and (folder / "labelled.csv").exists(),
    "stages": lambda run, folder: run.stdout.startswith("examples/b2b/stages.yaml is a valid stages file: buying"),
    "model": lambda run, folder: json.loads(run.stdout)["kind"] == "bundled",
}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(HELP_EXAMPLE_SHOWS))
def test_the_example_in_each_commands_help_runs_from_a_clone(command, tmp_path):
    result = run_help_example(command, tmp_path)
    assert result.returncode == 0, result.stderr
    assert HELP_EXAMPLE_SHOWS[command](result, tmp_path), result.stdout + result.stderr


@pytest.mark.slow
def test_the_example_in_train_help_runs_from_a_clone(b2b_trained):
    result, model = b2b_trained
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "buying: 5-fold cross-validation" in result.stderr
    assert load_model(model).stages.framework_ids == ["buying"]


def test_every_command_has_its_help_example_run():
    assert set(HELP_EXAMPLE_SHOWS) | {"train"} == set(EXAMPLES_IN_HELP)


SCRIPT = Path(sys.executable).parent / ("journey.exe" if sys.platform == "win32" else "journey")


@pytest.mark.skipif(shutil.which("bash") is None or not SCRIPT.exists(), reason="needs bash and the installed script")
def test_bash_completion_offers_commands_options_and_choices(tmp_path):
    # What `journey --install-completion bash` installs, driven the way bash drives it on <Tab>.
    complete = f"""
        eval "$({SCRIPT} --show-completion bash)"
        tab() {{ COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _journey_completion {SCRIPT}; echo "${{COMPREPLY[*]}}"; }}
        tab journey re; tab journey classify --fo; tab journey classify --format ''; tab journey stages --format ''
    """
    result = subprocess.run(["bash", "-c", complete], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["report", "--format", "csv tsv jsonl xlsx", "table markdown json"]


@pytest.mark.skipif(not SCRIPT.exists(), reason="needs the installed script")
@pytest.mark.parametrize(("shell", "action"), [("zsh", {}), ("fish", {"_TYPER_COMPLETE_FISH_ACTION": "get-args"})])
def test_zsh_and_fish_completion_offer_the_choices_of_an_option(shell, action):
    # The request each shell's completion script sends (see `journey --show-completion` in that shell).
    request = {"_JOURNEY_COMPLETE": f"complete_{shell}", "_TYPER_COMPLETE_ARGS": "journey classify --format ", **action}
    result = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=60, env={**os.environ, **request})
    assert result.returncode == 0, result.stderr
    assert all(choice in result.stdout for choice in ("csv", "tsv", "jsonl", "xlsx"))


def test_python_m_and_quiet_end_when_the_reader_closes_the_pipe():
    # `journey classify | head` must end quietly: no BrokenPipeError traceback.
    command = [sys.executable, "-m", "journey_cli", "classify", str(EXAMPLES / "posts.csv")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        process.stdout.readline()
        process.stdout.close()
        stderr = process.stderr.read().decode()
        process.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_a_lone_carriage_return_in_a_cell_survives(runner, mini_model_path):
    # Old Mac line ends inside a field: unquoted, a CSV reader would split the row there.
    result = classify(runner, mini_model_path, "-", "-q", input=b'id,text\r\n1,"one\rtwo"\r\n')
    rows = list(csv.reader(io.StringIO(result.stdout, newline="")))
    assert rows[1][:2] == ["1", "one\rtwo"] and len(rows) == 2


CUSTOM_STAGES = """
frameworks:
  intent:
    name: Buying intent
    description: Whether the author is about to buy or already owns it.
    stages:
      - {id: shopping, name: Shopping, description: d, customer_wants: w, rule: Help them choose., avoid: a}
      - {id: owner, name: Owner, description: d, customer_wants: w, rule: Look after them., avoid: a}
      - {id: none, name: No journey, description: d, customer_wants: w, rule: Keep listening., avoid: a}
"""


def test_a_team_trains_and_classifies_with_its_own_framework(runner, tmp_path):
    mini = pd.read_csv(DATA / "mini_labelled.csv", dtype=str, keep_default_na=False)
    mini["intent"] = "shopping"
    mini.loc[mini["lifecycle"].isin(["consumption", "service"]), "intent"] = "owner"
    mini.loc[mini["lifecycle"] == "none", "intent"] = "none"
    mini[["text", "intent"]].to_csv(tmp_path / "intent.csv", index=False)
    (tmp_path / "intent.yaml").write_text(CUSTOM_STAGES)
    model = tmp_path / "intent.skops"
    result = runner.invoke(
        app,
        [
            "train",
            str(tmp_path / "intent.csv"),
            "--stages",
            str(tmp_path / "intent.yaml"),
            "-o",
            str(model),
            "--folds",
            "3",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "intent: 3-fold cross-validation" in result.stderr
    result = runner.invoke(app, ["classify", str(DATA / "mini_posts.csv"), "--model", str(model), "-q"])
    assert result.exit_code == 0, result.stderr
    output = pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)
    assert list(output.columns[-3:]) == ["intent_stage", "intent_confidence", "intent_rule"]
    assert set(output["intent_stage"]) <= {"shopping", "owner", "none"}
    # The default stages have other ids: using them with this model is refused.
    result = runner.invoke(
        app, ["classify", str(DATA / "mini_posts.csv"), "--model", str(model), "--stages", str(ROOT / "stages.yaml")]
    )
    assert result.exit_code == 1 and "trained for other stages" in result.stderr


@pytest.mark.slow
def test_output_is_byte_identical_whatever_the_chunk_size_or_workers(runner, mini_model_path):
    outputs = {
        (chunk, workers): classify(
            runner, mini_model_path, str(EXAMPLES / "posts.csv"), "-q", "--chunk-size", chunk, "--workers", workers
        ).stdout
        for chunk, workers in (("1", "1"), ("7", "2"), ("13", "3"), ("20000", "2"))
    }
    assert len(set(outputs.values())) == 1
    assert len(pd.read_csv(io.StringIO(outputs["1", "1"]))) == 80


def test_dask_engine_writes_what_classify_writes_for_each_file(runner, mini_model_path, tmp_path):
    pytest.importorskip("distributed")
    lines = (EXAMPLES / "posts.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    (tmp_path / "posts-1.csv").write_text(header + "".join(rows[:30]), encoding="utf-8")
    (tmp_path / "posts-2.csv").write_text(header + "".join(rows[30:]), encoding="utf-8")
    result = classify(
        runner, mini_model_path, str(tmp_path / "posts-*.csv"), "--engine", "dask",
        "--output-dir", str(tmp_path / "out"), "--workers", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for name in ("posts-1.csv", "posts-2.csv"):
        local = classify(runner, mini_model_path, str(tmp_path / name), "-q")
        assert (tmp_path / "out" / name).read_text(encoding="utf-8") == local.stdout
    assert "Classified" in result.stderr


def test_dask_options_need_the_dask_engine(runner, mini_model_path, tmp_path):
    result = classify(runner, mini_model_path, str(EXAMPLES / "posts.csv"), "--output-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "--output-dir and --scheduler go with --engine dask" in result.stderr


def test_a_header_only_file_gives_the_header_with_the_result_columns(runner, mini_model_path, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("id,text\n", encoding="utf-8")
    result = classify(runner, mini_model_path, str(path), "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "id,text," + ",".join(RESULT_COLUMNS) + "\n"


@pytest.mark.slow
def test_the_b2b_example_trains_classifies_and_reports_with_its_own_stage_ids(runner, tmp_path, b2b_trained):
    # A team's whole day with its own framework: train (the model becomes the active one), classify, report.
    b2b = EXAMPLES / "b2b"
    trained, model = b2b_trained
    assert trained.returncode == 0, trained.stderr
    assert "Frameworks are decided" not in trained.stderr  # one framework: nothing to decide jointly
    shutil.copy(model, user_model_path())  # where a plain `journey train` saves it (trained once per run)
    classified = tmp_path / "classified.csv"
    result = runner.invoke(app, ["classify", str(b2b / "posts.csv"), "-q", "-o", str(classified)])
    assert result.exit_code == 0, result.stderr
    output = pd.read_csv(classified, dtype=str, keep_default_na=False)
    assert list(output.columns) == ["id", "text", "buying_stage", "buying_confidence", "buying_rule"]
    ids = {"problem", "exploration", "requirements", "vendor_selection", "onboarding", "renewal", "none"}
    assert set(output["buying_stage"]) <= ids and len(output) == 20
    assert output["buying_rule"].str.len().gt(20).all()

    report = runner.invoke(app, ["report", str(classified)])  # the stages come from the active model
    assert report.exit_code == 0, report.stderr
    onboarding = int((output["buying_stage"] == "onboarding").sum())
    assert "buying: B2B buying journey (20 posts)" in report.stdout
    assert f"of {onboarding} posts at buying onboarding\n" in report.stdout  # its reply_first stage


@pytest.mark.parametrize(
    ("command", "library"),
    [
        (["classify", "{posts}", "--model", "{model}", "--format", "xlsx", "-o", "{out}/posts.xlsx"], "openpyxl"),
        (["report", "{out}/classified.csv", "--html", "{out}/report.html"], "matplotlib"),
        (["evaluate", "{labelled}", "--plot", "{out}/plot.png"], "matplotlib"),  # the bundled model
        (["classify", "{posts}", "--model", "{model}", "--engine", "dask", "--output-dir", "{out}/dir"], "dask"),
    ],
)
def test_an_optional_feature_without_its_library_says_how_to_add_it(
    runner, mini_model_path, tmp_path, monkeypatch, command, library
):
    posts, labelled = EXAMPLES / "posts.csv", DATA / "mini_labelled.csv"
    classified = str(tmp_path / "classified.csv")
    runner.invoke(app, ["classify", str(posts), "--model", str(mini_model_path), "-o", classified])
    (tmp_path / "dir").mkdir()
    monkeypatch.setitem(sys.modules, library, None)  # what `import` meets when it is not installed
    args = [arg.format(posts=posts, labelled=labelled, model=mini_model_path, out=tmp_path) for arg in command]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and f"needs {library}, which is not installed: pip install" in result.stderr
    assert "pipx inject journey" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["classified.csv", "dir"]  # nothing written
    assert not any((tmp_path / "dir").iterdir())
