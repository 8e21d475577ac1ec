"""CourseStructure spec: loading, schema validation and the tree rules, into plain values.

Pure: no database, no Git. Every problem found is collected and raised together as one
`SpecError`, each naming the node (its location in the manifest and its path) and the field,
so a lecturer fixes a manifest in one round instead of one error at a time.

Everything a pass writes is checked here first: labels and paths the database can store and
index, directories Git can hold inside the repository, values PostgreSQL's text and JSON
accept, and bounded sizes. A spec that passes never fails half-way for its values, after the
commit was pushed and before the rows were written.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import jsonschema
import yaml

from controller import jsonschemas, yamltext
from controller.course import paths
from controller.course.errors import SpecError, SpecProblem
from controller.jsonschemas import field_path
from controller.meta.names import DIGEST_PREFIX, is_digest_ref, is_identifier
from controller.meta.semver import VersionError, parse_constraint
from controller.tenancy import (
    GIT_URL_PATTERN,
    PROVIDER_URL_PATTERN,
    git_url_problem,
    provider_url_problem,
    spec_url_problems,
)
from controller.timeouts import DEFAULT_TIMEOUT, parse_timeout

NodeKind = Literal["unit", "assignment"]
Strategy = Literal["keep", "overwrite", "merge", "review"]
ProviderKind = Literal["gitlab", "gitea"]


def _default(*fields: str) -> Any:
    """A field's default as the schema (and so the CRD) documents it."""
    return jsonschemas.default(jsonschemas.COURSE_STRUCTURE, *fields)


DEFAULT_STRATEGY: Strategy = _default("updateStrategy")
DEFAULT_BRANCH: str = _default("assignments", "branch")
DEFAULT_PRUNE: bool = _default("prune")
DEFAULT_SUSPEND: bool = _default("suspend")
DEFAULT_INTERVAL: str = _default("interval")
DEFAULT_VISIBILITY: Literal["private", "public"] = _default("provider",
                                                                       "visibility")

KIND = "CourseStructure"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")

#: Nodes in one course, nesting of the spec's JSON, and one node's `properties` as JSON:
#: bounds on what one pass handles (docs/limits.md).
MAX_NODES = 5000
MAX_SPEC_DEPTH = 64
MAX_PROPERTIES_BYTES = 64 * 1024
#: Schema patterns whose failures are explained in words rather than as a regex.
_EXPLAIN: dict[str, Callable[[str], str | None]] = {
    paths.LTREE_PATTERN: paths.ltree_problem,
    paths.DIRECTORY_PATTERN: paths.directory_problem,
    GIT_URL_PATTERN: git_url_problem,
    PROVIDER_URL_PATTERN: provider_url_problem,
}
#: The course repositories, as spec fields.
TARGETS = ("assignments", "studentTemplate")


@dataclass(frozen=True)
class ExampleRef:
    """How a node names its example: identifier (optionally qualified) or example id."""

    identifier: str | None = None
    repository: str | None = None  # "namespace/name" once parsed
    id: str | None = None

    def __str__(self) -> str:
        if self.id:
            return f"id {self.id}"
        return f"{self.repository}/{self.identifier}" if self.repository else str(self.identifier)


@dataclass(frozen=True)
class ContentType:
    """A kind of node of this course (`week`, `exercise`, ...): a unit or an assignment."""

    slug: str
    kind: NodeKind
    title: str | None = None
    color: str | None = None


@dataclass(frozen=True)
class Node:
    """One node of the desired tree with everything inherited already applied."""

    id: str
    path: str
    type: str
    kind: NodeKind
    title: str | None
    position: float
    example: ExampleRef | None = None
    version: str | None = None
    update_strategy: Strategy = DEFAULT_STRATEGY
    properties: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""  # location in the manifest, e.g. contents[0].contents[2]

    @property
    def label(self) -> str:
        """The last label of the node's path (its directory name)."""
        return self.path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class GitTarget:
    """A course repository: its Git URL, or (with a provider) its project name, whose URL
    the pass learns from the provider (`url` is "" until then)."""

    url: str
    branch: str = DEFAULT_BRANCH
    path: str = ""
    secret_ref: str | None = None
    project: str | None = None


@dataclass(frozen=True)
class ProviderSpec:
    """spec.provider: the Git hosting server the course's projects live on."""

    kind: ProviderKind
    url: str
    owner: str
    secret_ref: str
    visibility: Literal["private", "public"] = DEFAULT_VISIBILITY


@dataclass(frozen=True)
class CourseSpec:
    """A CourseStructure spec, validated, with every node's path and inherited fields resolved:
    what the planner and the pass work from."""

    organization_path: str
    organization_title: str | None
    family_path: str  # full path: organization.family
    family_title: str | None
    path: str  # full path: organization.family.course
    title: str
    repositories: tuple[str, ...]  # "namespace/name"
    assignments: GitTarget
    student_template: GitTarget | None
    content_types: tuple[ContentType, ...]
    update_strategy: Strategy = DEFAULT_STRATEGY
    prune: bool = DEFAULT_PRUNE
    suspend: bool = DEFAULT_SUSPEND
    interval: str = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT  # seconds, of each network step of a pass
    nodes: tuple[Node, ...] = ()  # manifest order (pre-order walk of `contents`)
    provider: ProviderSpec | None = None

    @property
    def targets(self) -> dict[str, GitTarget]:
        """The course's repositories by spec field (`assignments`, `studentTemplate`)."""
        out = {"assignments": self.assignments}
        if self.student_template is not None:
            out["studentTemplate"] = self.student_template
        return out


# ---------------------------------------------------------------- loading manifests


@dataclass(frozen=True)
class Manifest:
    """A manifest as read from YAML: the spec, and the object's name and namespace if given."""

    spec: dict[str, Any]
    name: str | None
    namespace: str | None


def load_manifest(text: str, source: str = "manifest") -> Manifest:
    """Read a CourseStructure manifest (`kind: CourseStructure`) or a bare spec from YAML."""
    try:
        doc = yamltext.load(text, yamltext.COURSE_LIMITS)
    except yamltext.YamlRefused as err:
        raise SpecError([SpecProblem(source, "", str(err))]) from err
    except yaml.YAMLError as err:
        raise SpecError([SpecProblem(source, "", f"invalid YAML: {err}")]) from err
    if not isinstance(doc, dict):
        raise SpecError([SpecProblem(source, "", "expected a mapping (a CourseStructure manifest "
                                              "or its spec)")])
    if "kind" not in doc and "spec" not in doc:
        return Manifest(doc, None, None)
    if doc.get("kind") != KIND:
        raise SpecError([SpecProblem(source, "kind",
                                     f"expected `{KIND}`, got {doc.get('kind')!r}")])
    meta = doc.get("metadata") or {}
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise SpecError([SpecProblem(source, "spec", "missing or not a mapping")])
    return Manifest(spec, meta.get("name"), meta.get("namespace"))


# ---------------------------------------------------------------- schema


def _closed(schema: Any) -> Any:
    """Close every object schema that lists properties (the CRD cannot say so; we can)."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items()}
        if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


@cache
def _validators() -> tuple[Any, Any]:
    schema = _closed(jsonschemas.load(jsonschemas.COURSE_STRUCTURE))
    node = copy.deepcopy(schema["properties"]["contents"]["items"])
    return jsonschemas.validator(schema), jsonschemas.validator(node)


def _node_where(spec: Mapping[str, Any], node_parts: list[Any]) -> str:
    """`contents[0].contents[2] (week1.hello_world)` for the node at `node_parts`."""
    node: Any = spec
    full: str | None = None
    for part in node_parts:
        node = node[part]
        label = node.get("path") if isinstance(node, dict) else None
        if isinstance(part, int) and isinstance(label, str):
            full = label if full is None or "." in label else f"{full}.{label}"
    loc = field_path(node_parts)
    return f"{loc} ({paths.short(full, 60)})" if full else loc


def _schema_problems(spec: Mapping[str, Any]) -> tuple[list[SpecProblem], set[tuple[Any, ...]]]:
    """Schema findings, and the locations of the nodes they concern (skipped by the walk)."""
    top, node_validator = _validators()
    found = [([], err) for err in top.iter_errors(spec)]
    for parts, node in _nested_nodes(spec):
        found.extend((parts, err) for err in node_validator.iter_errors(node))
    problems: list[SpecProblem] = []
    bad_nodes = set()
    for base, err in found:
        problem, node_parts = _problem_from(spec, base + list(err.absolute_path),
                                            _message(err))
        if problem not in problems:  # a too-long label fails both pattern and maxLength
            problems.append(problem)
        bad_nodes.add(tuple(node_parts) if node_parts else ())
    for fld, message in spec_url_problems(spec).items():  # also what a pattern lets through
        if not any(p.field == fld for p in problems):
            problems.append(SpecProblem("spec", fld, message))
            bad_nodes.add(())
    return problems, bad_nodes


def _message(err: jsonschema.ValidationError) -> str:
    """The schema's message, or the rule's own words for the paths, directories, URLs and
    the choice between a repository's `url` and `project`."""
    if err.validator == "oneOf" and isinstance(err.instance, dict):
        both = "url" in err.instance and "project" in err.instance
        return (("gives both `url` and `project`; " if both else "gives neither `url` nor "
                 "`project`; ") + "give exactly one: the Git `url` of the repository, or "
                "the `project` name exlib keeps on spec.provider")
    explain = _EXPLAIN.get(err.schema.get("pattern", "")) if isinstance(err.schema, dict) \
        else None
    if explain is not None and err.validator in ("pattern", "maxLength") \
            and isinstance(err.instance, str):
        return explain(err.instance) or err.message
    return err.message


def _value_problem(value: Any) -> str | None:
    """Why a value cannot be stored as JSON and PostgreSQL text, in words; None if it can."""
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (`\\0`), which PostgreSQL cannot store; remove it"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (`\\ud800`-style escape); remove it"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"`{value}` is not a number JSON can hold; write a finite number"
    if value is None or isinstance(value, bool | int | float | list | dict):
        return None
    return (f"is a {type(value).__name__}, which JSON cannot hold; put the value in quotes "
            "to make it text")


def _bound_problems(spec: Mapping[str, Any]) -> tuple[list[SpecProblem], bool]:
    """Sizes and values checked before anything else (the operator gets any JSON the API
    server accepts, not just what our YAML loader lets through): nesting depth, values JSON
    and PostgreSQL can hold, the number of nodes and each node's `properties` size.
    True with the problems when the rest of the checks must not run (too deep, too many)."""
    problems: list[SpecProblem] = []
    too_deep: list[SpecProblem] = []

    def walk(value: Any, parts: list[Any]) -> None:
        if len(problems) + len(too_deep) >= 20:
            return
        if len(parts) > MAX_SPEC_DEPTH:
            where, node_parts = _problem_from(spec, parts, "")
            field = parts[len(node_parts): len(node_parts) + 1]  # the field, not the way down
            too_deep.append(SpecProblem(where.where, field_path(field), (
                f"is nested more than {MAX_SPEC_DEPTH} levels deep; flatten it")))
            return
        message = _value_problem(value)
        if message is not None:
            problems.append(_problem_from(spec, parts, message)[0])
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or _value_problem(key) is not None:
                    problems.append(_problem_from(spec, [*parts, str(key)], (
                        "this key is not plain text; put it in quotes and remove control "
                        "characters"))[0])
                    continue
                walk(item, [*parts, key])
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, [*parts, i])

    walk(dict(spec), [])
    if too_deep:
        return too_deep, True
    nodes = list(_all_nodes(spec))
    if len(nodes) > MAX_NODES:
        return [SpecProblem("spec", "contents", f"has {len(nodes)} nodes; a course may have at "
                                            f"most {MAX_NODES}, so split it")], True
    for parts, node in nodes:
        props = node.get("properties")
        if props is None:
            continue
        size = len(json.dumps(props, ensure_ascii=False, default=str).encode("utf-8", "replace"))
        if size > MAX_PROPERTIES_BYTES:
            problems.append(SpecProblem(_node_where(spec, parts), "properties", (
                f"is {size // 1024} KiB as JSON; at most {MAX_PROPERTIES_BYTES // 1024} KiB "
                "fit, so keep long text in the example's files")))
    return problems, False


def _problem_from(spec: Mapping[str, Any], parts: list[Any],
                  message: str) -> tuple[SpecProblem, list[Any]]:
    idx = max((i for i, p in enumerate(parts) if p == "contents" and i + 1 < len(parts)
               and isinstance(parts[i + 1], int)), default=None)
    if idx is None:
        return SpecProblem("spec", field_path(parts), message), []
    node_parts = parts[: idx + 2]
    return (SpecProblem(_node_where(spec, node_parts), field_path(parts[idx + 2:]), message),
            node_parts)


def _all_nodes(spec: Mapping[str, Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Every node of the tree (in any shape: the schema has not been checked yet)."""
    top = spec.get("contents")
    for i, node in enumerate(top if isinstance(top, list) else []):
        if isinstance(node, dict):
            yield ["contents", i], node
    yield from _nested_nodes(spec)


def _nested_nodes(spec: Mapping[str, Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Nodes below the first level (the top-level schema validates the first level)."""
    def walk(node: Any, parts: list[Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
        children = node.get("contents") if isinstance(node, dict) else None
        if not isinstance(children, list):
            return
        for i, child in enumerate(children):
            if isinstance(child, dict):
                yield [*parts, "contents", i], child
                yield from walk(child, [*parts, "contents", i])

    top = spec.get("contents")
    for i, node in enumerate(top if isinstance(top, list) else []):
        yield from walk(node, ["contents", i])


# ---------------------------------------------------------------- tree rules


def _full(parent: str | None, written: str) -> str:
    return f"{parent}.{written}" if parent else written


def _repo_name(text: str, namespace: str) -> str:
    return text if "/" in text else f"{namespace}/{text}"


class _TreeBuilder:
    """Walks the raw spec once, collecting nodes and problems."""

    def __init__(self, spec: Mapping[str, Any], namespace: str, problems: list[SpecProblem],
                 invalid: set[tuple[Any, ...]]) -> None:
        self.spec = spec
        self.namespace = namespace
        self.problems = problems
        self.invalid = invalid  # nodes the schema rejected: skipped with their subtrees
        self.types = {t["slug"]: t for t in spec.get("contentTypes") or []}
        self.raw: list[tuple[dict[str, Any], str, str, str | None, Strategy]] = []

    def fail(self, where: str, fld: str, message: str) -> None:
        """Record a problem at `where` (the node's location) in field `fld`."""
        self.problems.append(SpecProblem(where, fld, message))

    def walk(self, children: list[Any], parts: list[Any], parent_path: str | None,
             strategy: Strategy) -> None:
        """Collect `children` and their subtrees with full paths and inherited update strategies."""
        for i, raw in enumerate(children):
            node_parts = [*parts, "contents", i]
            if tuple(node_parts) in self.invalid:
                continue
            where = _node_where(self.spec, node_parts)
            written = raw["path"]
            if parent_path is None or "." not in written:
                full = _full(parent_path, written)
            elif paths.is_below(written, parent_path):
                full = written
            else:
                self.fail(where, "path", f"`{written}` does not extend its parent's path "
                                         f"`{parent_path}`; write one label or a path below it")
                continue
            problem = paths.ltree_problem(full)
            if problem is not None:  # its children's paths are longer still: not repeated
                self.fail(where, "path", problem)
                continue
            own = raw.get("updateStrategy", strategy)
            raw.setdefault("_position", float(i + 1))
            self.raw.append((raw, full, where, parent_path, own))
            self.walk(raw.get("contents") or [], node_parts, full, own)

    def nodes(self) -> tuple[Node, ...]:
        """Every collected node built, duplicates of path or id refused, in manifest order."""
        by_path: dict[str, tuple[dict[str, Any], str]] = {}
        unique = []
        for entry in self.raw:
            raw, full, where = entry[0], entry[1], entry[2]
            if full in by_path:
                self.fail(where, "path", f"duplicate path `{full}` (also at {by_path[full][1]})")
                continue
            by_path[full] = (raw, where)
            unique.append(entry)
        id_of: dict[str, str] = {}  # path -> id
        path_of: dict[str, str] = {}  # id -> path
        built: dict[str, Node] = {}
        for raw, full, where, _, strategy in sorted(unique, key=lambda e: e[1].count(".")):
            node = self.node(raw, full, where, strategy, by_path, id_of)
            if node is None:
                continue
            if node.id in path_of:
                self.fail(where, "id", f"duplicate id `{node.id}` (also used by "
                                       f"`{path_of[node.id]}`)")
                continue
            id_of[full], path_of[node.id] = node.id, full
            built[full] = node
        return tuple(built[e[1]] for e in unique if e[1] in built)  # manifest order

    def node(self, raw: dict[str, Any], full: str, where: str, strategy: Strategy,
             by_path: dict[str, tuple[dict[str, Any], str]],
             id_of: dict[str, str]) -> Node | None:
        """One node checked against its parent, its type and its example; None when it fails."""
        ok = True
        ctype = self.types.get(raw["type"])
        if ctype is None:
            known = ", ".join(sorted(self.types)) or "none"
            self.fail(where, "type", f"unknown content type `{raw['type']}` (known: {known})")
            return None
        kind: NodeKind = ctype["kind"]
        parent_path = paths.parent(full)
        parent_id = None
        if parent_path is not None:
            found = by_path.get(parent_path)
            parent_type = self.types.get(found[0]["type"]) if found else None
            if found is None:
                self.fail(where, "path", f"parent `{parent_path}` of `{full}` is not in the tree")
                ok = False
            elif parent_type is not None and parent_type["kind"] != "unit":
                self.fail(where, "path", f"parent `{parent_path}` is an assignment; only units "
                                         "hold other nodes")
                ok = False
            else:
                parent_id = id_of.get(parent_path)
                ok = ok and parent_id is not None  # the parent failed and was reported
        if kind == "assignment" and raw.get("contents"):
            self.fail(where, "contents", "an assignment cannot have child nodes; use a unit")
            ok = False
        example = self.example(raw, kind, where)
        version = raw.get("version")
        if version is not None:
            ok = self.check_version(version, kind, raw, where) and ok
        if not ok:
            return None
        node_id = raw.get("id") or (f"{parent_id}.{full.rsplit('.', 1)[-1]}" if parent_id
                                    else full)
        return Node(id=node_id, path=full, type=raw["type"], kind=kind, title=raw.get("title"),
                    position=float(raw.get("position", raw["_position"])), example=example,
                    version=version, update_strategy=strategy,
                    properties=dict(raw.get("properties") or {}), where=where)

    def example(self, raw: dict[str, Any], kind: NodeKind, where: str) -> ExampleRef | None:
        """The node's example reference in one of its three forms; else None and a problem."""
        value = raw.get("example")
        if value is None:
            return None
        if kind != "assignment":
            self.fail(where, "example", "only assignments name an example; this node's type "
                                        f"`{raw['type']}` is a unit")
            return None
        if is_identifier(value):
            return ExampleRef(identifier=value)
        if isinstance(value, dict) and set(value) == {"id"} and isinstance(value["id"], str) \
                and _UUID.fullmatch(value["id"]):
            return ExampleRef(id=value["id"].lower())
        if (isinstance(value, dict) and set(value) == {"repository", "identifier"}
                and all(isinstance(v, str) for v in value.values())
                and is_identifier(value["identifier"])):
            return ExampleRef(identifier=value["identifier"],
                              repository=_repo_name(value["repository"], self.namespace))
        self.fail(where, "example", f"{value!r} is not an example identifier, "
                                    "{repository, identifier} or {id: <uuid>}")
        return None

    def check_version(self, version: str, kind: NodeKind, raw: dict[str, Any], where: str) -> bool:
        """Whether the node's `version` is one exlib can resolve (tag, range, latest, sha256:)."""
        if kind != "assignment" or raw.get("example") is None:
            self.fail(where, "version", "a version needs an assignment that names an example")
            return False
        if version == "latest" or version.startswith(DIGEST_PREFIX):
            if version.startswith(DIGEST_PREFIX) and not is_digest_ref(version):
                self.fail(where, "version", f"`{version}` is not `sha256:` followed by at least "
                                            "4 lowercase hex digits")
                return False
            return True
        try:
            parse_constraint(version)
        except VersionError as err:
            self.fail(where, "version", str(err))
            return False
        return True


def parse_spec(spec: Mapping[str, Any], namespace: str = "default") -> CourseSpec:
    """Validate a CourseStructure spec and return it as values; raise SpecError listing all."""
    bounds, fatal = _bound_problems(spec)
    if fatal:
        raise SpecError(bounds)
    problems, invalid = _schema_problems(spec)
    problems[:0] = bounds
    if () in invalid:  # the course-level fields are broken: the tree rules cannot run
        raise SpecError(problems)
    builder = _TreeBuilder(spec, namespace, problems, invalid)
    seen: set[str] = set()
    for i, ctype in enumerate(spec["contentTypes"]):
        if ctype["slug"] in seen:
            builder.fail(f"contentTypes[{i}]", "slug", f"duplicate content type `{ctype['slug']}`")
        seen.add(ctype["slug"])
    builder.walk(copy.deepcopy(spec.get("contents") or []), [], None,
                 spec.get("updateStrategy", DEFAULT_STRATEGY))
    nodes = builder.nodes()
    course = spec["course"]
    family = course["family"]["path"]
    org = course["organization"]["path"]
    family_full = family if paths.is_below(family, org) else _full(org, family)
    course_full = (course["path"] if paths.is_below(course["path"], family_full)
                   else _full(family_full, course["path"]))
    for fld, full in (("family.path", family_full), ("path", course_full)):
        problem = paths.ltree_problem(full)
        if problem is not None:
            builder.fail("spec", f"course.{fld}", problem)
            break
    directory = paths.directory_problem(spec["assignments"].get("path", ""))
    if directory and not any(p.field == "assignments.path" for p in builder.problems):
        builder.fail("spec", "assignments.path", directory)  # what the pattern cannot say
    try:
        timeout = parse_timeout(spec.get("timeout"))
    except ValueError as err:
        builder.fail("spec", "timeout", str(err))
    for fld, message in _provider_problems(spec).items():
        builder.fail("spec", fld, message)
    if builder.problems:
        raise SpecError(builder.problems)

    def target(raw: Mapping[str, Any] | None) -> GitTarget | None:
        if raw is None:
            return None
        return GitTarget(url=raw.get("url", ""), branch=raw.get("branch", DEFAULT_BRANCH),
                         path=raw.get("path", _default("assignments", "path")).strip("/"),
                         secret_ref=(raw.get("secretRef") or {}).get("name"),
                         project=raw.get("project"))

    assignments = target(spec["assignments"])
    assert assignments is not None
    return CourseSpec(
        organization_path=org, organization_title=course["organization"].get("title"),
        family_path=family_full, family_title=course["family"].get("title"),
        path=course_full, title=course["title"],
        repositories=tuple(_repo_name(r, namespace) for r in spec.get("exampleRepositories", [])),
        assignments=assignments, student_template=target(spec.get("studentTemplate")),
        content_types=tuple(ContentType(t["slug"], t["kind"], t.get("title"), t.get("color"))
                            for t in spec["contentTypes"]),
        update_strategy=spec.get("updateStrategy", DEFAULT_STRATEGY),
        prune=spec.get("prune", DEFAULT_PRUNE), suspend=spec.get("suspend", DEFAULT_SUSPEND),
        interval=spec.get("interval", DEFAULT_INTERVAL),
        timeout=timeout, nodes=nodes, provider=_provider(spec.get("provider")),
    )


def _provider(raw: Mapping[str, Any] | None) -> ProviderSpec | None:
    if raw is None:
        return None
    return ProviderSpec(kind=raw["kind"], url=raw["url"].rstrip("/"), owner=raw["owner"],
                        secret_ref=raw["secretRef"]["name"],
                        visibility=raw.get("visibility", DEFAULT_VISIBILITY))


def _provider_problems(spec: Mapping[str, Any]) -> dict[str, str]:
    """What the schema cannot say about spec.provider and the projects (field -> problem)."""
    out: dict[str, str] = {}
    provider = spec.get("provider")
    projects = {key: spec[key]["project"] for key in TARGETS
                if isinstance(spec.get(key), dict) and "project" in spec[key]}
    for key, name in projects.items():
        if provider is None:
            out[f"{key}.project"] = (
                f"names project `{name}`, but spec.provider is not set; add spec.provider "
                "(kind, url, owner, secretRef) so exlib knows where the project lives, or "
                "give the repository's Git `url` instead")
        elif name.lower().endswith((".git", ".atom")):
            out[f"{key}.project"] = (f"`{name}` ends in `.git` or `.atom`, which GitLab and "
                                     "Gitea do not allow in a project name; drop the suffix")
    if len(projects) == 2 and len({n.lower() for n in projects.values()}) == 1:
        out["studentTemplate.project"] = (
            f"is the same project as assignments.project (`{projects['assignments']}`); the "
            "student template needs a project of its own, e.g. "
            f"`{projects['assignments']}-template`")
    if provider is not None and provider["kind"] == "gitea" and "/" in provider["owner"]:
        out["provider.owner"] = (f"`{provider['owner']}` has a `/`, but a Gitea owner is one "
                                 "user or organisation name (groups in groups are GitLab's); "
                                 "write just the organisation, e.g. `prog1`")
    return out
