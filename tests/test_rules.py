"""Engagement rules: one per stage, and praise gets a different rule from a complaint."""

from __future__ import annotations

import numpy as np

from journey_cli import load_stages, stage_rules


def test_each_stage_gets_its_own_rule_and_none_says_keep_listening():
    stages = load_stages()
    rules = stage_rules(
        stages, {"lifecycle": np.array(["realisation", "none"]), "social": np.array(["pain_point", "none"])}
    )
    lifecycle = stages.frameworks["lifecycle"]
    assert rules["lifecycle"].tolist() == [lifecycle.stage("realisation").rule, lifecycle.stage("none").rule]
    assert "Keep listening" in rules["social"][1]


def test_praise_and_complaints_about_the_product_get_different_rules():
    stages = load_stages()
    rules = stage_rules(
        stages,
        {
            "lifecycle": np.array(["consumption", "consumption", "service", "service"]),
            "social": np.array(["post_purchase", "advocacy", "post_purchase", "advocacy"]),
        },
    )["lifecycle"]
    complaint, praise, service_complaint, service_praise = rules
    assert complaint == stages.frameworks["lifecycle"].stage("consumption").rule
    assert praise != complaint and "invite them to share" in praise
    assert "empathy" in service_complaint and "Thank them" in service_praise


def test_conditional_rules_need_the_other_framework_to_apply():
    stages = load_stages()
    rules = stage_rules(stages, {"lifecycle": np.array(["consumption"])})
    assert rules["lifecycle"][0] == stages.frameworks["lifecycle"].stage("consumption").rule
