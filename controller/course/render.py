"""The deployed form of an assignment directory (DESIGN §7.4), and the key that identifies it.

Pure. A deployed directory is the version's files, with `meta.yaml` rewritten to carry the
node's course properties and `testDependencies` resolved to `{identifier, id, version}`, plus
each resolved dependency's files under `.dependencies/<identifier>/` (the tree assembly is in
controller.course.deploy). The deploy key hashes every input of that rendering, so the
planner can tell "would the directory change?" without reading a single file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller import yamltext
from controller.meta.names import version_label

VENDOR_DIR = ".dependencies"
#: Bump when the rendering changes, so every deployed directory is seen as an update.
RENDER_FORMAT = 1


@dataclass(frozen=True)
class ResolvedDependency:
    """A dependency of a deployed version, resolved to one version of another example."""

    identifier: str
    example_id: str
    version_id: str
    tag: str | None
    digest: str

    @property
    def version_label(self) -> str:
        """How the deployed meta.yaml names the dependency's version."""
        return version_label(self.tag, self.digest)


def deploy_key(digest: str, properties: Mapping[str, Any],
               dependencies: Sequence[ResolvedDependency]) -> str:
    """Hash of everything `render_directory` reads: equal keys give equal directories."""
    payload = {
        "format": RENDER_FORMAT,
        "digest": digest,
        "properties": properties,
        "dependencies": sorted([d.identifier, d.example_id, d.digest] for d in dependencies),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def rewrite_meta(original: bytes, properties: Mapping[str, Any],
                 dependencies: Sequence[ResolvedDependency]) -> bytes:
    """meta.yaml with the course's properties and dependencies resolved to example ids."""
    data = yamltext.load(original, yamltext.META_LIMITS) or {}
    props = dict(data.get("properties") or {})
    props.update(properties)
    if dependencies or "testDependencies" in props:
        props["testDependencies"] = [
            {"identifier": d.identifier, "id": d.example_id, "version": d.version_label}
            for d in dependencies]
    if props:
        data["properties"] = props
    return yamltext.dump(data)
