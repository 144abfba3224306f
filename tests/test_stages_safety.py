"""A team's stages.yaml is untrusted: no code runs, bombs and cycles are refused fast, and errors name the line."""

from __future__ import annotations

import re
import textwrap
import time

import pytest

from journey_cli import StagesError, load_stages, parse_stages
from journey_cli.cli import app
from journey_cli.stages import default_stages_path

from .conftest import EXAMPLES


def alias_bomb(levels: int = 9, aliases: int = 10) -> str:
    """A "billion laughs" stages file: `aliases ** levels` copies of one word, written in a few hundred bytes."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * aliases) + "]")
    lines.append(f"frameworks: *a{levels}")
    return "\n".join(lines) + "\n"


def bundled_lines() -> list[str]:
    return default_stages_path().read_text(encoding="utf-8").splitlines(keepends=True)


def line_of(lines: list[str], text: str) -> int:
    """The 1-based number of the only line whose content is `text`."""
    (index,) = [i for i, line in enumerate(lines) if line.strip() == text]
    return index + 1


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!python/object/apply:os.system ['echo hacked']", "!!python/object/apply:os.system"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!!python/object/new:collections.OrderedDict [[]]", "!!python/object/new:collections.OrderedDict"),
        ("!!python/module:os", "!!python/module:os"),
        ("!team_rule {text: hi}", "!team_rule"),
    ],
)
def test_python_and_custom_tags_are_refused_by_name_and_line(value, tag):
    text = f"always_wants: []\nframeworks:\n  social: {value}\n"
    with pytest.raises(StagesError) as error:
        parse_stages(text, source="stages.yaml")
    message = str(error.value)
    assert message == (
        f"stages.yaml line 3: tag {tag} is not allowed; stages files hold plain text, lists and mappings"
    )


def test_a_tag_hidden_behind_a_tag_directive_is_refused_too():
    text = "%TAG !py! tag:yaml.org,2002:python/\n---\nframeworks: !py!object/apply:os.system ['echo hacked']\n"
    with pytest.raises(StagesError, match=r"line 3: tag !!python/object/apply:os\.system is not allowed"):
        parse_stages(text)


def test_a_python_payload_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "MARKER"
    stages_file = tmp_path / "stages.yaml"
    stages_file.write_text(f'frameworks: !!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8")
    with pytest.raises(StagesError, match="is not allowed"):
        load_stages(stages_file)
    assert not marker.exists()


def test_a_billion_laughs_is_refused_within_a_second():
    started = time.perf_counter()
    with pytest.raises(StagesError) as error:
        parse_stages(alias_bomb(), source="bomb.yaml")
    assert time.perf_counter() - started < 1
    message = str(error.value)
    assert re.fullmatch(r"bomb\.yaml line \d+: the document holds more than 100,000 values .*", message)
    assert "once its aliases are expanded, which looks like an alias bomb" in message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("frameworks: &loop [*loop]\n", 1),
        ("frameworks: &loop\n  social:\n    stages: *loop\n", 3),
    ],
)
def test_an_alias_inside_its_own_anchor_is_refused(text, line):
    with pytest.raises(StagesError) as error:
        parse_stages(text, source="stages.yaml")
    assert str(error.value).startswith(f"stages.yaml line {line}: alias *loop is inside its own anchor &loop")


def test_absurd_nesting_is_refused_without_a_recursion_error():
    depth = 10_000
    with pytest.raises(StagesError, match=r"^stages line 1: lists and mappings nested more than 64 deep"):
        parse_stages("frameworks: " + "[" * depth + "]" * depth + "\n")


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path):
    huge = tmp_path / "stages.yaml"
    huge.write_text("frameworks:\n" + "  # padding\n" * 200_000, encoding="utf-8")
    assert huge.stat().st_size > 2_000_000
    with pytest.raises(StagesError, match=r"stages\.yaml: larger than 1 MB; a stages file is about 10 KB"):
        load_stages(huge)


def test_a_missing_rule_is_reported_at_the_line_where_its_stage_starts():
    lines = bundled_lines()
    start = line_of(lines, "- id: selection")
    rule = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("rule:"))
    del lines[rule]
    with pytest.raises(StagesError) as error:
        parse_stages("".join(lines), source="stages.yaml")
    assert str(error.value) == f"stages.yaml line {start}, frameworks.social.stages[3].rule: missing"


def test_every_problem_gets_its_own_line():
    lines = bundled_lines()
    typo = line_of(lines, "- id: research") + 1
    lines[typo - 1] = lines[typo - 1].replace("name:", "nmae:")
    bad_key = line_of(lines, "lifecycle:")
    lines[bad_key - 1] = lines[bad_key - 1].replace("lifecycle", "Lifecycle")
    with pytest.raises(StagesError) as error:
        parse_stages("".join(lines), source="stages.yaml")
    message = str(error.value)
    assert message.startswith("stages.yaml line ")
    assert f"line {bad_key}, frameworks.Lifecycle[key]: ids use lowercase letters" in message
    assert f"line {typo - 1}, frameworks.social.stages[1].name: missing" in message
    assert f"line {typo}, frameworks.social.stages[1].nmae: unknown field (check its spelling)" in message


def test_an_unknown_stage_in_the_crosswalk_is_reported_at_its_line():
    lines = bundled_lines()
    link = line_of(lines, "awareness: [research]")
    lines[link - 1] = lines[link - 1].replace("research", "reserch")
    with pytest.raises(StagesError) as error:
        parse_stages("".join(lines), source="stages.yaml")
    assert str(error.value) == (
        f"stages.yaml line {link}, crosswalk[0].links.awareness: 'reserch' is not a stage of social"
    )


def test_a_typed_value_that_is_not_of_its_type_is_a_clear_error():
    with pytest.raises(StagesError, match=r"not valid YAML at line 3: !!int 'many' is not a valid int"):
        parse_stages("frameworks:\n  social:\n    stages: !!int many\n")


def test_a_few_anchors_and_aliases_still_load():
    stages = parse_stages(
        textwrap.dedent(
            """
            frameworks:
              b2b:
                name: B2B buying
                description: &how How a business buys software.
                stages:
                  - &problem {id: problem, name: Problem, description: *how, customer_wants: w, rule: Listen., avoid: a}
                  - {<<: *problem, id: shortlist, name: Shortlist, rule: Help.}
                  - {<<: *problem, id: none, name: !!str None, rule: Wait.}
            """
        )
    )
    framework = stages.frameworks["b2b"]
    assert framework.stage_ids == ["problem", "shortlist", "none"]
    assert framework.stage("shortlist").description == "How a business buys software."
    assert framework.stage("none").name == "None"


def test_classify_with_a_bomb_for_stages_prints_one_error_line(runner, tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    result = runner.invoke(app, ["classify", str(EXAMPLES / "posts.csv"), "--stages", str(bomb)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {bomb} line ")
    assert "alias bomb" in line


@pytest.mark.parametrize("character", ["\x1a", "\x00"])
def test_a_control_character_is_one_error_line_with_its_place(runner, tmp_path, character):
    lines = bundled_lines()
    stages_file = tmp_path / "z1.yaml"
    stages_file.write_text("".join(lines) + character, encoding="utf-8")
    result = runner.invoke(app, ["stages", "--check", str(stages_file)])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    code = f"#x{ord(character):02x}"
    assert result.stderr == (
        f"Error: {stages_file}: not valid YAML at line {len(lines) + 1}: unacceptable character {code} at column 1,"
        " which YAML does not allow; delete it\n"
    )


@pytest.mark.parametrize(
    ("key", "first", "before", "added"),
    [
        # YAML itself keeps the last one, so a copy-paste slip would silently lose a whole framework.
        (
            "social",
            "social:",
            "crosswalk:",
            ["  social:\n", "    name: Ours\n", "    description: d\n", "    stages: []\n"],
        ),
        (
            "name",
            "name: Research",
            "description: The author has chosen a course of action and explores options in general.",
            ["        name: Looking around\n"],
        ),
    ],
)
def test_a_key_given_twice_is_refused_at_the_second(key, first, before, added):
    lines = bundled_lines()
    first_line, second_line = line_of(lines, first), line_of(lines, before)
    lines[second_line - 1 : second_line - 1] = added
    with pytest.raises(StagesError) as error:
        parse_stages("".join(lines), source="stages.yaml")
    assert str(error.value) == (
        f"stages.yaml line {second_line}: '{key}' appears twice in this mapping (first at line {first_line});"
        " rename or remove one"
    )


def test_an_unclosed_quote_names_the_line_where_it_starts():
    lines = bundled_lines()
    start = line_of(lines, "- id: awareness")
    lines[start - 1] = lines[start - 1].replace("awareness", '"awareness')
    with pytest.raises(StagesError) as error:
        parse_stages("".join(lines), source="stages.yaml")
    assert str(error.value) == (
        "stages.yaml: not valid YAML: found unexpected end of stream, in a quoted scalar that starts at line"
        f" {start}; close the quote"
    )


@pytest.mark.parametrize(
    ("indent", "hint"),
    [
        ("          ", "a key indented deeper than the one above it"),
        ("     ", "check this line's indentation"),
    ],
)
def test_a_bad_indent_is_reported_at_its_line_with_a_hint(indent, hint):
    lines = bundled_lines()
    bad = line_of(lines, "- id: awareness") + 2
    lines[bad - 1] = indent + lines[bad - 1].lstrip()
    with pytest.raises(StagesError) as error:
        parse_stages("".join(lines), source="stages.yaml")
    message = str(error.value)
    assert message.startswith(f"stages.yaml: not valid YAML at line {bad}: ")
    assert hint in message


def test_a_repeated_stage_id_is_reported_at_the_second_stage():
    lines = bundled_lines()
    first = line_of(lines, "- id: pain_point")
    repeated = line_of(lines, "- id: research")
    lines[repeated - 1] = lines[repeated - 1].replace("research", "pain_point")
    with pytest.raises(StagesError) as error:
        parse_stages("".join(lines), source="stages.yaml")
    assert str(error.value) == (
        f"stages.yaml line {repeated}, frameworks.social.stages[1].id: 'pain_point' is the id of"
        f" stages[0] too; stage ids must be unique"
    )
    assert first < repeated


def test_missing_fields_and_unknown_references_are_reported_together():
    lines = bundled_lines()
    stage = line_of(lines, "- id: selection")
    rule = next(i for i in range(stage, len(lines)) if lines[i].strip().startswith("rule:"))
    del lines[rule]
    link = line_of(lines, "awareness: [research]")
    lines[link - 1] = lines[link - 1].replace("research", "reserch")
    with pytest.raises(StagesError) as error:
        parse_stages("".join(lines), source="stages.yaml")
    assert str(error.value) == (
        f"stages.yaml line {stage}, frameworks.social.stages[3].rule: missing;"
        f" line {link}, crosswalk[0].links.awareness: 'reserch' is not a stage of social"
    )


def test_a_misspelt_id_is_reported_once_not_again_at_every_reference():
    lines = bundled_lines()
    misspelt = line_of(lines, "- id: awareness")
    lines[misspelt - 1] = lines[misspelt - 1].replace("awareness", "Awareness")
    with pytest.raises(StagesError) as error:
        parse_stages("".join(lines), source="stages.yaml")
    assert str(error.value).startswith(f"stages.yaml line {misspelt}, frameworks.lifecycle.stages[1].id: ids use")
    assert "crosswalk" not in str(error.value)
