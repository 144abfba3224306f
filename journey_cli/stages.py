"""Load and check `stages.yaml`: the journey frameworks, their stages and engagement rules."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

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
        problems: list[tuple[_Location, str]] = []
        ids = [stage.id for stage in self.stages]
        for index, stage_id in enumerate(ids):
            # Reported at the later stage: that is the one a team has usually just pasted in.
            if stage_id in ids[:index]:
                message = f"'{stage_id}' is the id of stages[{ids.index(stage_id)}] too; stage ids must be unique"
                problems.append((("stages", index, "id"), message))
        if NONE not in ids:
            problems.append(((), f"every framework needs a stage with id '{NONE}' (posts not on a journey)"))
        if problems:
            raise _LocatedProblems(problems)
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
    _fingerprint: tuple[object, str] = PrivateAttr(default=(None, ""))

    @property
    def source_yaml(self) -> str:
        """The YAML these stages were read from, comments and all (a model file keeps it); for stages
        built or changed in code (`model_copy` keeps the old text), the same stages written as YAML."""
        if self._source and parse_stages(self._source) == self:
            return self._source
        return yaml.safe_dump(self.model_dump(mode="json", exclude_defaults=True), sort_keys=False)

    def __eq__(self, other: object) -> bool:  # the same stages, whichever file or text they came from
        return isinstance(other, Stages) and self.__dict__ == other.__dict__

    __hash__ = _Strict.__hash__

    @model_validator(mode="after")
    def _references_exist(self) -> Stages:
        problems = _reference_problems(self.model_dump())
        if problems:
            raise _LocatedProblems(problems)
        return self

    @property
    def framework_ids(self) -> list[str]:
        return list(self.frameworks)

    def stage_ids(self) -> dict[str, list[str]]:
        """Framework id to its stage ids, in file order: what a model must have been trained for."""
        return {f_id: framework.stage_ids for f_id, framework in self.frameworks.items()}

    def fingerprint(self) -> str:
        """A short hash of the framework and stage ids (not the wording, which may change freely);
        computed once per frameworks object, as stages cannot change (a copy with other frameworks
        gets its own)."""
        known, fingerprint = self._fingerprint
        if known is not self.frameworks:
            canonical = json.dumps(self.stage_ids(), sort_keys=True, separators=(",", ":"))
            fingerprint = hashlib.sha256(canonical.encode()).hexdigest()[:16]
            self._fingerprint = (self.frameworks, fingerprint)
        return fingerprint


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
    node, document = _read_yaml(text, source)
    if node is None or not isinstance(document, dict):
        raise StagesError(f"{source}: expected a mapping with a 'frameworks' key at the top")
    try:
        stages = Stages.model_validate(document)
    except ValidationError as error:
        located = [problem for detail in error.errors() for problem in _describe(detail)]
        # The reference check is a model validator, which pydantic skips once a field is wrong; run it on
        # the plain document so that one --check lists both kinds of problem.
        located += [problem for problem in _reference_problems(document) if problem not in located]
        problems = []
        for loc, message in sorted(located, key=lambda problem: _line_of(node, problem[0])):  # in file order
            where = f"line {_line_of(node, loc)}"
            place = _place(loc)
            problems.append(f"{where}, {place}: {message}" if place else f"{where}: {message}")
        raise StagesError(f"{source} " + "; ".join(problems)) from None
    stages._source = text
    return stages


def _read_yaml(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The document's nodes (which know their lines) and its plain value; StagesError if it is not YAML."""
    try:
        # Inside the try: PyYAML refuses control characters as soon as the loader is made.
        loader = _GuardedLoader(text, source)
        try:
            node = loader.get_single_node()
            return node, loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise StagesError(f"{source}: not valid YAML{_yaml_problem(error, text)}") from None


# Advice for the YAML errors that a slip of indentation causes, which PyYAML words for parser writers.
_YAML_HINTS = {
    "mapping values are not allowed here": (
        "check for a key indented deeper than the one above it, or quote a value that holds ': '"
    ),
    "expected <block end>": "check this line's indentation, or for a quote left open above it",
    "while scanning a quoted scalar": "close the quote",
}


def _yaml_problem(error: yaml.YAMLError, text: str) -> str:
    """` at line 12: what is wrong`, naming also the line where an unclosed quote or bracket starts."""
    if isinstance(error, yaml.reader.ReaderError):
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        code = ord(error.character) if isinstance(error.character, str) else error.character
        where = f" at line {line}: unacceptable character #x{code:02x} at column {column}"
        return f"{where}, which YAML does not allow; delete it"
    problem_mark = getattr(error, "problem_mark", None)
    context_mark = getattr(error, "context_mark", None)
    context = getattr(error, "context", None) or ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    # At the end of the file the problem's own line says nothing: the quote or bracket left open does.
    at_end = problem_mark is not None and problem_mark.index >= len(text)
    where = f" at line {problem_mark.line + 1}" if problem_mark is not None and not at_end else ""
    if context_mark is not None and (at_end or problem_mark is None or context_mark.line != problem_mark.line):
        if context.startswith("while "):
            opened = context.replace("while scanning ", "in ").replace("while parsing ", "in ")
            problem += f", {opened} that starts at line {context_mark.line + 1}"
        else:  # e.g. "found duplicate anchor 'a'; first occurrence" with "second occurrence"
            problem = f"{context} at line {context_mark.line + 1}, {problem}"
    hints = [hint for start, hint in _YAML_HINTS.items() if problem.startswith(start) or context.startswith(start)]
    return f"{where}: {problem}" + "".join(f"; {hint}" for hint in hints)


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
        event: yaml.Event = super().get_event()  # type: ignore[no-untyped-call]  # PyYAML's stubs leave it untyped
        self._check(event)
        return event

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:  # PyYAML's stubs name the wrong type
        node = super().compose_mapping_node(anchor)
        # Checked on the composed node, before merge keys (<<) copy in keys that a mapping may override.
        seen: dict[tuple[str, str], yaml.Node] = {}
        for key, _value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == _YAML_TAG + "merge":
                continue
            first = seen.setdefault((key.tag, key.value), key)
            if first is not key:
                raise StagesError(
                    f"{self._source} line {key.start_mark.line + 1}: '{key.value}' appears twice in this mapping"
                    f" (first at line {first.start_mark.line + 1}); rename or remove one"
                )
        return node

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
        assert event.start_mark is not None  # the loader reads text, so every event has a place
        where = f"{self._source} line {event.start_mark.line + 1}"
        if isinstance(event, yaml.DocumentStartEvent):
            self._anchors = {}
        elif isinstance(event, yaml.AliasEvent) and event.anchor is not None:
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
            # Repeated keys are refused, but a merge (<<) puts its keys first: the last is the mapping's own.
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


_IDENTIFIER = TypeAdapter(Identifier)


def _is_identifier(value: Any) -> bool:
    try:
        _IDENTIFIER.validate_python(value, strict=True)
    except ValidationError:
        return False
    return True


def _items(mapping: Any, key: str) -> list[Any]:
    """`mapping[key]` if it is a list, else nothing: what is not well formed is reported by pydantic."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return list(value) if isinstance(value, (list, tuple)) else []


@dataclass
class _KnownStages:
    """What a reference may name. Where a file's own ids are broken, nothing is said about references
    to them, so that one misspelt id is reported once, not again at every place that names it."""

    stage_ids: dict[Any, list[Any] | None]
    all_frameworks_known: bool

    @classmethod
    def of(cls, frameworks: dict[Any, Any]) -> _KnownStages:
        stage_ids: dict[Any, list[Any] | None] = {}
        for f_id, framework in frameworks.items():
            ids = [stage.get("id") if isinstance(stage, dict) else None for stage in _items(framework, "stages")]
            readable = all(_is_identifier(i) for i in ids) and len(set(ids)) == len(ids)
            stage_ids[f_id] = ids if readable else None
        return cls(stage_ids, all(_is_identifier(f_id) for f_id in frameworks))

    def unknown_framework(self, framework_id: Any, place: _Location) -> list[tuple[_Location, str]]:
        if isinstance(framework_id, str) and framework_id not in self.stage_ids and self.all_frameworks_known:
            return [(place, f"unknown framework '{framework_id}'")]
        return []

    def unknown(self, framework_id: Any, stage_id: Any, place: _Location) -> list[tuple[_Location, str]]:
        if not isinstance(framework_id, str) or not isinstance(stage_id, str):
            return []
        if framework_id not in self.stage_ids:
            return self.unknown_framework(framework_id, place)
        ids = self.stage_ids[framework_id]
        if ids is not None and stage_id not in ids:
            return [(place, f"'{stage_id}' is not a stage of {framework_id}")]
        return []


def _reference_problems(document: Any) -> list[tuple[_Location, str]]:
    """Conditional rules and crosswalks that name a framework or stage the document lacks.

    Takes the plain document, checked or not, and skips any part that is not well formed.
    """
    frameworks = document.get("frameworks") if isinstance(document, dict) else None
    if not isinstance(frameworks, dict):
        return []
    known = _KnownStages.of(frameworks)
    problems: list[tuple[_Location, str]] = []
    for f_id, framework in frameworks.items():
        for s_index, stage in enumerate(_items(framework, "stages")):
            for r_index, conditional in enumerate(_items(stage, "rules_when")):
                when = conditional.get("when") if isinstance(conditional, dict) else None
                for other, other_stage in when.items() if isinstance(when, dict) else ():
                    place: _Location = ("frameworks", f_id, "stages", s_index, "rules_when", r_index, "when", other)
                    problems += known.unknown(other, other_stage, place)
    for c_index, crosswalk in enumerate(_items(document, "crosswalk")):
        pair = _items(crosswalk, "frameworks")
        if len(pair) != 2:
            continue
        unknown = [known.unknown_framework(f_id, ("crosswalk", c_index, "frameworks")) for f_id in pair]
        problems += unknown[0] + unknown[1]
        links = crosswalk.get("links")
        if unknown[0] or unknown[1] or not isinstance(links, dict):
            continue  # the links of an unknown framework would each be reported again
        first, second = pair
        for stage_id, linked in links.items():
            place = ("crosswalk", c_index, "links", stage_id)
            problems += known.unknown(first, stage_id, place)
            for other_stage in linked if isinstance(linked, (list, tuple)) else ():
                problems += known.unknown(second, other_stage, place)
    return problems
