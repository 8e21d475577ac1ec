"""Parse and validate an example's meta.yaml (both real-world formats) into an ExampleMeta.

Pure: no I/O apart from reading the packaged JSON Schema once. Every problem becomes an Issue
naming the file, the field path and the line, phrased for the lecturer who has to fix it;
bad input never raises.

The YAML is composed (by `controller.yamltext`, which first refuses bombs: aliases, merge
keys, deep nesting, huge files) into a node tree and converted here rather than with
`yaml.safe_load`, so that version scalars stay exactly as written (`version: 1.10` is
`"1.10"`, not `1.1`), duplicate keys are caught, and every field path keeps its line number
for messages.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import fnmatch
import math
import posixpath
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controller import jsonschemas, yamltext
from controller.jsonschemas import field_path
from controller.meta.model import FILE_LIST_FIELDS, Dependency, ExampleMeta, Issue, Severity
from controller.meta.names import IDENTIFIER_RULE, is_identifier
from controller.meta.semver import VersionError, normalise_version, parse_constraint

__all__ = ["LEGACY_KEYS", "check_file_lists", "load_schema", "parse_meta"]

#: Keys from older Computor meta.yaml files: accepted, ignored, reported as warnings.
LEGACY_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "kind": "content kinds are set per course in the CourseStructure",
        "type": "content types are set per course in the CourseStructure",
        "maxTestRuns": "submission limits are set per course in the CourseStructure",
        "maxSubmissions": "submission limits are set per course in the CourseStructure",
        "maxGroupSize": "group sizes are set per course in the CourseStructure",
        "executionBackendSlug": "use `properties.executionBackend.slug` instead",
    }
)

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_PLACEHOLDER_RE = re.compile(r"^\s*<[^<>\n]{1,80}>\s*$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:[\\/]")  # `C:\` or `C:/`: a Windows absolute path
_SEPARATOR_RE = re.compile(r"[\\/]")

#: Objects whose keys we know, as (field-path pattern, schema location). `[]` = any list index.
#: Keys come from the schema so the two cannot drift apart.
_KNOWN_KEY_OBJECTS: tuple[tuple[str, str], ...] = (
    ("", ""),
    ("authors[]", "person"),
    ("maintainers[]", "person"),
    ("links[]", "reference"),
    ("supportingMaterial[]", "reference"),
    ("courseMaterials[]", "reference"),
    ("supportingMaterials[]", "reference"),
    ("content", "content"),
    ("properties", "properties"),
    ("properties.executionBackend", "executionBackend"),
    ("properties.testDependencies[]", "dependency"),
)

_TYPE_WORDS = {
    "string": "text",
    "array": "a list",
    "object": "a mapping (`key: value` lines)",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "empty",
}


# --------------------------------------------------------------------------- schema


@cache
def load_schema() -> dict[str, Any]:
    """The JSON Schema for meta.yaml (read once; callers must not change it)."""
    return jsonschemas.load(jsonschemas.EXAMPLE_META)


_ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default"})


def _inline_refs(node: Any, defs: Mapping[str, Any], depth: int = 0) -> Any:
    """`node` with every local `{"$ref": "#/$defs/x"}` replaced by the definition (plus the
    annotations beside it). Validating without reference lookups is about twice as fast,
    and the errors are the same: the schema's definitions are not recursive."""
    if depth > 50:
        raise ValueError("the meta.yaml schema's definitions are recursive")
    if isinstance(node, list):
        return [_inline_refs(v, defs, depth + 1) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and "/" not in ref[8:]:
        target = _inline_refs(defs[ref[8:]], defs, depth + 1)
        rest = {k: _inline_refs(v, defs, depth + 1) for k, v in node.items() if k != "$ref"}
        if rest.keys() - _ANNOTATIONS:  # other keywords beside $ref: both must hold
            return {"allOf": [target], **rest}
        return {**target, **rest}
    return {k: v if k == "$defs" else _inline_refs(v, defs, depth + 1) for k, v in node.items()}


@cache
def _inlined_schema() -> dict[str, Any]:
    """The schema, checked, with its definitions inlined (see `_inline_refs`)."""
    schema = load_schema()
    jsonschema.validators.validator_for(schema).check_schema(schema)
    inlined: dict[str, Any] = _inline_refs(schema, schema.get("$defs", {}))
    return inlined


@cache
def _validator() -> jsonschema.protocols.Validator:
    """One compiled validator, reused for every file of a sync: the errors, with messages."""
    return jsonschemas.validator(_inlined_schema())


@cache
def _valid() -> Callable[[Any], bool]:
    """The same schema's valid/invalid answer, about ten times faster: most files are
    valid, and only an invalid one needs `_validator`'s errors."""
    return jsonschemas.fast_check(_inlined_schema())


@cache
def _known_keys() -> dict[str, frozenset[str]]:
    """Field-path pattern -> keys the schema names for the object found there."""
    schema = load_schema()
    known: dict[str, frozenset[str]] = {}
    for pattern, definition in _KNOWN_KEY_OBJECTS:
        node = schema if not definition else schema["$defs"][definition]
        known[pattern] = frozenset(node.get("properties", {}))
    return known


# --------------------------------------------------------------------------- helpers


def _pattern(path: tuple[str | int, ...]) -> str:
    """Like field_path but with list indices replaced by `[]`, for matching _KNOWN_KEY_OBJECTS."""
    return field_path(tuple(-1 if isinstance(p, int) else p for p in path)).replace("[-1]", "[]")


def _describe_value(value: Any) -> str:
    """A short human description of a parsed value, for type-mismatch messages."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, int | float):
        return f"the number `{value}`"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text `{shown}`"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _get(data: Any, *keys: str) -> Any:
    """Nested dict lookup that tolerates wrong types (they are reported by the schema)."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


class _Issues:
    """Collects issues for one file, with line numbers looked up from field paths."""

    def __init__(self, file: str, lines: Mapping[str, int]) -> None:
        self.file = file
        self.lines = lines
        self.items: list[Issue] = []

    def line_for(self, field: str) -> int | None:
        """The line of `field`, or of its nearest enclosing field that has one."""
        probe = field
        while True:
            if probe in self.lines:
                return self.lines[probe]
            if not probe:
                return None
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""

    def add(self, severity: Severity, field: str, message: str, line: int | None = None) -> None:
        """Record an issue; the line defaults to the field's line."""
        if line is None:
            line = self.line_for(field)
        self.items.append(Issue(severity, self.file, field, message, line))

    def error(self, field: str, message: str, line: int | None = None) -> None:
        """Record an error (the example will not sync)."""
        self.add("error", field, message, line)

    def warning(self, field: str, message: str, line: int | None = None) -> None:
        """Record a warning (reported, the example still syncs)."""
        self.add("warning", field, message, line)

    def error_fields(self) -> set[str]:
        """Fields that already have an error, so later checks don't repeat them."""
        return {i.field for i in self.items if i.severity == "error"}

    def has_errors(self) -> bool:
        """Whether any error was recorded."""
        return any(i.severity == "error" for i in self.items)

    def sorted(self) -> list[Issue]:
        """Errors first, then warnings, each in file order."""
        return sorted(self.items, key=lambda i: (i.severity != "error", i.line or 0))


# --------------------------------------------------------------------------- YAML -> data


class _DataBuilder:
    """Turns a composed YAML node tree into JSON-compatible data plus a path -> line map."""

    def __init__(self, issues: _Issues, lines: dict[str, int]) -> None:
        self.issues = issues
        self.lines = lines
        self._constructor = yamltext.SafeConstructor()

    def build(self, node: Node, field: str = "", key: str | int | None = None) -> Any:
        """Convert `node` (the value of `key` at `field`) to Python data. Aliases are expanded:
        the file passed `yamltext.compose`'s limits, so they neither loop nor multiply."""
        if isinstance(node, MappingNode):
            return self._mapping(node, field)
        if isinstance(node, SequenceNode):
            return [self._item(child, field, i) for i, child in enumerate(node.value)]
        return self._scalar(node, field, key)

    def _item(self, node: Node, field: str, index: int) -> Any:
        """A list entry: remember its line, then build it."""
        item = field_path((field, index))
        self.lines[item] = node.start_mark.line + 1
        return self.build(node, item, index)

    def _mapping(self, node: MappingNode, field: str) -> dict[str, Any]:
        """A mapping: keys as written, duplicates reported, `<<` merges applied."""
        result: dict[str, Any] = {}
        merges: list[Node] = []
        first_line: dict[str, int] = {}
        explicit: list[tuple[str, Node, int]] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.issues.error(field, "a key must be a plain name, not a list or mapping", line)
                continue
            key = key_node.value
            if key in first_line:
                self.issues.error(
                    field_path((field, key)),
                    f"duplicate key `{key}` (first set on line {first_line[key]}); "
                    "YAML keeps only one of them, so delete or merge the other",
                    line,
                )
                continue
            first_line[key] = line
            explicit.append((key, value_node, line))
        # Merged keys first (earlier merge sources win), explicit keys override them.
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in reversed(sources):
                if not isinstance(source, MappingNode):
                    self.issues.error(
                        field, "`<<` can only merge mappings", source.start_mark.line + 1
                    )
                    continue
                result.update(self._mapping(source, field))
        for key, value_node, line in explicit:
            child = field_path((field, key))
            self.lines[child] = line
            result[key] = self.build(value_node, child, key)
        return result

    def _scalar(self, node: Node, field: str, key: str | int | None) -> Any:
        """A scalar: version fields keep their text; others resolve like yaml.safe_load."""
        assert isinstance(node, ScalarNode)
        if node.tag == _STR_TAG or yamltext.kept_as_written(key, node):
            return node.value  # what the constructor returns for text, without its machinery
        try:
            value = self._constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            self.issues.error(
                field,
                f"cannot read this value: {exc.problem}",
                node.start_mark.line + 1,
            )
            return None
        if isinstance(value, _dt.date | _dt.datetime):
            return value.isoformat()
        if isinstance(value, bytes):
            return node.value
        if isinstance(value, float) and not math.isfinite(value):
            return node.value
        return value


def _yaml_error(exc: yaml.YAMLError, issues: _Issues) -> None:
    """Report a YAML syntax/encoding problem, or a refused bomb, at its line."""
    if isinstance(exc, yamltext.YamlRefused):
        issues.error("", str(exc.problem), exc.line)
        return
    if isinstance(exc, yaml.reader.ReaderError):
        issues.error("", f"meta.yaml is not readable text: {exc.reason}; save it as UTF-8")
        return
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or "syntax error"
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        if "found another document" in problem:
            message = (
                "meta.yaml must contain exactly one YAML document; remove the second `---` "
                "and what follows it"
            )
        else:
            message = f"this is not valid YAML: {problem}"
            if exc.context:
                ctx_line = exc.context_mark.line + 1 if exc.context_mark is not None else None
                message += f" ({exc.context}" + (f" on line {ctx_line})" if ctx_line else ")")
            if "\\t" in problem or "'\\t'" in problem:
                message += "; indent with spaces, not tabs"
            elif "mapping values are not allowed" in problem:
                message += "; a value containing `: ` must be put in quotes"
        issues.error("", message, line)
        return
    issues.error("", f"this is not valid YAML: {exc}")


# --------------------------------------------------------------------------- schema errors


def _schema_messages(error: ValidationError) -> list[tuple[str, str]]:
    """(field path, lecturer-facing message) pairs for one jsonschema error."""
    path = field_path(tuple(error.absolute_path))
    value = error.instance
    kind = error.validator
    if kind in ("anyOf", "oneOf") and error.context:
        return _alternatives_messages(error, path)
    if kind == "type":
        expected = error.validator_value
        expected_list = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in expected_list if t != "null")
        message = f"must be {wanted or 'empty'}, but it is {_describe_value(value)}"
        if "string" in expected_list and isinstance(value, int | float | bool):
            message += "; put the value in quotes"
        elif "array" in expected_list and isinstance(value, str):
            message += "; write a list, one `- entry` per line"
        return [(path, message)]
    if kind == "required":
        missing = [k for k in error.validator_value if isinstance(value, dict) and k not in value]
        names = ", ".join(f"`{k}`" for k in missing) or str(error.validator_value)
        return [(path, f"is missing the required field {names}")]
    if kind == "pattern":
        message = (
            f"`{value}` is not a valid identifier: use only letters, digits, `.`, `_` and `-`, "
            "starting with a letter or digit"
        )
        if isinstance(value, str) and ("/" in value or "\\" in value):
            message += "; dependencies name another example by its identifier, never by a path"
        return [(path, message)]
    if kind == "minLength":
        return [(path, "must not be empty")]
    if kind in ("minimum", "exclusiveMinimum"):
        return [(path, f"must be at least {error.validator_value}, but it is {value}")]
    if kind == "maxItems":
        return [(path, f"must have at most {error.validator_value} entries")]
    return [(path, error.message)]


def _alternatives_messages(error: ValidationError, path: str) -> list[tuple[str, str]]:
    """Explain an anyOf/oneOf failure via the alternative whose type matches the value."""
    context = list(error.context or [])
    if context and all(e.validator == "required" for e in context):
        names = " or ".join(
            f"`{k}`" for e in context for k in e.validator_value if isinstance(k, str)
        )
        return [(path, f"needs the field {names}")]
    by_branch: dict[Any, list[ValidationError]] = {}
    for sub in context:
        branch = sub.relative_schema_path[0] if sub.relative_schema_path else None
        by_branch.setdefault(branch, []).append(sub)
    type_mismatch = {
        b
        for b, errs in by_branch.items()
        if any(e.validator == "type" and not e.relative_path for e in errs)
    }
    fitting = [b for b in by_branch if b not in type_mismatch]
    if len(fitting) == 1:
        out: list[tuple[str, str]] = []
        for sub in by_branch[fitting[0]]:
            out.extend(_schema_messages(sub))
        return out
    if not fitting:
        wanted: list[str] = []
        for errs in by_branch.values():
            for e in errs:
                if e.validator == "type" and not e.relative_path:
                    types = e.validator_value
                    for t in [types] if isinstance(types, str) else types:
                        word = _TYPE_WORDS.get(t, t)
                        if t != "null" and word not in wanted:
                            wanted.append(word)
        if wanted:
            return [
                (
                    path,
                    f"must be {' or '.join(wanted)}, but it is {_describe_value(error.instance)}",
                )
            ]
    best = best_match(context)
    return _schema_messages(best) if best is not None else [(path, error.message)]


def _check_schema(data: dict[str, Any], issues: _Issues) -> None:
    """Validate against the JSON Schema; one error per problem, each at its field's line."""
    if _valid()(data):
        return
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    seen: set[tuple[str, str]] = set()
    unreadable = issues.error_fields()  # values the YAML reader already rejected
    for error in errors:
        for field, message in _schema_messages(error):
            if field not in unreadable and (field, message) not in seen:
                seen.add((field, message))
                issues.error(field, message)


# --------------------------------------------------------------------------- warnings


#: Every (field path, value) of the parsed data, as `_walk` lists them.
_Fields = list[tuple[tuple[str | int, ...], Any]]


def _walk(value: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every (path, value) in the parsed data, depth first in the order written."""
    todo: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while todo:
        path, value = todo.pop()
        yield path, value
        if isinstance(value, dict):
            todo.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            todo.extend(((*path, i), value[i]) for i in range(len(value) - 1, -1, -1))


def _check_keys(walked: _Fields, issues: _Issues) -> None:
    """Warn about legacy keys and keys no format defines (usually typos)."""
    known = _known_keys()
    for path, value in walked:
        if not isinstance(value, dict):
            continue
        pattern = _pattern(path)
        if pattern not in known:
            continue
        names = known[pattern]
        legacy_level = pattern in ("", "properties")
        for key in value:
            if key in names:
                continue
            field = field_path((*path, key))
            if legacy_level and key in LEGACY_KEYS:
                issues.warning(field, f"`{key}` is a legacy key and is ignored: {LEGACY_KEYS[key]}")
                continue
            hint = difflib.get_close_matches(key, sorted(names), n=1)
            suggestion = f"; did you mean `{hint[0]}`?" if hint else ""
            issues.warning(
                field, f"unknown field `{key}` is ignored (check the spelling){suggestion}"
            )


def _check_placeholders(walked: _Fields, issues: _Issues) -> None:
    """Warn about template leftovers such as `email: <email>`."""
    skip = issues.error_fields()
    for path, value in walked:
        if isinstance(value, str) and _PLACEHOLDER_RE.match(value):
            field = field_path(path)
            if field not in skip:
                issues.warning(
                    field,
                    f"`{value.strip()}` looks like a template placeholder that was never filled "
                    "in; replace it with the real value or remove the field",
                )


# --------------------------------------------------------------------------- checks


def _resolve_identifier(data: dict[str, Any], directory_name: str, issues: _Issues) -> str | None:
    """`identifier` > `slug` > directory name, verbatim (DESIGN §2)."""
    identifier, slug = data.get("identifier"), data.get("slug")
    if "identifier" in data:
        field, value = "identifier", identifier
        if isinstance(slug, str) and isinstance(identifier, str) and slug != identifier:
            issues.warning(
                "slug",
                f"slug `{slug}` is ignored because identifier `{identifier}` is set; "
                "remove `slug` or make the two equal",
            )
    elif "slug" in data:
        field, value = "slug", slug
    else:
        if not is_identifier(directory_name):
            issues.error(
                "",
                f"meta.yaml has no `identifier` (or `slug`), and the directory name "
                f"`{directory_name}` is not a valid identifier ({IDENTIFIER_RULE}); add an "
                "`identifier:` line",
            )
            return None
        return directory_name
    if not isinstance(value, str):
        return None  # wrong type: already reported by the schema
    if not is_identifier(value):
        if field not in issues.error_fields():
            issues.error(field, f"`{value}` is not a valid identifier: {IDENTIFIER_RULE}")
        return None
    return value


def _check_version(data: dict[str, Any], issues: _Issues) -> tuple[str | None, str | None]:
    """(as written, normalised semver); (None, None) when untagged or unreadable."""
    raw = data.get("version")
    if not isinstance(raw, str) or "version" in issues.error_fields():
        return None, None
    try:
        return raw, normalise_version(raw)
    except VersionError as exc:
        issues.error("version", str(exc))
        return None, None


def _check_path(entry: str) -> str | None:
    """Why a file-list entry is unsafe or meaningless, or None when it is fine."""
    if not entry.strip():
        return "is empty; remove the entry or name a file"
    if any(c in entry for c in "\0\n\r"):
        return f"`{entry!r}` contains a control character; name a file"
    if entry.startswith(("/", "\\")) or _DRIVE_RE.match(entry):
        return (
            f"`{entry}` is an absolute path; list files relative to the example directory "
            "(e.g. `tests/test_main.py`)"
        )
    if ".." in _SEPARATOR_RE.split(entry):
        return (
            f"`{entry}` uses `..` to leave the example directory; only files inside the "
            "example can be listed"
        )
    if posixpath.normpath(entry) == ".":
        return f"`{entry}` names the whole example directory; list files or subdirectories"
    return None


def _normalise_path(entry: str) -> str:
    """`./a//b/` -> `a/b`: the form used to compare against the example's files."""
    return posixpath.normpath(entry.strip()).lstrip("/")


def _check_file_list_entries(data: dict[str, Any], issues: _Issues) -> dict[str, tuple[str, ...]]:
    """Validate the four file lists; return them normalised (positions kept)."""
    props = data.get("properties")
    out: dict[str, tuple[str, ...]] = {}
    for name in FILE_LIST_FIELDS:
        entries = _get(props, name)
        if not isinstance(entries, list):
            out[name] = ()
            continue
        kept: list[str] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            if not isinstance(entry, str):
                continue  # wrong type: reported by the schema
            field = f"properties.{name}[{i}]"
            problem = _check_path(entry)
            if problem:
                issues.error(field, problem)
                continue
            norm = _normalise_path(entry)
            if norm in seen:
                issues.warning(
                    field, f"`{entry}` is already listed at {name}[{seen[norm]}]; remove one"
                )
            seen.setdefault(norm, i)
            kept.append(norm)
        out[name] = tuple(kept)
    return out


def _check_dependencies(
    data: dict[str, Any], identifier: str | None, issues: _Issues
) -> tuple[Dependency, ...]:
    """testDependencies as Dependency values; constraints parsed so bad ones fail early."""
    entries = _get(data, "properties", "testDependencies")
    if not isinstance(entries, list):
        return ()
    result: list[Dependency] = []
    seen: dict[str, tuple[int, str | None]] = {}
    bad = issues.error_fields()
    for i, entry in enumerate(entries):
        field = f"properties.testDependencies[{i}]"
        dep_id: Any
        if isinstance(entry, str):
            dep_id, constraint = entry, None
        elif isinstance(entry, dict):
            ident, slug = entry.get("identifier"), entry.get("slug")
            dep_id = ident if ident is not None else slug
            if isinstance(ident, str) and isinstance(slug, str) and ident != slug:
                issues.warning(
                    f"{field}.slug",
                    f"slug `{slug}` is ignored because identifier `{ident}` is set",
                )
            version = entry.get("version")
            constraint = version.strip() if isinstance(version, str) else None
            if constraint is not None and f"{field}.version" not in bad:
                try:
                    parse_constraint(constraint)
                except VersionError as exc:
                    issues.error(f"{field}.version", str(exc))
            constraint = constraint or None
        else:
            continue
        if not isinstance(dep_id, str) or not is_identifier(dep_id):
            continue  # reported by the schema
        if dep_id == identifier:
            issues.error(field, f"the example depends on itself (`{dep_id}`); remove this entry")
            continue
        if dep_id in seen:
            first, first_constraint = seen[dep_id]
            if first_constraint != constraint:
                issues.error(
                    field,
                    f"`{dep_id}` is listed twice with different versions "
                    f"(`{first_constraint or 'any'}` at testDependencies[{first}] and "
                    f"`{constraint or 'any'}` here); keep one",
                )
            else:
                issues.warning(field, f"`{dep_id}` is already listed at testDependencies[{first}]")
            continue
        seen[dep_id] = (i, constraint)
        result.append(Dependency(dep_id, constraint))
    return tuple(result)


def _tags(data: dict[str, Any]) -> tuple[str, ...]:
    """Union of keywords, content.tags and tags: lower-cased, de-duplicated, sorted."""
    found: set[str] = set()
    for source in (data.get("keywords"), _get(data, "content", "tags"), data.get("tags")):
        if isinstance(source, list):
            found.update(t.strip().lower() for t in source if isinstance(t, str) and t.strip())
    return tuple(sorted(found))


# --------------------------------------------------------------------------- public API


def parse_meta(
    text: str | bytes, *, file: str, directory_name: str
) -> tuple[ExampleMeta | None, list[Issue]]:
    """Parse one meta.yaml. Returns (meta, issues); meta is None when any issue is an error.

    `file` is only used in messages; `directory_name` is the identifier of last resort.
    """
    lines: dict[str, int] = {}
    issues = _Issues(file, lines)
    try:
        root = yamltext.compose(text, yamltext.META_LIMITS)
    except yaml.YAMLError as exc:
        _yaml_error(exc, issues)
        return None, issues.sorted()
    if root is None:
        issues.error("", "meta.yaml is empty; it needs at least a `title`")
        return None, issues.sorted()
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        issues.error(
            "",
            f"meta.yaml must be a mapping of fields (`title: ...` lines), but it is {kind}",
            root.start_mark.line + 1,
        )
        return None, issues.sorted()
    lines[""] = root.start_mark.line + 1
    data: dict[str, Any] = _DataBuilder(issues, lines).build(root)

    _check_schema(data, issues)
    walked = list(_walk(data))
    _check_keys(walked, issues)
    identifier = _resolve_identifier(data, directory_name, issues)
    version_raw, version = _check_version(data, issues)
    file_lists = _check_file_list_entries(data, issues)
    dependencies = _check_dependencies(data, identifier, issues)
    _check_placeholders(walked, issues)
    title = data.get("title")
    no_title = not isinstance(title, str) or not title.strip()
    if no_title and "title" not in issues.error_fields():
        issues.warning(
            "title", "there is no title; add `title: ...` so lecturers can find the example"
        )

    if issues.has_errors() or identifier is None:
        return None, issues.sorted()
    description = data.get("description")
    language = data.get("language")
    meta = ExampleMeta(
        identifier=identifier,
        version_raw=version_raw,
        version=version,
        title=title if isinstance(title, str) else "",
        description=description if isinstance(description, str) else "",
        language=language if isinstance(language, str) else None,
        tags=_tags(data),
        dependencies=dependencies,
        student_submission_files=file_lists["studentSubmissionFiles"],
        additional_files=file_lists["additionalFiles"],
        test_files=file_lists["testFiles"],
        student_templates=file_lists["studentTemplates"],
        data=data,
        lines=dict(lines),
    )
    return meta, issues.sorted()


def check_file_lists(meta: ExampleMeta, existing: Collection[str], *, file: str) -> list[Issue]:
    """Warn about file-list entries that name nothing in the example (real data has them).

    `existing` holds the example's files as paths relative to the example directory. A listed
    directory exists if any file lies under it; entries with `*`/`?` match as glob patterns.
    """
    files = {_normalise_path(p) for p in existing if p and p.strip()}
    dirs: set[str] = set()
    for path in files:
        parts = path.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    issues = _Issues(file, meta.lines)
    for name, entries in meta.file_lists().items():
        for i, entry in enumerate(entries):
            if entry in files or entry in dirs:
                continue
            if any(c in entry for c in "*?[") and any(fnmatch.fnmatchcase(p, entry) for p in files):
                continue
            close = difflib.get_close_matches(entry, sorted(files | dirs), n=1, cutoff=0.8)
            hint = f"; did you mean `{close[0]}`?" if close else "; add it or remove the entry"
            issues.warning(
                f"properties.{name}[{i}]",
                f"`{entry}` is listed in {name} but no such file or directory exists in the "
                f"example{hint}",
            )
    return issues.items
