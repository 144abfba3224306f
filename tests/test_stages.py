"""stages.yaml: the fixed framework and stage ids, complete rules, and errors that name their place."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from journey_cli import StagesError, load_stages, parse_stages
from journey_cli.stages import NONE, default_stages_path

from .conftest import ROOT

LIFECYCLE = ["realisation", "awareness", "evaluation", "transaction", "consumption", "service", "none"]
SOCIAL = ["pain_point", "research", "validation", "selection", "post_purchase", "advocacy", "none"]


def default_document() -> dict:
    return yaml.safe_load(default_stages_path().read_text(encoding="utf-8"))


def test_default_stages_have_the_fixed_ids_in_journey_order():
    stages = load_stages()
    assert stages.stage_ids() == {"lifecycle": LIFECYCLE, "social": SOCIAL}


def test_every_stage_has_its_rule_and_guidance_and_lifecycle_has_influence_goals():
    stages = load_stages()
    for framework_id, framework in stages.frameworks.items():
        for stage in framework.stages:
            for text in (stage.name, stage.description, stage.customer_wants, stage.rule, stage.avoid):
                assert text.strip(), (framework_id, stage.id)
            assert "\n" not in stage.rule, "a rule is one line"
            if framework_id == "lifecycle" and stage.id != NONE:
                assert stage.influence_goal
    assert len(stages.always_wants) == 5


def test_crosswalk_links_every_lifecycle_stage_to_social_stages():
    (crosswalk,) = load_stages().crosswalk
    assert crosswalk.frameworks == ("lifecycle", "social")
    assert set(crosswalk.links) == set(LIFECYCLE)
    assert crosswalk.links["realisation"] == ("pain_point",)
    assert "advocacy" in crosswalk.links["consumption"]


def test_top_level_stages_yaml_is_the_one_shipped_in_the_package():
    packaged = default_stages_path().read_bytes()
    assert (ROOT / "stages.yaml").read_bytes() == packaged, "run: cp stages.yaml journey_cli/stages.yaml"


def test_missing_field_is_reported_with_its_place():
    document = default_document()
    del document["frameworks"]["social"]["stages"][3]["rule"]
    with pytest.raises(StagesError, match=r"frameworks\.social\.stages\[3\]\.rule: missing"):
        parse_stages(yaml.safe_dump(document))


def test_every_problem_is_reported_at_once():
    document = default_document()
    del document["frameworks"]["lifecycle"]["stages"][0]["avoid"]
    document["frameworks"]["social"]["stages"][1]["rulle"] = "typo"
    with pytest.raises(StagesError) as error:
        parse_stages(yaml.safe_dump(document))
    assert "frameworks.lifecycle.stages[0].avoid: missing" in str(error.value)
    assert "frameworks.social.stages[1].rulle: unknown field" in str(error.value)


def test_duplicate_stage_ids_and_missing_none_are_refused():
    document = default_document()
    stages = document["frameworks"]["social"]["stages"]
    stages[1]["id"] = stages[0]["id"]
    with pytest.raises(
        StagesError, match=r"frameworks\.social\.stages\[1\]\.id: 'pain_point' is the id of stages\[0\]"
    ):
        parse_stages(yaml.safe_dump(document))
    document = default_document()
    document["frameworks"]["social"]["stages"].pop()
    with pytest.raises(StagesError, match="needs a stage with id 'none'"):
        parse_stages(yaml.safe_dump(document))


def test_crosswalk_and_conditional_rules_must_name_real_stages():
    document = default_document()
    document["crosswalk"][0]["links"]["awareness"] = ["reserch"]
    with pytest.raises(StagesError, match=r"crosswalk\[0\]\.links\.awareness: 'reserch' is not a stage of social"):
        parse_stages(yaml.safe_dump(document))
    document = default_document()
    document["frameworks"]["lifecycle"]["stages"][4]["rules_when"][0]["when"] = {"socail": "advocacy"}
    with pytest.raises(StagesError, match=r"rules_when\[0\]\.when\.socail: unknown framework"):
        parse_stages(yaml.safe_dump(document))


def test_broken_yaml_and_python_tags_are_refused_with_a_line():
    with pytest.raises(StagesError, match="not valid YAML at line 2"):
        parse_stages("frameworks:\n\tlifecycle: {}\n")
    with pytest.raises(StagesError, match=r"line 1: tag !!python/object/apply:os\.system is not allowed"):
        parse_stages("frameworks: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(StagesError, match="expected a mapping"):
        parse_stages("- just\n- a list\n")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(StagesError, match="stages file not found"):
        load_stages(tmp_path / "nope.yaml")


def test_a_team_can_define_its_own_framework_and_ids():
    stages = parse_stages(
        textwrap.dedent(
            """
            frameworks:
              b2b:
                name: B2B buying
                description: How a business buys software.
                stages:
                  - {id: problem, name: Problem, description: d, customer_wants: w, rule: Listen., avoid: a}
                  - {id: shortlist, name: Shortlist, description: d, customer_wants: w, rule: Help., avoid: a}
                  - {id: none, name: None, description: d, customer_wants: w, rule: Wait., avoid: a}
            """
        )
    )
    assert stages.stage_ids() == {"b2b": ["problem", "shortlist", "none"]}


def test_fingerprint_follows_ids_not_wording():
    document = default_document()
    original = parse_stages(yaml.safe_dump(document)).fingerprint()
    document["frameworks"]["social"]["stages"][0]["rule"] = "Say something else entirely."
    assert parse_stages(yaml.safe_dump(document)).fingerprint() == original
    document["frameworks"]["social"]["stages"][0]["id"] = "pain"
    document["crosswalk"][0]["links"]["realisation"] = ["pain"]
    assert parse_stages(yaml.safe_dump(document)).fingerprint() != original


def test_stages_changed_in_code_are_saved_as_they_are_now():
    stages = load_stages()
    assert stages.source_yaml == default_stages_path().read_text(encoding="utf-8")  # comments and all
    social_only = stages.model_copy(update={"frameworks": {"social": stages.frameworks["social"]}, "crosswalk": ()})
    assert parse_stages(social_only.source_yaml) == social_only
