"""The stages as people read them: a table for the terminal, Markdown for a team's wiki, a check's verdict."""

from __future__ import annotations

import textwrap
from html import escape
from pathlib import Path

from .stages import Stage, Stages, load_stages
from .terminal import printable

WIDTH = 100


def stages_table(stages: Stages) -> str:
    """Every framework's stages with what the customer wants, the rule and what to avoid, wrapped to `WIDTH`."""
    blocks = []
    for framework_id, framework in stages.frameworks.items():
        lines = [
            f"{framework_id}: {framework.name}",
            textwrap.fill(framework.description, WIDTH, initial_indent="  ", subsequent_indent="  "),
        ]
        for stage in framework.stages:
            lines.append(f"  {stage.id:<14}{stage.name}" + ("  (reply first)" if stage.reply_first else ""))
            when = [("", f"if {condition(c.when)}: {c.rule}") for c in stage.rules_when]
            labelled = [("wants", stage.customer_wants), ("rule", stage.rule), *when, ("avoid", stage.avoid)]
            for label, text in labelled:
                lines.append(textwrap.fill(text, WIDTH, initial_indent=f"    {label:<7}", subsequent_indent=" " * 11))
        blocks.append("\n".join(lines))
    for crosswalk in stages.crosswalk:
        first, second = crosswalk.frameworks
        lines = [f"crosswalk: {first} -> {second}"]
        lines += [f"  {stage_id:<14}{', '.join(linked)}" for stage_id, linked in crosswalk.links.items()]
        blocks.append("\n".join(lines))
    if stages.always_wants:
        needs = [f"  {need.name}: {need.description}" for need in stages.always_wants]
        blocks.append("\n".join(["what customers always want:", *needs]))
    return "\n\n".join(blocks)


def stages_markdown(stages: Stages) -> str:
    """The same as Markdown tables; a team's wording is escaped, so no HTML of its own reaches a wiki page."""
    blocks = []
    for framework_id, framework in stages.frameworks.items():
        rows = [
            f"## {_cell(framework.name)} (`{framework_id}`)",
            "",
            _cell(framework.description),
            "",
            "| stage | name | the customer wants | rule | avoid |",
            "|---|---|---|---|---|",
        ]
        rows += [
            f"| `{s.id}` | {_cell(s.name)}{' (reply first)' * s.reply_first} | {_cell(s.customer_wants)} | {_rule(s)}"
            f" | {_cell(s.avoid)} |"
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
        rows += [f"- **{_cell(need.name)}**: {_cell(need.description)}" for need in stages.always_wants]
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)


def condition(when: dict[str, str]) -> str:
    """A rules_when condition as a reader says it.

    >>> condition({"social": "advocacy", "lifecycle": "service"})
    'social is advocacy and lifecycle is service'
    """
    return " and ".join(f"{framework_id} is {stage_id}" for framework_id, stage_id in when.items())


def _cell(text: str) -> str:
    return escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _rule(stage: Stage) -> str:
    return "<br>".join([_cell(stage.rule)] + [f"If {condition(c.when)}: {_cell(c.rule)}" for c in stage.rules_when])


def stages_check(path: Path) -> str:
    """`journey stages --check`: a stages file loaded and so found valid, with its frameworks; an
    invalid one raises `StagesError` with every problem and its line."""
    stages = load_stages(path)
    counts = ", ".join(f"{f} ({len(framework.stages)} stages)" for f, framework in stages.frameworks.items())
    return f"{printable(str(path))} is a valid stages file: {counts}"
