"""Load and check `stages.yaml`: the journey frameworks, their stages and engagement rules."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from .errors import StagesError

NONE = "none"
"""The outcome every framework has: not part of a customer journey, or not confident enough."""

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    # Unknown keys are errors so that a typo such as `rulle:` is reported, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConditionalRule(_Strict):
    """A rule that replaces the stage's own when other frameworks' stages match `when`."""

    when: dict[Identifier, Identifier] = Field(min_length=1)
    rule: Text


class Stage(_Strict):
    id: Identifier
    name: Text
    description: Text
    customer_wants: Text
    rule: Text
    avoid: Text
    influence_goal: Text | None = None
    rules_when: tuple[ConditionalRule, ...] = ()


class Framework(_Strict):
    name: Text
    description: Text
    stages: tuple[Stage, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _stage_ids_unique_with_none(self) -> Framework:
        ids = [stage.id for stage in self.stages]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"stage ids must be unique; repeated: {', '.join(duplicates)}")
        if NONE not in ids:
            raise ValueError(f"every framework needs a stage with id '{NONE}' (posts not on a journey)")
        return self

    @property
    def stage_ids(self) -> list[str]:
        return [stage.id for stage in self.stages]

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(stage_id)


class Need(_Strict):
    name: Text
    description: Text


class Crosswalk(_Strict):
    """Which stages of the first framework go with which stages of the second."""

    frameworks: tuple[Identifier, Identifier]
    links: dict[Identifier, tuple[Identifier, ...]]


class Stages(_Strict):
    """The whole stages document: frameworks in order, crosswalks, and what customers always want."""

    always_wants: tuple[Need, ...] = ()
    frameworks: dict[Identifier, Framework] = Field(min_length=1)
    crosswalk: tuple[Crosswalk, ...] = ()

    @model_validator(mode="after")
    def _references_exist(self) -> Stages:
        problems = []
        for f_id, framework in self.frameworks.items():
            for s_index, stage in enumerate(framework.stages):
                for r_index, conditional in enumerate(stage.rules_when):
                    for other, other_stage in conditional.when.items():
                        place = f"frameworks.{f_id}.stages[{s_index}].rules_when[{r_index}].when.{other}"
                        problems += self._unknown(other, other_stage, place)
        for c_index, crosswalk in enumerate(self.crosswalk):
            first, second = crosswalk.frameworks
            for f_id in (first, second):
                if f_id not in self.frameworks:
                    problems.append(f"crosswalk[{c_index}].frameworks: unknown framework '{f_id}'")
            if problems:
                break
            for stage_id, linked in crosswalk.links.items():
                place = f"crosswalk[{c_index}].links.{stage_id}"
                problems += self._unknown(first, stage_id, place)
                for other_stage in linked:
                    problems += self._unknown(second, other_stage, place)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _unknown(self, framework_id: str, stage_id: str, place: str) -> list[str]:
        if framework_id not in self.frameworks:
            return [f"{place}: unknown framework '{framework_id}'"]
        if stage_id not in self.frameworks[framework_id].stage_ids:
            return [f"{place}: '{stage_id}' is not a stage of {framework_id}"]
        return []

    @property
    def framework_ids(self) -> list[str]:
        return list(self.frameworks)

    def stage_ids(self) -> dict[str, list[str]]:
        """Framework id to its stage ids, in file order: what a model must have been trained for."""
        return {f_id: framework.stage_ids for f_id, framework in self.frameworks.items()}

    def fingerprint(self) -> str:
        """A short hash of the framework and stage ids (not the wording, which may change freely)."""
        canonical = json.dumps(self.stage_ids(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def default_stages_path() -> Path:
    """The `stages.yaml` that ships inside the package."""
    return Path(str(resources.files("journey_cli").joinpath("stages.yaml")))


def load_stages(path: str | Path | None = None) -> Stages:
    """Read and check a stages YAML file (the bundled one when `path` is None).

    Raises StagesError naming every problem with its place, e.g.
    `frameworks.social.stages[3].rule: missing`.
    """
    path = Path(path) if path is not None else default_stages_path()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise StagesError(f"stages file not found: {path}") from None
    except IsADirectoryError:
        raise StagesError(f"{path} is a directory; pass a stages YAML file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise StagesError(f"cannot read stages file {path}: {error}") from None
    return parse_stages(text, source=str(path))


def parse_stages(text: str, source: str = "stages") -> Stages:
    """Check stages YAML given as text; see `load_stages`."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise StagesError(f"{source}: not valid YAML{line}: {problem}") from None
    if not isinstance(document, dict):
        raise StagesError(f"{source}: expected a mapping with a 'frameworks' key at the top")
    try:
        return Stages.model_validate(document)
    except ValidationError as error:
        problems = [_describe(detail) for detail in error.errors()]
        raise StagesError(f"{source}: " + "; ".join(problems)) from None


def _describe(detail: Any) -> str:
    place = ""
    for part in detail["loc"]:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    kind = detail["type"]
    if kind == "missing":
        message = "missing"
    elif kind == "extra_forbidden":
        message = "unknown field (check its spelling)"
    elif kind == "value_error":
        message = str(detail["ctx"]["error"])
    elif kind == "string_pattern_mismatch":
        message = "ids use lowercase letters, digits and _ and start with a letter"
    else:
        message = detail["msg"].lower()
    return f"{place}: {message}" if place else message
