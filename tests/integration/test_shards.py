"""Two operator shards on the local control plane, each with its own peering.

Shard `a` serves the objects labelled `exlib.dev/shard=a` (its namespace given as a Kopf glob),
shard `b` those labelled `b`. Each acts only on its own objects (status, passes, finalizers,
events), a course may use the other shard's repository, a hanging repository of one shard
does not hold back the other, an object moves by relabelling, and killing one shard leaves
the other working (docs/operations.md#sharding).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from controller.operator.scope import FINALIZER, SHARD_LABEL
from controller.store.db import upgrade
from tests.conftest import Stack, unique
from tests.integration.operator_harness import (
    Kubectl,
    Operator,
    condition,
    create_peering,
    peers,
    start_operator,
    wait_condition,
    wait_for,
)
from tests.integration.test_operator_e2e import push_tree, sample_files
from tests.integration.test_timeouts import HangingServer, exrepo, hanging  # noqa: F401


def labelled(doc: dict[str, Any], shard: str | None) -> dict[str, Any]:
    if shard is not None:
        doc["metadata"]["labels"] = {SHARD_LABEL: shard}
    return doc


def course(name: str, repository: str, assignments: str) -> dict[str, Any]:
    return {"apiVersion": "exlib.dev/v1alpha1", "kind": "CourseStructure",
            "metadata": {"name": name},
            "spec": {
                "course": {"organization": {"path": "uni"}, "family": {"path": "uni.shards"},
                           "path": unique("uni.shards.c"), "title": name},
                "exampleRepositories": [repository],
                "assignments": {"url": assignments, "branch": "main",
                                "secretRef": {"name": "git"}},
                "contentTypes": [{"slug": "week", "kind": "unit"},
                                 {"slug": "exercise", "kind": "assignment"}],
                "interval": "1h",
                "contents": [{"path": "week1", "type": "week", "contents": [
                    {"path": "hello_world", "type": "exercise", "example": "hello-world"}]}]}}


def passes_of(op: Operator, kubectl: Kubectl, kind: str, name: str) -> int:
    return op.output().count(f"{kind} {kubectl.namespace}/{name}: pass (")


def finalizers(kubectl: Kubectl, kind: str, name: str) -> list[str]:
    return kubectl.get(kind, name)["metadata"].get("finalizers") or []


def test_two_shards_each_act_only_on_their_own_objects(
        stack: Stack, kubectl: Kubectl, database_url: str, tmp_path: Path,
        hanging: HangingServer) -> None:  # noqa: F811
    ns = kubectl.namespace
    examples = stack.devstack("git-create", unique("examples-"))
    push_tree(examples, stack.git_token, sample_files(), "examples")
    upgrade(database_url)
    env = {**stack.env, "DATABASE_URL": database_url}
    for shard in "ab":
        create_peering(kubectl, f"exlib-{shard}")
    kubectl.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git"},
         "stringData": {"username": "oauth2", "token": stack.git_token}},
        # shard a: a repository whose server never answers, holding a's only pass slot
        labelled(exrepo("stuck", hanging.url, "60s"), "a"),
        # nobody's: no shard label, and only sharded operators run
        exrepo("nobody", examples, "60s", secret="git"))
    op_a = start_operator({**env, "EXLIB_CACHE_DIR": str(tmp_path / "ca"),
                           "EXLIB_PASSES_PER_NAMESPACE": "1"},
                          f"{ns[:-1]}?", tmp_path / "a.log",  # a Kopf glob
                          "--shard", "a", "--peering", "exlib-a", "--priority", "1")
    op_b = start_operator({**env, "EXLIB_CACHE_DIR": str(tmp_path / "cb")}, ns,
                          tmp_path / "b.log",
                          "--shard", "b", "--peering", "exlib-b", "--priority", "1")
    try:
        wait_for("shard a's pass of the hanging repository to start",
                 lambda: hanging.accepted >= 1, operator=op_a)
        kubectl.apply(
            labelled(exrepo("lib-b", examples, "60s", secret="git"), "b"),
            labelled(course("course-b", "lib-b", stack.devstack("git-create", unique("as-"))),
                     "b"),
            # shard a's course uses shard b's repository: read through the API only
            labelled(course("course-a", "lib-b", stack.devstack("git-create", unique("as-"))),
                     "a"))
        wait_condition(kubectl, "course", "course-b", "Ready", "True", op_b, timeout=90)
        # shard b got its course Ready while shard a is still inside its hanging pass
        assert condition(kubectl.get("exrepo", "stuck"), "Ready") is None or (
            condition(kubectl.get("exrepo", "stuck"), "Ready")["reason"] != "Timeout")
        assert passes_of(op_a, kubectl, "CourseStructure", "course-a") == 0

        obj = wait_condition(kubectl, "course", "course-a", "Ready", "True", op_a,
                             timeout=180)
        assert obj["status"]["repositories"] == {f"{ns}/lib-b": obj["status"][
            "repositories"][f"{ns}/lib-b"]}
        wait_for("shard a's hanging repository to time out", lambda: any(
            c.get("reason") == "Timeout"
            for c in (kubectl.get("exrepo", "stuck").get("status") or {}).get("conditions")
            or []), timeout=90, operator=op_a)  # (its retries with backoff hang again)

        # each operator ran passes and set its finalizer on its own objects only
        mine = {"a": [("ExampleRepository", "stuck"), ("CourseStructure", "course-a")],
                "b": [("ExampleRepository", "lib-b"), ("CourseStructure", "course-b")]}
        for shard, op, other in (("a", op_a, "b"), ("b", op_b, "a")):
            for kind, name in mine[shard]:
                assert finalizers(kubectl, kind, name) == [f"{FINALIZER}-{shard}"]
                assert passes_of(op, kubectl, kind, name) >= 1
            for kind, name in mine[other] + [("ExampleRepository", "nobody")]:
                assert passes_of(op, kubectl, kind, name) == 0, (shard, name)
        untouched = kubectl.get("exrepo", "nobody")
        assert not (untouched.get("status") or {}).get("conditions"), untouched.get("status")
        assert not untouched["metadata"].get("finalizers")
        assert not [k for k in untouched["metadata"].get("annotations") or {}
                    if k.startswith("exlib.dev/")]
        assert kubectl.events("nobody") == []
        for shard in "ab":  # one active replica per shard, in its own peering object
            assert [p["priority"] for p in peers(kubectl, f"exlib-{shard}").values()] == [1]

        # relabelled, the course moves: a lets it go (its finalizer removed), b takes it
        kubectl("label", "--overwrite", "course", "course-a", f"{SHARD_LABEL}=b")
        wait_for("shard b to take course-a over",
                 lambda: finalizers(kubectl, "course", "course-a") == [f"{FINALIZER}-b"]
                 and passes_of(op_b, kubectl, "CourseStructure", "course-a") >= 1,
                 operator=op_b)

        # shard a dies; shard b goes on with everything it serves
        op_a.proc.kill()
        op_a.proc.wait()
        kubectl("annotate", "--overwrite", "exrepo", "stuck", "exlib.dev/requestedAt=after-a")
        for name in ("course-a", "course-b"):
            kubectl("annotate", "--overwrite", "course", name, "exlib.dev/requestedAt=after-a")
        for name in ("course-a", "course-b"):
            wait_for(f"shard b to handle the request on {name}",
                     lambda n=name: kubectl.get("course", n)["status"].get(
                         "lastHandledReconcileAt") == "after-a", operator=op_b)
        assert kubectl.get("exrepo", "stuck")["status"].get("lastHandledReconcileAt") is None
    finally:
        if op_a.proc.poll() is not None:  # a dead shard's finalizer stays on its objects
            kubectl("patch", "exrepo", "stuck", "--type=json", "-p",
                    '[{"op": "remove", "path": "/metadata/finalizers"}]', check=False)
        kubectl("delete", "coursestructures,examplerepositories", "--all", "--timeout=60s",
                check=False)
        for op in (op_a, op_b):
            op.stop()
