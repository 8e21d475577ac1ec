"""End to end: the real operator process, the local kube-apiserver, PostgreSQL, MinIO, Git.

What a course team does with kubectl, and what they see back in status, events and Git.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pygit2
import sqlalchemy as sa

from controller.config import Settings
from controller.library.source import SourceSpec
from controller.store.db import upgrade
from controller.store.git import Credentials
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
from tests.integration.test_sync_lock import HeldSync

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "manifests" / "samples" / "examples"


def push_tree(url: str, token: str, files: dict[str, bytes], message: str) -> str:
    """Commit `files` as the whole tree on main (on top of the current head) and push."""
    creds = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", token))
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.clone_repository(url, tmp, bare=True, callbacks=creds)
        parents = [] if repo.head_is_unborn else [repo.head.target]
        index = pygit2.Index()
        for path, data in sorted(files.items()):
            index.add(pygit2.IndexEntry(path, repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB))
        sig = pygit2.Signature("lecturer", "lecturer@example.edu")
        oid = repo.create_commit("refs/heads/main", sig, sig, message,
                                 index.write_tree(repo), parents)
        repo.remotes["origin"].push(["refs/heads/main:refs/heads/main"], callbacks=creds)
        return str(oid)


def sample_files() -> dict[str, bytes]:
    return {f"examples/{p.relative_to(SAMPLES)}": p.read_bytes()
            for p in sorted(SAMPLES.rglob("*")) if p.is_file()}


def remote_head(url: str, token: str) -> str | None:
    creds = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", token))
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.clone_repository(url, tmp, bare=True, callbacks=creds)
        return None if repo.head_is_unborn else str(repo.head.target)


def manifests(stack: Stack, examples: str, assignments: str, template: str,
              token: str | None = None) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git"},
         "stringData": {"username": "oauth2", "token": token or stack.git_token}},
        {"apiVersion": "exlib.dev/v1alpha1", "kind": "ExampleRepository",
         "metadata": {"name": "basics"},
         "spec": {"git": {"url": examples, "ref": {"branch": "main"}, "path": "examples",
                          "secretRef": {"name": "git"}}, "interval": "1h"}},
        {"apiVersion": "exlib.dev/v1alpha1", "kind": "CourseStructure",
         "metadata": {"name": "prog1"},
         "spec": {
             "course": {"organization": {"path": "uni"}, "family": {"path": "uni.prog1"},
                        "path": unique("uni.prog1.c"), "title": "Programming 1"},
             "exampleRepositories": ["basics"],
             "assignments": {"url": assignments, "branch": "main", "secretRef": {"name": "git"}},
             "studentTemplate": {"url": template, "branch": "main",
                                 "secretRef": {"name": "git"}},
             "contentTypes": [{"slug": "week", "kind": "unit"},
                              {"slug": "exercise", "kind": "assignment"}],
             "interval": "1h",
             "contents": [
                 {"path": "week1", "type": "week", "contents": [
                     {"path": "hello_world", "type": "exercise", "example": "hello-world"},
                     {"path": "variables", "type": "exercise", "example": "variables-basics"}]},
                 {"path": "week2", "type": "week", "contents": [
                     {"path": "functions", "type": "exercise", "example": "functions-intro"}]},
             ]}},
    ]


def test_apply_to_ready_describe_and_idempotence(stack: Stack, kubectl: Kubectl,
                                                 operator: Operator,
                                                 course_setup: dict[str, str],
                                                 database_url: str) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    kubectl.apply(*docs)
    repo = wait_condition(kubectl, "exrepo", "basics", "Ready", "True", operator)
    assert repo["status"]["counts"]["examples"] == 3
    assert repo["status"]["artifact"]["revision"]
    course = wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    commit = course["status"]["assignments"]["commit"]
    assert commit == remote_head(course_setup["assignments"], stack.git_token)
    assert course["status"]["counts"]["deployed"] == 3
    assert remote_head(course_setup["template"], stack.git_token)

    described = kubectl("describe", "course", "prog1").stdout
    assert "Ready" in described and "Succeeded" in described
    reasons = {e["reason"] for e in kubectl.events("prog1")}
    assert "Deployed" in reasons

    # nothing changed: re-applying and an explicit reconcile request make no new commit
    kubectl.apply(*docs)
    kubectl("annotate", "--overwrite", "course", "prog1", "exlib.dev/requestedAt=again")
    wait_for("requestedAt handled", lambda: kubectl.get("course", "prog1")["status"].get(
        "lastHandledReconcileAt") == "again", operator=operator)
    assert remote_head(course_setup["assignments"], stack.git_token) == commit
    deployed_events = [e for e in kubectl.events("prog1") if e["reason"] == "Deployed"]
    assert len(deployed_events) == 1

    # rows exist in PostgreSQL under the course path
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        live = conn.execute(sa.text(
            "SELECT count(*) FROM course_content WHERE archived_at IS NULL")).scalar()
    engine.dispose()
    assert live == 5  # two units, three assignments


def test_spec_changes_move_and_remove(stack: Stack, kubectl: Kubectl, operator: Operator,
                                      course_setup: dict[str, str]) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    kubectl.apply(*docs)
    wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    course = docs[2]
    week1 = course["spec"]["contents"][0]["contents"]
    # move hello_world to week2 (same id), remove variables
    hello = week1.pop(0)
    week1.pop(0)
    course["spec"]["contents"][1]["contents"].append(
        {**hello, "id": "week1.hello_world", "path": "hello_world"})
    kubectl.apply(course)
    obj = wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    assert obj["status"]["counts"]["deployed"] == 2
    creds = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", stack.git_token))
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.clone_repository(course_setup["assignments"], tmp, callbacks=creds)
        tree = repo.head.peel(pygit2.Commit).tree
        assert "week2/hello_world/meta.yaml" in tree
        assert "week1/hello_world" not in tree
        assert "week1/variables" not in tree


def test_bad_spec_is_stalled_with_a_message_naming_the_node(
        stack: Stack, kubectl: Kubectl, operator: Operator,
        course_setup: dict[str, str]) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    docs[2]["spec"]["contents"][0]["contents"][0]["type"] = "lecture"  # no such content type
    kubectl.apply(*docs)
    obj = wait_condition(kubectl, "course", "prog1", "Stalled", "True", operator)
    ready = condition(obj, "Ready")
    assert ready and ready["status"] == "False"
    assert "week1.hello_world" in ready["message"] and "lecture" in ready["message"]
    assert remote_head(course_setup["assignments"], stack.git_token) is None


def test_wrong_token_is_reported_without_a_retry_storm(
        stack: Stack, kubectl: Kubectl, operator: Operator,
        course_setup: dict[str, str]) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"], token="wrong-token")
    kubectl.apply(*docs[:2])
    obj = wait_condition(kubectl, "exrepo", "basics", "Ready", "False", operator)
    ready = condition(obj, "Ready")
    assert ready and ready["reason"] == "AuthenticationFailed"
    assert condition(obj, "FetchFailed")
    assert "wrong-token" not in str(obj) and "wrong-token" not in operator.output()
    time.sleep(8)  # a retry storm would show as many passes here
    passes = kubectl.get("exrepo", "basics")["status"]["conditions"]
    assert condition({"status": {"conditions": passes}}, "Ready")["lastTransitionTime"] == (
        ready["lastTransitionTime"])
    warnings = [e for e in kubectl.events("basics") if e["type"] == "Warning"]
    assert len(warnings) == 1
    # the course waits for its repository instead of failing on its own
    kubectl.apply(docs[2])
    course = wait_condition(kubectl, "course", "prog1", "DependencyNotReady", "True", operator)
    assert "basics" in condition(course, "DependencyNotReady")["message"]
    # fixing the Secret and asking for a reconcile recovers
    kubectl.apply(manifests(stack, course_setup["examples"], course_setup["assignments"],
                            course_setup["template"])[0])
    kubectl("annotate", "--overwrite", "exrepo", "basics", "exlib.dev/requestedAt=fixed")
    wait_condition(kubectl, "exrepo", "basics", "Ready", "True", operator)
    wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)


def test_suspend_stops_all_side_effects(stack: Stack, kubectl: Kubectl, operator: Operator,
                                        course_setup: dict[str, str]) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    docs[2]["spec"]["suspend"] = True
    kubectl.apply(*docs)
    wait_condition(kubectl, "exrepo", "basics", "Ready", "True", operator)
    time.sleep(5)
    assert remote_head(course_setup["assignments"], stack.git_token) is None
    docs[2]["spec"]["suspend"] = False
    kubectl.apply(docs[2])
    wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    assert remote_head(course_setup["assignments"], stack.git_token)


def test_delete_archives_rows_and_keeps_git(stack: Stack, kubectl: Kubectl, operator: Operator,
                                            course_setup: dict[str, str],
                                            database_url: str) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    kubectl.apply(*docs)
    wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    head = remote_head(course_setup["assignments"], stack.git_token)
    kubectl("delete", "course", "prog1", "--timeout=60s")
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        live = conn.execute(sa.text(
            "SELECT count(*) FROM course_content WHERE archived_at IS NULL")).scalar()
        archived = conn.execute(sa.text(
            "SELECT count(*) FROM course_content WHERE archived_at IS NOT NULL")).scalar()
    engine.dispose()
    assert (live, archived) == (0, 5)
    assert remote_head(course_setup["assignments"], stack.git_token) == head


def test_storage_outage_is_named_and_recovers(stack: Stack, kubectl: Kubectl,
                                              database_url: str, namespace: str,
                                              course_setup: dict[str, str],
                                              tmp_path: Path) -> None:
    """A private MinIO for this test, stopped and restarted under the operator."""
    minio = shutil.which("minio") or next(
        iter(sorted(Path.home().glob(".cache/exlib-devstack/minio-*/minio"))), None)
    assert minio, "the devstack's MinIO binary is missing from its cache"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env_minio = {"MINIO_ROOT_USER": "outage", "MINIO_ROOT_PASSWORD": "outage-secret-1"}
    cmd = [str(minio), "server", str(tmp_path / "minio"), "--address", f"127.0.0.1:{port}",
           "--console-address", "127.0.0.1:0", "--quiet"]

    def start_minio() -> subprocess.Popen[bytes]:
        import os

        return subprocess.Popen(cmd, env={**os.environ, **env_minio},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    server = start_minio()
    upgrade(database_url)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_S3_ENDPOINT": f"127.0.0.1:{port}",
           "EXLIB_S3_ACCESS_KEY": "outage", "EXLIB_S3_SECRET_KEY": "outage-secret-1",
           "EXLIB_CACHE_DIR": str(tmp_path / "cache")}
    server.terminate()
    server.wait()
    op = start_operator(env, namespace, tmp_path / "operator.log")
    try:
        docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                         course_setup["template"])
        kubectl.apply(*docs[:2])
        obj = wait_condition(kubectl, "exrepo", "basics", "StorageFailed", "True", op)
        assert condition(obj, "Ready")["status"] == "False"
        server = start_minio()
        wait_condition(kubectl, "exrepo", "basics", "Ready", "True", op, timeout=120)
        assert any(e["reason"] == "Recovered" for e in kubectl.events("basics"))
    finally:
        op.stop()
        server.terminate()
        server.wait()


def test_manifests_apply_on_the_api_server(stack: Stack, kubectl: Kubectl) -> None:
    """The kustomize base is accepted by a real API server (server-side dry run)."""
    system = Kubectl(kubectl.binary, kubectl.kubeconfig, "exlib-system")
    system("apply", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata:\n"
                                     "  name: exlib-system\n")
    out = system("apply", "--dry-run=server", "-k", str(REPO / "manifests")).stdout
    assert "deployment.apps/exlib-operator created (server dry run)" in out
    assert "clusterrole.rbac.authorization.k8s.io/exlib-operator" in out


def test_crd_rejects_two_sources_with_a_clear_message(kubectl: Kubectl) -> None:
    res = kubectl("apply", "-f", "-", check=False, input=(
        "apiVersion: exlib.dev/v1alpha1\nkind: ExampleRepository\nmetadata: {name: both}\n"
        "spec: {git: {url: 'http://x'}, s3: {endpoint: 'x:1', bucket: abc}}\n"))
    assert res.returncode != 0
    assert "set exactly one of spec.git or spec.s3" in res.stderr
    created = kubectl("apply", "-f", "-", input=(
        "apiVersion: exlib.dev/v1alpha1\nkind: ExampleRepository\nmetadata: {name: one}\n"
        "spec: {git: {url: 'http://x'}}\n"))
    assert created.returncode == 0
    assert kubectl.get("exrepo", "one")["status"]["observedGeneration"] == -1


def test_two_operators_with_peering_only_one_acts(stack: Stack, kubectl: Kubectl,
                                                  database_url: str, namespace: str,
                                                  course_setup: dict[str, str],
                                                  tmp_path: Path) -> None:
    create_peering(kubectl)
    upgrade(database_url)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "c")}
    high = start_operator(env, namespace, tmp_path / "high.log", "--peering", "exlib",
                          "--priority", "100")
    low = start_operator(env, namespace, tmp_path / "low.log", "--peering", "exlib",
                         "--priority", "50")
    try:
        wait_for("both operators to announce themselves in the peering object",
                 lambda: len(peers(kubectl)) >= 2,
                 operator=low)
        docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                         course_setup["template"])
        kubectl.apply(*docs[:2])
        wait_condition(kubectl, "exrepo", "basics", "Ready", "True", high)
        assert f"ExampleRepository {namespace}/basics: pass" in high.output()
        assert f"ExampleRepository {namespace}/basics: pass" not in low.output()
    finally:
        high.stop()
        low.stop()


def test_new_library_version_flows_into_the_course(stack: Stack, kubectl: Kubectl,
                                                   operator: Operator,
                                                   course_setup: dict[str, str]) -> None:
    """A range pin moves when the repository publishes a newer match; the course follows."""
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    docs[2]["spec"]["contents"][0]["contents"][0]["version"] = "^1.0"
    kubectl.apply(*docs)
    first = wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    files = sample_files()
    meta = "examples/basics/hello-world/meta.yaml"
    files[meta] = files[meta].replace(b'version: "1.0"', b'version: "1.1"')
    files["examples/basics/hello-world/hello.py"] += b"# clearer greeting\n"
    push_tree(course_setup["examples"], stack.git_token, files, "hello-world 1.1")
    kubectl("annotate", "--overwrite", "exrepo", "basics", "exlib.dev/requestedAt=v11")

    def moved() -> dict[str, Any] | None:
        obj = kubectl.get("course", "prog1")
        commit = (obj.get("status") or {}).get("assignments", {}).get("commit")
        ready = condition(obj, "Ready")
        fresh = commit and commit != first["status"]["assignments"]["commit"]
        return obj if fresh and ready and ready["status"] == "True" else None

    wait_for("the course to deploy hello-world 1.1", moved, operator=operator)
    creds = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", stack.git_token))
    with tempfile.TemporaryDirectory() as tmp:
        pygit2.clone_repository(course_setup["assignments"], tmp, callbacks=creds)
        hello = (Path(tmp) / "week1" / "hello_world" / "hello.py").read_text()
    assert "clearer greeting" in hello


def test_deleting_a_repository_archives_its_examples(stack: Stack, kubectl: Kubectl,
                                                     operator: Operator, database_url: str,
                                                     course_setup: dict[str, str]) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    kubectl.apply(*docs[:2])
    wait_condition(kubectl, "exrepo", "basics", "Ready", "True", operator)
    kubectl("delete", "exrepo", "basics", "--timeout=60s")
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        archived = conn.execute(sa.text(
            "SELECT count(*) FROM example WHERE archived_at IS NOT NULL")).scalar()
        versions = conn.execute(sa.text("SELECT count(*) FROM example_version")).scalar()
    engine.dispose()
    assert archived == 3
    assert versions == 3  # versions are never deleted: courses may pin them


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def condition_series(port: int, name: str) -> list[str]:
    """The operator's `exlib_condition` series of object `name`, as scraped."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    return [line for line in text.decode().splitlines()
            if line.startswith("exlib_condition{") and f'name="{name}"' in line]


def test_metrics_are_served(stack: Stack, kubectl: Kubectl, database_url: str, namespace: str,
                            course_setup: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    upgrade(database_url)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "c")}
    op = start_operator(env, namespace, tmp_path / "op.log", "--metrics-port", str(port))
    try:
        kubectl.apply(*manifests(stack, course_setup["examples"], course_setup["assignments"],
                                 course_setup["template"])[:2])
        wait_condition(kubectl, "exrepo", "basics", "Ready", "True", op)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    finally:
        op.stop()
    body = text.decode()
    assert 'exlib_reconcile_duration_seconds_count{kind="ExampleRepository",result="success"}' \
        in body
    assert 'exlib_examples_synced_total{status="new"} 3.0' in body
    assert (f'exlib_condition{{kind="ExampleRepository",name="basics",namespace="{namespace}",'
            'status="True",type="Ready"} 1.0') in body


def test_pass_finding_a_sync_running_retries_and_metric_series_follow(
        stack: Stack, kubectl: Kubectl, settings: Settings, namespace: str,
        course_setup: dict[str, str], tmp_path: Path) -> None:
    """An `exlib sync` of the repository is running when the operator's pass starts: the
    pass says so and is retried once that sync is done; the ReconcileFailed series goes when
    the object recovers, and every series of the object goes when it is deleted."""
    source = SourceSpec("git", course_setup["examples"], path="examples",
                        credentials=Credentials(token=stack.git_token))
    held = HeldSync(settings, source, name="basics", namespace=namespace)
    port = free_port()
    env = {**stack.env, "DATABASE_URL": settings.database_url,
           "EXLIB_CACHE_DIR": str(tmp_path / "c")}
    op = start_operator(env, namespace, tmp_path / "op.log", "--metrics-port", str(port))
    try:
        kubectl.apply(*manifests(stack, course_setup["examples"], course_setup["assignments"],
                                 course_setup["template"])[:2])
        repo = wait_condition(kubectl, "exrepo", "basics", "Ready", "False", op)
        ready = condition(repo, "Ready")
        assert ready["reason"] == "SyncRunning"
        assert f"a sync of {namespace}/basics is running" in ready["message"]
        assert any('status="True",type="ReconcileFailed"} 1.0' in line
                   for line in condition_series(port, "basics"))

        assert held.finish().counts["new"] == 3
        wait_condition(kubectl, "exrepo", "basics", "Ready", "True", op)
        series = condition_series(port, "basics")
        assert any('status="True",type="Ready"} 1.0' in line for line in series)
        assert [line for line in series if "ReconcileFailed" in line] == []

        kubectl("delete", "exrepo", "basics", "--timeout=60s")
        assert condition_series(port, "basics") == []
    finally:
        held.release.set()
        kubectl("delete", "examplerepositories", "--all", "--timeout=60s", check=False)
        op.stop()


def edit_file(url: str, token: str, path: str, data: bytes) -> None:
    """A lecturer's commit: change one file on main and push."""
    creds = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", token))
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.clone_repository(url, tmp, bare=True, callbacks=creds)
        head = repo.head.peel(pygit2.Commit)
        index = pygit2.Index()
        index.read_tree(head.tree)
        index.add(pygit2.IndexEntry(path, repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB))
        sig = pygit2.Signature("lecturer", "lecturer@example.edu")
        repo.create_commit("refs/heads/main", sig, sig, "lecturer edit", index.write_tree(repo),
                           [head.id])
        repo.remotes["origin"].push(["refs/heads/main:refs/heads/main"], callbacks=creds)


def edit_and_publish_conflict(kubectl: Kubectl, assignments_token: str, assignments: str,
                              examples: str, examples_token: str) -> bytes:
    """A lecturer edits hello_world's solution and the library publishes hello-world 1.1,
    which changes the same line: the next pass of the course conflicts. Returns the
    lecturer's bytes."""
    lecturer = b'# BEGIN SOLUTION\nprint("Hallo, Welt!")\n# END SOLUTION\n'
    edit_file(assignments, assignments_token, "week1/hello_world/hello.py", lecturer)
    files = sample_files()
    meta = "examples/basics/hello-world/meta.yaml"
    files[meta] = files[meta].replace(b'version: "1.0"', b'version: "1.1"')
    files["examples/basics/hello-world/hello.py"] = (
        b'# BEGIN SOLUTION\nprint("Hello, world!")\n# END SOLUTION\n')
    push_tree(examples, examples_token, files, "hello-world 1.1")
    kubectl("annotate", "--overwrite", "exrepo", "basics", "exlib.dev/requestedAt=v11")
    return lecturer


def test_conflicting_update_is_reported_and_the_lecturer_keeps_main(
        stack: Stack, kubectl: Kubectl, operator: Operator,
        course_setup: dict[str, str]) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    docs[2]["spec"]["updateStrategy"] = "merge"
    docs[2]["spec"]["contents"][0]["contents"][0]["version"] = "^1.0"
    kubectl.apply(*docs)
    wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    lecturer = edit_and_publish_conflict(kubectl, stack.git_token, course_setup["assignments"],
                                         course_setup["examples"], stack.git_token)
    obj = wait_condition(kubectl, "course", "prog1", "UpdateConflict", "True", operator)
    ready = condition(obj, "Ready")
    assert ready["status"] == "False" and "week1.hello_world" in ready["message"]
    assert obj["status"]["counts"]["conflicts"] == 1
    listed = {c["path"]: c for c in obj["status"]["contents"]}
    assert listed["week1.hello_world"]["state"] == "UpdateConflict"
    assert any(e["reason"] == "UpdateConflict" for e in kubectl.events("prog1"))
    creds = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", stack.git_token))
    with tempfile.TemporaryDirectory() as tmp:
        pygit2.clone_repository(course_setup["assignments"], tmp, callbacks=creds)
        assert (Path(tmp) / "week1" / "hello_world" / "hello.py").read_bytes() == lecturer


def test_course_in_another_namespace_obeys_repository_visibility(
        stack: Stack, kubectl: Kubectl, database_url: str, namespace: str,
        course_setup: dict[str, str], tmp_path: Path) -> None:
    from kubernetes import client

    other = unique("t-")
    client.CoreV1Api().create_namespace(client.V1Namespace(
        metadata=client.V1ObjectMeta(name=other)))
    upgrade(database_url)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "c")}
    op = start_operator(env, namespace, tmp_path / "op.log", "--namespace", other)
    try:
        secret, repo, course = manifests(stack, course_setup["examples"],
                                         course_setup["assignments"], course_setup["template"])
        kubectl.apply(secret, repo)
        wait_condition(kubectl, "exrepo", "basics", "Ready", "True", op)
        theirs = Kubectl(kubectl.binary, kubectl.kubeconfig, other)
        course["spec"]["exampleRepositories"] = [f"{namespace}/basics"]
        theirs.apply(secret, course)
        obj = wait_condition(theirs, "course", "prog1", "Stalled", "True", op)
        assert "private" in condition(obj, "Ready")["message"]
        repo["spec"]["visibility"] = "public"
        kubectl.apply(repo)
        wait_condition(kubectl, "exrepo", "basics", "Ready", "True", op)
        theirs("annotate", "--overwrite", "course", "prog1", "exlib.dev/requestedAt=public")
        wait_condition(theirs, "course", "prog1", "Ready", "True", op)
    finally:
        op.stop()
        client.CoreV1Api().delete_namespace(other)
