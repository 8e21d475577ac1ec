"""The Argo CD health checks and actions, run in Lua 5.1 (Argo CD's dialect) via lupa."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lupa.lua51 as lua51
import pytest
import yaml

ARGO = Path(__file__).resolve().parents[2] / "manifests" / "argocd"


def run(script: str, obj: dict[str, Any]) -> Any:
    rt = lua51.LuaRuntime(unpack_returned_tuples=True)
    rt.globals().obj = rt.table_from(obj, recursive=True)
    return rt.execute(script)


def to_py(value: Any) -> Any:
    if lua51.lua_type(value) == "table":
        items = dict(value.items())
        if items and all(isinstance(k, int) for k in items):
            return [to_py(items[k]) for k in sorted(items)]
        return {k: to_py(v) for k, v in items.items()}
    return value


def health(obj: dict[str, Any]) -> dict[str, str]:
    return to_py(run((ARGO / "health.lua").read_text(), obj))


def cond(type_: str, status: str, reason: str = "R", message: str = "m") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def course(gen: int = 2, observed: int | None = 2, conditions: list | None = None,
           suspend: bool = False) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if observed is not None:
        status["observedGeneration"] = observed
    if conditions is not None:
        status["conditions"] = conditions
    return {"metadata": {"generation": gen, "name": "c"}, "spec": {"suspend": suspend},
            "status": status}


@pytest.mark.parametrize(("obj", "expected"), [
    (course(conditions=[cond("Ready", "True", "Succeeded", "deployed 21")]), "Healthy"),
    (course(conditions=[cond("Ready", "False", "AuthenticationFailed")]), "Degraded"),
    (course(conditions=[cond("Ready", "False", "InvalidSpec"), cond("Stalled", "True")]),
     "Degraded"),
    (course(conditions=[cond("Ready", "Unknown"), cond("Reconciling", "True")]), "Progressing"),
    (course(gen=3, observed=2, conditions=[cond("Ready", "True")]), "Progressing"),
    (course(observed=-1, conditions=None), "Progressing"),
    (course(conditions=[cond("Ready", "False")], suspend=True), "Suspended"),
])
def test_health(obj: dict[str, Any], expected: str) -> None:
    assert health(obj)["status"] == expected


def test_degraded_message_says_why() -> None:
    obj = course(conditions=[cond("Ready", "False", "StorageUnavailable", "MinIO unreachable")])
    assert health(obj)["message"] == "StorageUnavailable: MinIO unreachable"


def actions() -> dict[str, Any]:
    return yaml.safe_load((ARGO / "actions.yaml").read_text())


def test_discovery_offers_resume_only_when_suspended() -> None:
    found = to_py(run(actions()["discovery.lua"], course(suspend=True)))
    assert found["resume"]["disabled"] is False
    assert found["suspend"]["disabled"] is True
    found = to_py(run(actions()["discovery.lua"], course(suspend=False)))
    assert found["resume"]["disabled"] is True


def test_reconcile_action_sets_requested_at() -> None:
    script = next(d for d in actions()["definitions"] if d["name"] == "reconcile")["action.lua"]
    out = to_py(run(script, {"metadata": {"name": "c"}, "spec": {}}))
    assert out["metadata"]["annotations"]["exlib.dev/requestedAt"].endswith("Z")


def test_suspend_and_resume_actions_flip_spec_suspend() -> None:
    defs = {d["name"]: d["action.lua"] for d in actions()["definitions"]}
    assert to_py(run(defs["suspend"], course()))["spec"]["suspend"] is True
    assert to_py(run(defs["resume"], course(suspend=True)))["spec"]["suspend"] is False
