"""The kustomize bases an administrator applies build, and the HA overlay forms a real pair."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import Stack

REPO = Path(__file__).resolve().parents[2]


def build(stack: Stack, folder: str) -> list[dict[str, Any]]:
    res = subprocess.run([stack.kubectl, "kustomize", str(REPO / folder)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"kubectl kustomize {folder} failed: {res.stderr}"
    return [d for d in yaml.safe_load_all(res.stdout) if d]


def deployments(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}


def flag(deployment: dict[str, Any], name: str) -> str:
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args[args.index(name) + 1]


def test_ha_overlay_adds_a_standby_that_selects_only_its_own_pods(stack: Stack) -> None:
    single, ha = build(stack, "manifests"), build(stack, "manifests/ha")
    assert sorted((d["kind"], d["metadata"]["name"]) for d in single) == sorted(
        (d["kind"], d["metadata"]["name"]) for d in ha
        if d["metadata"]["name"] != "exlib-operator-standby")
    pair = deployments(ha)
    active, standby = pair["exlib-operator"], pair["exlib-operator-standby"]
    for mine, other in ((active, standby), (standby, active)):
        selector = mine["spec"]["selector"]["matchLabels"]
        pod_labels = other["spec"]["template"]["metadata"]["labels"]
        assert not selector.items() <= pod_labels.items(), "Deployments would share pods"
        assert selector.items() <= mine["spec"]["template"]["metadata"]["labels"].items()
    assert flag(active, "--peering") == flag(standby, "--peering")
    assert int(flag(active, "--priority")) > int(flag(standby, "--priority"))
    assert all(d["metadata"]["namespace"] == "exlib-system" for d in pair.values())
    a_pod, s_pod = (d["spec"]["template"]["spec"] for d in (active, standby))
    assert a_pod["serviceAccountName"] == s_pod["serviceAccountName"]
    assert a_pod["containers"][0]["image"] == s_pod["containers"][0]["image"]


def test_shards_overlay_runs_one_operator_per_shard_each_with_its_own_peering(
        stack: Stack) -> None:
    single, sharded = build(stack, "manifests"), build(stack, "manifests/shards")
    ops = deployments(sharded)
    assert sorted(ops) == ["exlib-operator-a", "exlib-operator-b"]  # no unsharded one
    a, b = ops["exlib-operator-a"], ops["exlib-operator-b"]
    assert (flag(a, "--shard"), flag(b, "--shard")) == ("a", "b")
    peerings = {d["metadata"]["name"] for d in sharded if d["kind"] == "ClusterKopfPeering"}
    assert {flag(a, "--peering"), flag(b, "--peering")} == peerings and len(peerings) == 2
    for mine, other in ((a, b), (b, a)):
        selector = mine["spec"]["selector"]["matchLabels"]
        assert not selector.items() <= other["spec"]["template"]["metadata"]["labels"].items()
        assert "--all-namespaces" in mine["spec"]["template"]["spec"]["containers"][0]["args"]
    # the rest (CRDs, namespace, RBAC, configuration) as in the single-operator install
    rest = {(d["kind"], d["metadata"]["name"]) for d in single
            if d["kind"] not in ("Deployment", "ClusterKopfPeering")}
    assert rest <= {(d["kind"], d["metadata"]["name"]) for d in sharded}
