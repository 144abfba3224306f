"""Look up the engagement rule for each post's stages, including rules that depend on another framework."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .stages import Stages


def stage_rules(stages: Stages, predicted: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The rule text per framework for every post, given each framework's predicted stage ids.

    A stage's `rules_when` entries override its rule where the other frameworks' stages match,
    so that praise and a complaint in the same lifecycle stage get different advice.
    """
    rules = {}
    for framework_id, stage_ids in predicted.items():
        framework = stages.frameworks[framework_id]
        stage_ids = np.asarray(stage_ids, dtype=object)
        chosen = np.empty(len(stage_ids), dtype=object)
        for stage in framework.stages:
            in_stage = stage_ids == stage.id
            chosen[in_stage] = stage.rule
            for conditional in stage.rules_when:
                matches = in_stage.copy()
                for other_id, other_stage in conditional.when.items():
                    other = predicted.get(other_id)
                    matches &= np.asarray(other, dtype=object) == other_stage if other is not None else False
                chosen[matches] = conditional.rule
        rules[framework_id] = chosen
    return rules
