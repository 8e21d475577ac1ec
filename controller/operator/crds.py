"""CustomResourceDefinitions generated from the JSON Schemas in `controller/schemas/` (pure).

The spec schemas are the single source of truth: the CLI and the operator validate specs
with them, and the CRDs embed them converted to the structural OpenAPI subset Kubernetes
accepts. `exlib crds` writes the result to `crds/`; a test regenerates and diffs it.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from controller import jsonschemas

GROUP = "exlib.dev"
VERSION = "v1alpha1"
_DROP = {"$schema", "$id", "$defs", "$comment", "examples"}


def to_openapi(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Inline `$ref`s and drop what a structural CRD schema may not carry.

    Kubernetes forbids `properties` together with `additionalProperties`, and unknown
    fields are pruned anyway, so `additionalProperties: false` is dropped here; the
    operator still validates the full JSON Schema in Python and reports unknown fields.
    """
    defs = schema.get("$defs", {}) if defs is None else defs
    if "$ref" in schema:
        target = schema["$ref"].removeprefix("#/$defs/")
        merged = {**defs[target], **{k: v for k, v in schema.items() if k != "$ref"}}
        return to_openapi(merged, defs)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP:
            continue
        if key == "additionalProperties" and (value is False or "properties" in schema):
            continue
        if key == "properties":
            out[key] = {k: to_openapi(v, defs) for k, v in value.items()}
        elif key in {"items", "additionalProperties"} and isinstance(value, dict):
            out[key] = to_openapi(value, defs)
        elif key in {"oneOf", "anyOf", "allOf"}:
            out[key] = [to_openapi(v, defs) for v in value]
        else:
            out[key] = copy.deepcopy(value)
    return out


def _condition_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "status", "lastTransitionTime", "reason", "message"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "observedGeneration": {"type": "integer", "format": "int64"},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "reason": {"type": "string"},
            "message": {"type": "string"},
        },
    }


def _status_schema(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "default": {"observedGeneration": -1},
        "properties": {
            "observedGeneration": {"type": "integer", "format": "int64", "default": -1},
            "lastHandledReconcileAt": {"type": "string"},
            "conditions": {
                "type": "array",
                "items": _condition_schema(),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            },
            **extra,
        },
    }


def _counts(*names: str) -> dict[str, Any]:
    return {"type": "object", "properties": {n: {"type": "integer"} for n in names}}


def _entries(fields: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "object", "properties": {k: {"type": t} for k, t in fields.items()}},
    }


def _ready_columns(revision_path: str, revision_name: str) -> list[dict[str, Any]]:
    ready = '.status.conditions[?(@.type=="Ready")]'
    return [
        {"name": "Ready", "type": "string", "jsonPath": f"{ready}.status"},
        {"name": "Status", "type": "string", "jsonPath": f"{ready}.message"},
        {"name": revision_name, "type": "string", "jsonPath": revision_path},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]


def _crd(kind: str, plural: str, short: str, spec: dict[str, Any], status: dict[str, Any],
         columns: list[dict[str, Any]], rules: list[dict[str, str]]) -> dict[str, Any]:
    spec_schema = to_openapi(spec)
    if rules:
        spec_schema["x-kubernetes-validations"] = rules
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural,
                      "singular": kind.lower(), "shortNames": [short], "categories": ["exlib"]},
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": spec_schema,
                        "status": status,
                    },
                }},
            }],
        },
    }


def example_repository_crd() -> dict[str, Any]:
    """The ExampleRepository CRD, its spec schema from example-repository.schema.json."""
    status = _status_schema({
        "artifact": {"type": "object", "properties": {
            "revision": {"type": "string"}, "digest": {"type": "string"},
            "lastUpdateTime": {"type": "string", "format": "date-time"}}},
        "repositoryId": {"type": "string"},
        "counts": _counts("examples", "versions", "invalid"),
        "invalid": _entries({"identifier": "string", "directory": "string", "message": "string"}),
    })
    columns = [
        *_ready_columns(".status.artifact.revision", "Revision"),
        *({"name": n.capitalize(), "type": "integer", "jsonPath": f".status.counts.{n}",
           "priority": 1} for n in ("examples", "versions", "invalid")),
    ]
    rules = [
        {"rule": "has(self.git) != has(self.s3)",
         "message": "set exactly one of spec.git or spec.s3"},
        {"rule": "!has(self.allowedNamespaces) || "
                 "(has(self.visibility) && self.visibility == 'restricted')",
         "message": "spec.allowedNamespaces is only allowed with visibility: restricted"},
    ]
    return _crd("ExampleRepository", "examplerepositories", "exrepo",
                jsonschemas.load(jsonschemas.EXAMPLE_REPOSITORY), status, columns, rules)


def course_structure_crd() -> dict[str, Any]:
    """The CourseStructure CRD, its spec schema from course-structure.schema.json."""
    status = _status_schema({
        "courseId": {"type": "string"},
        "assignments": {"type": "object", "properties": {"commit": {"type": "string"}}},
        "studentTemplate": {"type": "object", "properties": {"commit": {"type": "string"}}},
        "counts": _counts("contents", "deployed", "customized", "updateAvailable", "conflicts",
                          "failed"),
        "contents": _entries({"path": "string", "example": "string", "version": "string",
                              "state": "string", "message": "string", "request": "string"}),
        "projects": {"type": "object", "description": (
            "With spec.provider: the course's projects on the provider (web URL, path)."),
            "properties": {key: {"type": "object", "properties": {
                "webUrl": {"type": "string"}, "path": {"type": "string"}}}
                for key in ("assignments", "studentTemplate")}},
        "repositories": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "Revision of each ExampleRepository used in the pass."},
    })
    columns = [
        *_ready_columns(".status.assignments.commit", "Commit"),
        *({"name": n[0].upper() + n[1:], "type": "integer", "jsonPath": f".status.counts.{n}",
           "priority": 1} for n in ("contents", "deployed", "customized", "updateAvailable",
                                    "conflicts")),
        {"name": "Project", "type": "string", "priority": 1,
         "jsonPath": ".status.projects.assignments.webUrl"},
    ]
    return _crd("CourseStructure", "coursestructures", "course",
                jsonschemas.load(jsonschemas.COURSE_STRUCTURE), status, columns, [])


def render_all() -> dict[str, str]:
    """File name -> YAML text for every CRD exlib ships."""
    crds = {"exlib.dev_examplerepositories.yaml": example_repository_crd(),
            "exlib.dev_coursestructures.yaml": course_structure_crd()}
    header = "# Generated by `exlib crds` from controller/schemas/; do not edit by hand.\n"
    return {name: header + yaml.safe_dump(crd, sort_keys=False, width=100)
            for name, crd in crds.items()}
