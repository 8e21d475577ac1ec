"""The one way exlib reads YAML a user wrote (meta.yaml, course manifests): safe and bounded.

Safe loading alone does not stop a small file from costing minutes and gigabytes: aliases and
`<<` merge keys multiply (a 500-byte file can stand for billions of values), nesting can be
deep enough to exhaust the stack, and a file can simply be huge. Before anything is built,
`check` walks the parser's event stream once — linear in the file's size, never expanding an
alias — and refuses a file that is too large, more than one document, nested too deeply, or
that would expand (aliases and merges counted as the copies they make) to too many values or
too many bytes. Only then is the file composed or loaded. `YamlRefused` says which limit,
where (line), and what to do.

A small text (most meta.yaml files) is composed first instead, which never expands an alias
either: its node tree is small whatever the text holds, and the same limits are counted on
it (`_within`) without a second parse. Only a text the tree says is over a limit, or that
does not compose, is read the careful way above, for the very message it always had.

Versions are kept as written: `version: 1.10` is the text `1.10`, never the float 1.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    ScalarEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node

__all__ = ["COURSE_LIMITS", "META_LIMITS", "Limits", "SafeConstructor", "YamlRefused", "check",
           "compose", "dump", "load"]

_NUMBER_TAGS = ("tag:yaml.org,2002:float", "tag:yaml.org,2002:int")
#: libyaml's parser and emitter when PyYAML was built with them (10x faster), else Python's.
_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class Limits:
    """What one YAML file may cost. `max_values` and `max_expanded_bytes` count a value once
    per place it ends up (an alias or merge of a 1,000-value mapping counts 1,000)."""

    what: str  # "meta.yaml", "the course manifest": used in messages
    max_bytes: int
    max_values: int
    max_expanded_bytes: int
    max_depth: int = 64


#: meta.yaml files are a few KB; the largest real one has a few hundred values.
META_LIMITS = Limits("meta.yaml", max_bytes=256 * 1024, max_values=100_000,
                     max_expanded_bytes=4 * 1024 * 1024)
#: A CourseStructure is stored in etcd, which holds objects up to about 1.5 MiB.
COURSE_LIMITS = Limits("the course manifest", max_bytes=2 * 1024 * 1024, max_values=200_000,
                       max_expanded_bytes=8 * 1024 * 1024)


class YamlRefused(yaml.MarkedYAMLError):
    """The YAML is valid but costs more than its limits allow; `problem` says what to do."""

    def __init__(self, problem: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)

    @property
    def line(self) -> int | None:
        """1-based line of the refusal, when the parser gave one."""
        return self.problem_mark.line + 1 if self.problem_mark is not None else None

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}" if self.line else str(self.problem)


_ALIAS_HINT = ("write the values out instead of repeating them through YAML aliases "
               "(`*name`) and merge keys (`<<`)")


class _Frame:
    """A collection being read: what it expands to so far, and its anchor."""

    __slots__ = ("anchor", "bytes", "values")

    def __init__(self, anchor: str | None) -> None:
        self.anchor = anchor
        self.values = 1
        self.bytes = 0


class _Budget:
    """What the whole document expands to (every alias counted as the copy it makes)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.values = 0
        self.bytes = 0

    def spend(self, values: int, nbytes: int, event: yaml.Event) -> None:
        """Count `values` and `nbytes` for `event`; YamlRefused once over a limit."""
        limits = self.limits
        self.values += values
        self.bytes += nbytes
        if self.values > limits.max_values:
            raise YamlRefused(f"{limits.what} expands to too many values (more than "
                              f"{limits.max_values:,}); {_ALIAS_HINT}", event.start_mark)
        if self.bytes > limits.max_expanded_bytes:
            raise YamlRefused(f"{limits.what} expands to too large a text (more than "
                              f"{_size(limits.max_expanded_bytes)}); {_ALIAS_HINT}",
                              event.start_mark)


def check(text: str | bytes, limits: Limits, *, loader: type[Any] = _FastLoader) -> None:
    """Refuse `text` (YamlRefused) if reading it would exceed `limits`; raises yaml.YAMLError
    for a syntax error. Linear in the size of the text; nothing is built."""
    if len(text) > limits.max_bytes or (isinstance(text, str) and len(
            text.encode("utf-8", "replace")) > limits.max_bytes):
        raise YamlRefused(f"{limits.what} is too large (more than {_size(limits.max_bytes)}); "
                          "keep large content in separate files")
    try:
        _walk(yaml.parse(text, Loader=loader), limits)
    except yaml.MarkedYAMLError as err:
        if isinstance(err, YamlRefused) or "nesting depth" not in str(err.problem):
            raise
        raise YamlRefused(_too_deep(limits), err.problem_mark) from None  # libyaml's own cap


def _too_deep(limits: Limits) -> str:
    return (f"{limits.what} is nested too deeply (more than {limits.max_depth} levels); "
            "flatten the structure")


def _walk(events: Iterator[yaml.Event], limits: Limits) -> None:
    """The limits over the event stream (see `check`)."""
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (values, bytes) it expands to
    stack: list[_Frame] = [_Frame(None)]
    budget = _Budget(limits)
    documents = 0
    for event in events:
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:  # a meta.yaml or a manifest is one document
                raise YamlRefused(f"{limits.what} must hold exactly one YAML document; remove "
                                  "the second `---` and what follows it", event.start_mark)
        elif isinstance(event, CollectionStartEvent):
            if len(stack) > limits.max_depth:
                raise YamlRefused(_too_deep(limits), event.start_mark)
            budget.spend(1, 0, event)
            stack.append(_Frame(event.anchor))
        elif isinstance(event, CollectionEndEvent):
            done = stack.pop()
            if done.anchor is not None:
                anchors[done.anchor] = (done.values, done.bytes)
            stack[-1].values += done.values
            stack[-1].bytes += done.bytes
        elif isinstance(event, ScalarEvent | AliasEvent):
            if isinstance(event, ScalarEvent):
                values, nbytes = 1, len(event.value)
                if event.anchor is not None:
                    anchors[event.anchor] = (values, nbytes)
            elif any(frame.anchor == event.anchor for frame in stack):
                raise YamlRefused(f"the alias `*{event.anchor}` refers to itself (it is used "
                                  f"inside `&{event.anchor}`); remove the alias",
                                  event.start_mark)
            else:
                values, nbytes = anchors.get(event.anchor or "", (1, 0))
            budget.spend(values, nbytes, event)
            stack[-1].values += values
            stack[-1].bytes += nbytes


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


#: Texts up to this many characters are composed before their limits are counted: a tree
#: of at most a few MB, in a few ms, whatever the text holds (aliases stay shared nodes).
_COMPOSE_FIRST_CHARS = 16 * 1024


def compose(text: str | bytes, limits: Limits) -> Node | None:
    """The node tree of the one YAML document in `text`, within `limits` (YamlRefused).

    libyaml when PyYAML has it; a document libyaml refuses is read again by the pure-Python
    parser, whose syntax error messages (with the offending line) are the ones to show.
    """
    # libyaml's composer only: PyYAML's own recurses once per level, into RecursionError.
    small = len(text) <= min(_COMPOSE_FIRST_CHARS, limits.max_bytes // 4)  # 4 B a character
    if small and _FastLoader is not yaml.SafeLoader:
        try:
            root = yaml.compose(text, Loader=_FastLoader)
        except yaml.YAMLError:
            pass  # read again below, for the error `check` or the parser gives
        else:
            if root is None or _within(root, limits):
                return root
    return _checked_then_composed(text, limits)


def _checked_then_composed(text: str | bytes, limits: Limits) -> Node | None:
    """`compose` the careful way: `check` walks the events first, then the tree is built."""
    try:
        check(text, limits)
        return yaml.compose(text, Loader=_FastLoader)
    except YamlRefused:
        raise
    except yaml.YAMLError:
        if _FastLoader is yaml.SafeLoader:
            raise
    check(text, limits, loader=yaml.SafeLoader)
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _within(root: Node, limits: Limits) -> bool:
    """Whether `check` would pass the text composed into `root`: the same depth, values and
    bytes, counted on the tree. An alias is a node met again, counted once per place (its
    size is remembered, so this stays linear); one met again while still open is an alias
    inside its own anchor. Iterative, so no tree can exhaust the stack."""
    if not isinstance(root, CollectionNode):
        return len(root.value) <= limits.max_expanded_bytes
    size: dict[int, tuple[int, int]] = {}  # id(collection) -> (values, bytes) it expands to
    opened = {id(root)}
    # per open collection: its id, its children still to count, [values, bytes] so far
    stack: list[tuple[int, Iterator[Node], list[int]]] = [(id(root), _children(root), [1, 0])]
    while stack:
        key, children, total = stack[-1]
        for child in children:
            if not isinstance(child, CollectionNode):
                total[0] += 1
                total[1] += len(child.value)
                continue
            child_key = id(child)
            if child_key in size:
                values, nbytes = size[child_key]
                total[0] += values
                total[1] += nbytes
            elif child_key in opened or len(stack) >= limits.max_depth:
                return False
            else:
                opened.add(child_key)
                stack.append((child_key, _children(child), [1, 0]))
                break
        else:
            stack.pop()
            opened.discard(key)
            size[key] = values, nbytes = total[0], total[1]
            if stack:
                stack[-1][2][0] += values
                stack[-1][2][1] += nbytes
    values, nbytes = size[id(root)]
    return values <= limits.max_values and nbytes <= limits.max_expanded_bytes


def _children(node: Node) -> Iterator[Node]:
    """A collection's nodes in the order written (a mapping's keys before their values)."""
    if isinstance(node, MappingNode):
        return chain.from_iterable(node.value)
    return iter(node.value)


#: Longest plain number built: Python's own limit for decimal text, which also keeps a
#: sexagesimal `1:2:3…` (built by repeated multiplication) cheap.
MAX_NUMBER_CHARS = 4300


def _guarded(build: Any) -> Any:
    """`build` for one implicit type, failing as a YAML error at the value's line (never a
    bare ValueError or OverflowError: `1:1:…:1.5` overflows a float, 30 February is none)."""

    def construct(self: Any, node: yaml.ScalarNode) -> Any:
        if len(node.value) > MAX_NUMBER_CHARS:
            why = f"longer than {MAX_NUMBER_CHARS:,} characters"
        else:
            try:
                return build(self, node)
            except (ValueError, OverflowError) as err:
                why = str(err).split(";")[0]
        text = node.value if len(node.value) <= 40 else f"{node.value[:40]}…"
        kind = "date" if node.tag.endswith("timestamp") else "number"
        raise yaml.constructor.ConstructorError(
            None, None, f"`{text}` reads as a {kind} but "
            f"cannot be built ({why}); quote it to keep it as text", node.start_mark)

    return construct


def _guard(cls: Any) -> Any:
    """`cls` with every number and date constructor guarded."""
    for kind in ("int", "float", "timestamp"):
        tag = f"tag:yaml.org,2002:{kind}"
        cls.add_constructor(tag, _guarded(yaml.constructor.SafeConstructor.yaml_constructors[tag]))
    return cls


@_guard
class SafeConstructor(yaml.constructor.SafeConstructor):
    """PyYAML's safe constructor whose numbers and dates fail as YAML errors."""


def kept_as_written(key: object, value: Node) -> bool:
    """Whether a value keeps the text written rather than its YAML type: a `version:` that
    YAML reads as a number (`1.10` would be the float 1.1). The one rule of meta.yaml's parser
    and of `load` (the course pass rewrites meta.yaml with it)."""
    return key == "version" and isinstance(value, yaml.ScalarNode) and value.tag in _NUMBER_TAGS


@_guard
class _VersionKeepingLoader(_FastLoader):  # type: ignore[misc, valid-type]
    """Safe YAML that reads every `version:` scalar as the string written."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and kept_as_written(key_node.value,
                                                                         value_node):
                value_node.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep=deep)


def load(text: str | bytes, limits: Limits) -> Any:
    """Python data of the one YAML document in `text`, after `check`; versions as written.
    Raises yaml.YAMLError (YamlRefused past the limits)."""
    check(text, limits)
    return yaml.load(text, Loader=_VersionKeepingLoader)  # a SafeLoader subclass


def dump(data: Any) -> bytes:
    """Block-style YAML in the order given (meta.yaml stays readable for lecturers)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False).encode("utf-8")
