"""`journey stages`: the frameworks as a team reads them, and a check of a team's own file."""

from __future__ import annotations

import json

from journey_cli import load_stages
from journey_cli.cli import app
from journey_cli.stages import Stages, default_stages_path


def test_the_table_shows_every_stage_its_rule_and_the_crosswalk(runner):
    result = runner.invoke(app, ["stages"])
    assert result.exit_code == 0, result.stderr
    stages = load_stages()
    for framework_id, framework in stages.frameworks.items():
        assert f"{framework_id}: {framework.name}" in result.stdout
        for stage in framework.stages:
            assert f"  {stage.id} " in result.stdout
            assert stage.rule.split()[0] in result.stdout
    assert "crosswalk: lifecycle -> social" in result.stdout
    assert "evaluation    validation, selection" in result.stdout
    assert "  post_purchase Post-purchase  (reply first)\n" in result.stdout  # what `journey report` lists first


def test_markdown_is_one_table_row_per_stage_and_per_link(runner):
    result = runner.invoke(app, ["stages", "--format", "markdown"])
    assert result.exit_code == 0
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `")]
    stages = load_stages()
    assert sum(row.count("|") == 6 for row in rows) == sum(len(f.stages) for f in stages.frameworks.values())
    assert sum(row.count("|") == 3 for row in rows) == sum(len(c.links) for c in stages.crosswalk)


def test_json_is_the_whole_validated_document(runner):
    result = runner.invoke(app, ["stages", "-f", "json"])
    assert Stages.model_validate(json.loads(result.stdout)) == load_stages()


def test_check_says_valid_or_lists_every_problem_with_its_line(runner, tmp_path):
    result = runner.invoke(app, ["stages", "--check", str(default_stages_path())])
    assert result.exit_code == 0 and "is a valid stages file: lifecycle (7 stages), social (7 stages)" in result.stdout
    broken = tmp_path / "ours.yaml"
    text = default_stages_path().read_text(encoding="utf-8")
    broken.write_text(text.replace("rule: Listen,", "rulle: Listen,", 1).replace("- id: awareness", "- id: Awareness"))
    result = runner.invoke(app, ["stages", "--check", str(broken)])
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert len(result.stderr.splitlines()) == 1 and line.startswith(f"Error: {broken} line ")
    assert "rulle: unknown field" in line and "stages[1].id" in line and "stages[0].rule: missing" in line


def test_conditional_rules_and_what_customers_always_want_are_shown(runner):
    table = runner.invoke(app, ["stages"]).stdout
    assert "if social is advocacy: Thank them by name" in table
    markdown = runner.invoke(app, ["stages", "-f", "markdown"]).stdout
    assert "<br>If social is advocacy: Thank them by name" in markdown
    assert "## What customers always want" in markdown and "- **Speed of response**:" in markdown


def test_markdown_carries_no_html_from_a_teams_file(runner, tmp_path):
    hostile = tmp_path / "stages.yaml"
    text = default_stages_path().read_text(encoding="utf-8")
    hostile.write_text(text.replace("name: Awareness", "name: <img src=x onerror=alert(1)>"), encoding="utf-8")
    markdown = runner.invoke(app, ["stages", "--stages", str(hostile), "-f", "markdown"]).stdout
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)&gt;" in markdown
