"""Load and check `stages.yaml`: the journey frameworks, their stages and engagement rules."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, ValidationError, model_validator

from .errors import StagesError

NONE = "none"
"""The outcome every framework has: not part of a customer journey, or not confident enough."""

# Limits for untrusted stages files (teams pass their own with --stages). The bundled file is about
# 10 KB, holds about 300 values and is nested 6 deep, so these only stop hostile or mistaken files.
MAX_CHARACTERS = 1_000_000
MAX_VALUES = 100_000
"""Values once every alias is expanded: a few nested aliases can otherwise stand for billions."""
MAX_DEPTH = 64

_YAML_TAG = "tag:yaml.org,2002:"
# The tags yaml.safe_load understands; any other (python/..., custom !foo) is refused by name.
_SAFE_TAGS = frozenset(
    _YAML_TAG + name
    for name in ("null", "bool", "int", "float", "binary", "timestamp", "omap", "pairs", "set", "str", "seq", "map")
)

_Location = tuple[str | int, ...]

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _LocatedProblems(ValueError):
    """Several problems found by one check, each with its place so that it can be given a line."""

    def __init__(self, problems: list[tuple[_Location, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{_place(loc)}: {message}" for loc, message in problems))


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
    reply_first: bool = False
    """Posts at this stage need a fast reply; `journey report` lists them first."""
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
    _source: str = PrivateAttr(default="")

    @property
    def source_yaml(self) -> str:
        """The YAML these stages were read from, comments and all (a model file keeps it); for stages
        built in code, the same stages written as YAML."""
        return self._source or yaml.safe_dump(self.model_dump(mode="json", exclude_defaults=True), sort_keys=False)

    def __eq__(self, other: object) -> bool:  # the same stages, whichever file or text they came from
        return isinstance(other, Stages) and self.__dict__ == other.__dict__

    __hash__ = _Strict.__hash__

    @model_validator(mode="after")
    def _references_exist(self) -> Stages:
        problems: list[tuple[_Location, str]] = []
        for f_id, framework in self.frameworks.items():
            for s_index, stage in enumerate(framework.stages):
                for r_index, conditional in enumerate(stage.rules_when):
                    for other, other_stage in conditional.when.items():
                        place = ("frameworks", f_id, "stages", s_index, "rules_when", r_index, "when", other)
                        problems += self._unknown(other, other_stage, place)
        for c_index, crosswalk in enumerate(self.crosswalk):
            first, second = crosswalk.frameworks
            for f_id in (first, second):
                if f_id not in self.frameworks:
                    problems.append((("crosswalk", c_index, "frameworks"), f"unknown framework '{f_id}'"))
            if problems:
                break
            for stage_id, linked in crosswalk.links.items():
                place = ("crosswalk", c_index, "links", stage_id)
                problems += self._unknown(first, stage_id, place)
                for other_stage in linked:
                    problems += self._unknown(second, other_stage, place)
        if problems:
            raise _LocatedProblems(problems)
        return self

    def _unknown(self, framework_id: str, stage_id: str, place: _Location) -> list[tuple[_Location, str]]:
        if framework_id not in self.frameworks:
            return [(place, f"unknown framework '{framework_id}'")]
        if stage_id not in self.frameworks[framework_id].stage_ids:
            return [(place, f"'{stage_id}' is not a stage of {framework_id}")]
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

    Raises StagesError naming every problem with its line and place, e.g.
    `stages.yaml line 42, frameworks.social.stages[3].rule: missing`.
    """
    path = Path(path) if path is not None else default_stages_path()
    try:
        with path.open(encoding="utf-8-sig") as file:
            # One character past the limit is enough for parse_stages to refuse a huge file (or /dev/zero).
            text = file.read(MAX_CHARACTERS + 1)
    except FileNotFoundError:
        raise StagesError(f"stages file not found: {path}") from None
    except IsADirectoryError:
        raise StagesError(f"{path} is a directory; pass a stages YAML file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise StagesError(f"cannot read stages file {path}: {error}") from None
    return parse_stages(text, source=str(path))


def parse_stages(text: str, source: str = "stages") -> Stages:
    """Check stages YAML given as text; see `load_stages`.

    The text is untrusted: only plain YAML (no python or custom tags) is read, and alias bombs, cycles,
    deep nesting and huge files are refused before anything is built from them.
    """
    if len(text) > MAX_CHARACTERS:
        raise StagesError(f"{source}: larger than 1 MB; a stages file is about 10 KB, so check this is the right file")
    loader = _GuardedLoader(text, source)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise StagesError(f"{source}: not valid YAML{line}: {problem}") from None
    finally:
        loader.dispose()
    if not isinstance(document, dict):
        raise StagesError(f"{source}: expected a mapping with a 'frameworks' key at the top")
    try:
        stages = Stages.model_validate(document)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            for loc, message in _describe(detail):
                place = _place(loc)
                where = f"line {_line_of(node, loc)}"
                problems.append(f"{where}, {place}: {message}" if place else f"{where}: {message}")
        raise StagesError(f"{source} " + "; ".join(problems)) from None
    stages._source = text
    return stages


@dataclass
class _Extent:
    """How many values a node stands for once its aliases are expanded; open until its end event."""

    size: int = 1
    open: bool = False


class _GuardedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that checks each event as the composer takes it, so one pass both checks and reads.

    The parser is an iterative state machine, so a refusal here comes before the recursive composer
    goes deep and before aliases are expanded by construction or by pydantic.
    """

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self._source = source
        self._open: list[_Extent] = []
        self._anchors: dict[str, _Extent] = {}
        self._values = 0
        self._aliased = False

    def get_event(self) -> yaml.Event:
        event = super().get_event()
        self._check(event)
        return event

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, AttributeError):
            # SafeConstructor raises these for a typed scalar that is not of its type, e.g. `!!int abc`.
            if not isinstance(node, yaml.ScalarNode):
                raise
            tag = node.tag.replace(_YAML_TAG, "!!")
            raise yaml.constructor.ConstructorError(
                problem=f"{tag} {node.value!r} is not a valid {tag[2:]}", problem_mark=node.start_mark
            ) from None

    def _check(self, event: yaml.Event) -> None:
        where = f"{self._source} line {event.start_mark.line + 1}"
        if isinstance(event, yaml.DocumentStartEvent):
            self._anchors = {}
        elif isinstance(event, yaml.AliasEvent):
            anchor = self._anchors.get(event.anchor)
            if anchor is None:
                return  # the composer reports an undefined alias, with its line
            if anchor.open:
                raise StagesError(
                    f"{where}: alias *{event.anchor} is inside its own anchor &{event.anchor}, which makes an endless"
                    " structure; repeat the values instead"
                )
            self._aliased = True
            self._count(anchor.size, where)
        elif isinstance(event, (yaml.ScalarEvent, yaml.events.CollectionStartEvent)):
            if event.tag is not None and event.tag != "!" and event.tag not in _SAFE_TAGS:
                tag = event.tag.replace(_YAML_TAG, "!!", 1) if event.tag.startswith(_YAML_TAG) else event.tag
                raise StagesError(
                    f"{where}: tag {tag} is not allowed; stages files hold plain text, lists and mappings"
                )
            extent = _Extent(open=isinstance(event, yaml.events.CollectionStartEvent))
            if event.anchor is not None:
                self._anchors[event.anchor] = extent
            self._count(1, where)
            if extent.open:
                self._open.append(extent)
                if len(self._open) > MAX_DEPTH:
                    raise StagesError(
                        f"{where}: lists and mappings nested more than {MAX_DEPTH} deep; a stages file needs about 6"
                    )
        elif isinstance(event, yaml.events.CollectionEndEvent):
            extent = self._open.pop()
            extent.open = False
            if self._open:
                self._open[-1].size += extent.size - 1  # its own 1 was counted at its start

    def _count(self, values: int, where: str) -> None:
        self._values += values
        if self._open:
            self._open[-1].size += values
        if self._values > MAX_VALUES:
            expanded = " once its aliases are expanded, which looks like an alias bomb" if self._aliased else ""
            raise StagesError(
                f"{where}: the document holds more than {MAX_VALUES:,} values{expanded};"
                " a stages file has a few hundred"
            )


def _line_of(root: yaml.Node, loc: _Location) -> int:
    """The line of the deepest node on `loc`: a key's own line, or for a missing key the mapping lacking it."""
    node, line = root, root.start_mark.line
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            # The last of repeated keys is the one that counts, as in the constructed document.
            found = [
                (key, value) for key, value in node.value if isinstance(key, yaml.ScalarNode) and key.value == str(part)
            ]
            if not found:
                break
            key, node = found[-1]
            line = key.start_mark.line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


def _place(loc: _Location) -> str:
    """A loc as a path: `frameworks.social.stages[3].rule`, or `frameworks.Social[key]` for a bad key."""
    place = ""
    for part in loc:
        if isinstance(part, int):
            place += f"[{part}]"
        elif part == "[key]":
            place += part
        else:
            place += f".{part}" if place else part
    return place


def _describe(detail: Any) -> list[tuple[_Location, str]]:
    """Pydantic's error as (place, message) pairs; one check may report several problems."""
    loc = tuple(detail["loc"])
    kind = detail["type"]
    if kind == "missing":
        message = "missing"
    elif kind == "extra_forbidden":
        message = "unknown field (check its spelling)"
    elif kind == "value_error":
        error = detail["ctx"]["error"]
        if isinstance(error, _LocatedProblems):
            return [(loc + inner, message) for inner, message in error.problems]
        message = str(error)
    elif kind == "string_pattern_mismatch":
        message = "ids use lowercase letters, digits and _ and start with a letter"
    else:
        message = detail["msg"].lower()
    return [(loc, message)]
