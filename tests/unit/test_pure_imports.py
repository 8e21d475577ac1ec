"""The pure layers import no adapter (DESIGN §8), checked by importing them without one.

Each module below is imported in a fresh interpreter where pygit2, minio, sqlalchemy,
kubernetes and kopf cannot be imported; a failure names the module, the package it reached
for and the chain of exlib modules that led there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: DESIGN §8's pure layers (meta, planning in library and course, the status summariser) and
#: the rule modules they share. Adapters (store.db/git/objects/kube), the passes that call
#: them (library.sync/state/gc/versions/catalog, course.apply/deploy/records/catalog/
#: branches), the sources (library.source_git/source_s3), the operator's handlers and the
#: CLI are left out on purpose.
PURE = (
    "controller.meta", "controller.meta.model", "controller.meta.names",
    "controller.meta.parse", "controller.meta.semver",
    "controller.library.plan", "controller.library.paths", "controller.library.digest",
    "controller.library.scan", "controller.library.report", "controller.library.errors",
    "controller.library.source",
    "controller.course.plan", "controller.course.paths", "controller.course.spec",
    "controller.course.matching", "controller.course.render", "controller.course.template",
    "controller.course.errors", "controller.course.requests",
    "controller.operator.status", "controller.operator.schedule", "controller.operator.crds",
    "controller.timeouts", "controller.tenancy", "controller.yamltext",
    "controller.jsonschemas", "controller.config", "controller.store.credentials",
    "controller.operator.process",
)
ADAPTERS = ("pygit2", "minio", "sqlalchemy", "kubernetes", "kopf")

_PROBE = r"""
import importlib, json, sys, traceback

BLOCKED = set(sys.argv[2].split(","))

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is an adapter library")
        return None

sys.meta_path.insert(0, Block())
found = {}
for module in sys.argv[1].split(","):
    try:
        importlib.import_module(module)
    except ImportError as err:
        chain = [f.f_globals.get("__name__", "") for f, _ in traceback.walk_tb(err.__traceback__)]
        chain = [c for c in dict.fromkeys(chain) if c.startswith("controller") and c != module]
        found[module] = f"{err} (via {' -> '.join(chain) or 'itself'})"
print(json.dumps(found))
"""


def test_pure_modules_load_no_adapter_library() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _PROBE, ",".join(PURE), ",".join(ADAPTERS)],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(root), "PATH": ""}, check=False)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert not loaded, "pure modules that load an adapter:\n" + "\n".join(
        f"  {m}: {why}" for m, why in loaded.items())


def test_the_probe_catches_an_adapter_import() -> None:
    """The check itself works: an I/O module is caught, with the package it reached for."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _PROBE, "controller.library.versions",
                           ",".join(ADAPTERS)], cwd=root, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(root), "PATH": ""}, check=False)
    loaded = json.loads(done.stdout)
    assert "is an adapter library" in loaded["controller.library.versions"]
