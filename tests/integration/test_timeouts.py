"""A remote that accepts connections and never answers must not stall the operator.

`spec.timeout` bounds every network step of a pass (Git fetch, ls-remote and push), a timed
out pass ends `Ready=False` with reason `Timeout`, and one namespace full of hanging
repositories never keeps another namespace's repository from its pass.

The hanging server listens on 127.0.0.1 only, accepts every connection and never sends a
byte; it lives for the test and at most a few minutes. Every wait here is bounded: the
bounds only keep a regression from hanging the suite, they are not what is tested.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pygit2
import pytest
import sqlalchemy as sa

from controller.config import Settings
from controller.course.apply import apply_course
from controller.course.errors import CommitFailed, FetchFailed
from controller.library.errors import SourceUnreachable
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.store import git
from controller.store.db import DatabaseTimeout, make_engine, upgrade
from controller.store.objects import ObjectStore, ObjectStoreTimeout
from controller.timeouts import timed_out
from tests.conftest import Stack, unique
from tests.integration.library_support import exlib
from tests.integration.operator_harness import (
    Kubectl,
    Operator,
    condition,
    start_operator,
    wait_condition,
    wait_for,
)
from tests.integration.test_operator_e2e import push_tree, sample_files

#: Only keeps a regression from hanging the suite; not a measured duration.
HANG_BOUND = 120.0


class HangingServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (closed at teardown)."""

    def __init__(self, lifetime: float = 300.0) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._until = time.monotonic() + lifetime
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hang/repo.git"

    def _serve(self) -> None:
        try:
            while not self._stop.is_set() and time.monotonic() < self._until:
                try:
                    conn, _ = self._sock.accept()
                except TimeoutError:
                    continue
                self._held.append(conn)  # keep it open, never read or write
                self.accepted += 1
        finally:
            for conn in self._held:
                conn.close()
            self._sock.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


class PushHangingProxy:
    """Forwards Git fetches to the stack's Git server; a push gets no answer at all.

    So a course pass fetches its assignments branch, builds its commit, and then meets a
    server that stopped answering at the push.
    """

    def __init__(self, upstream: str, lifetime: float = 300.0) -> None:
        stop = self._stop = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def _forward(self) -> None:
                if "git-receive-pack" in self.path:
                    stop.wait(lifetime)  # accept the push, never answer
                    return
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "content-length")}
                req = urllib.request.Request(upstream + self.path, data=body, headers=headers,
                                             method=self.command)
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        status, reply, data = resp.status, resp.headers, resp.read()
                except urllib.error.HTTPError as err:
                    status, reply, data = err.code, err.headers, err.read()
                self.send_response(status)
                for key, value in reply.items():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, upstream_url: str) -> str:
        path = "/" + upstream_url.split("/", 3)[3]
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.close()


def bounded(fn: Callable[[], Any], bound: float = HANG_BOUND) -> BaseException | Any:
    """Run `fn` in a thread; its result or exception, failing the test if it never ends."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:
            box["value"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(bound)
    if thread.is_alive():
        pytest.fail(f"still waiting for the hanging server after {bound:.0f} s: no timeout")
    return box["value"]


def test_git_fetch_ls_remote_and_push_end_with_a_timeout(hanging: HangingServer,
                                                         tmp_path: Path) -> None:
    repo = git.open_cache(tmp_path, "hang", "test/hang")
    tree = repo.TreeBuilder().write()
    sig = pygit2.Signature("t", "t@exlib.dev")
    repo.create_commit("refs/heads/main", sig, sig, "m", tree, [])
    steps = {
        "fetch": lambda: git.fetch(repo, hanging.url, None, cache_dir=tmp_path, timeout=1.5),
        "ls-remote": lambda: git.ls_remote(repo, hanging.url, None, cache_dir=tmp_path,
                                           timeout=1.5),
        "push": lambda: git.push(repo, hanging.url, ["refs/heads/main:refs/heads/main"], None,
                                 cache_dir=tmp_path, timeout=1.5),
    }
    for step, fn in steps.items():
        err = bounded(fn)
        assert isinstance(err, git.GitTimeout), f"{step}: {err!r}"
        assert timed_out(err)
        assert hanging.url in str(err) and "1.5s" in str(err), str(err)
        assert "spec.timeout" in str(err)


def test_s3_requests_to_a_hanging_server_end_with_a_timeout(hanging: HangingServer) -> None:
    endpoint = hanging.url.split("/")[2]
    store = ObjectStore(endpoint, "key", "secret", "bucket", timeout=1.5, batch="off")
    err = bounded(lambda: store.put("k", b"data"))
    assert isinstance(err, ObjectStoreTimeout) and timed_out(err), repr(err)
    assert endpoint in str(err) and "1.5s" in str(err)


def test_database_statements_and_lock_waits_end_with_a_timeout(database_url: str) -> None:
    engine = make_engine(database_url, timeout=1.0)
    other = make_engine(database_url)
    try:
        with engine.connect() as conn:
            err = bounded(lambda: conn.execute(sa.text("SELECT pg_sleep(30)")))
        assert isinstance(err, DatabaseTimeout) and timed_out(err), repr(err)
        with other.connect() as holder:
            holder.execute(sa.text("SELECT pg_advisory_lock(42)"))
            with engine.connect() as conn:
                err = bounded(lambda: conn.execute(sa.text("SELECT pg_advisory_lock(42)")))
            assert isinstance(err, DatabaseTimeout) and timed_out(err), repr(err)
    finally:
        engine.dispose()
        other.dispose()


def test_library_sync_of_a_hanging_git_server_times_out(hanging: HangingServer,
                                                        settings: Settings) -> None:
    source = SourceSpec("git", hanging.url, timeout=2.0)
    err = bounded(lambda: sync_repository(settings, source, name="hang"))
    assert isinstance(err, SourceUnreachable) and timed_out(err), repr(err)
    assert hanging.url in str(err) and "2s" in str(err)


def test_cli_sync_of_a_hanging_git_server_says_it_timed_out(
        stack: Stack, hanging: HangingServer, database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path)}
    res = exlib("sync", "--name", "hang", "--git", hanging.url, "--timeout", "2s", env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "no answer within 2s" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def course_spec(tmp_path: Path, settings: Settings, assignments: str) -> dict[str, Any]:
    """A one-assignment course (timeout 2s) on a library synced from a directory."""
    examples = tmp_path / "examples" / "hello"
    examples.mkdir(parents=True)
    (examples / "meta.yaml").write_text("slug: hello\nversion: 1.0.0\ntitle: Hello\n")
    (examples / "main.py").write_text("print('hi')\n")
    sync_repository(settings, SourceSpec("dir", str(tmp_path / "examples")), name="lib")
    return {
        "course": {"organization": {"path": "uni"}, "family": {"path": "uni.p"},
                   "path": unique("uni.p.c"), "title": "P"},
        "exampleRepositories": ["lib"],
        "assignments": {"url": assignments, "branch": "main"},
        "contentTypes": [{"slug": "exercise", "kind": "assignment"}],
        "timeout": "2s",
        "contents": [{"path": "hello", "type": "exercise", "example": "hello"}],
    }


def test_course_with_a_hanging_assignments_server_times_out(
        hanging: HangingServer, settings: Settings, tmp_path: Path) -> None:
    spec = course_spec(tmp_path, settings, hanging.url)
    err = bounded(lambda: apply_course(settings, spec, name="p", namespace="default"))
    assert isinstance(err, FetchFailed) and timed_out(err), repr(err)
    assert hanging.url in str(err) and "2s" in str(err)


def test_course_whose_push_gets_no_answer_times_out_and_pushes_nothing(
        stack: Stack, settings: Settings, git_repo: str, tmp_path: Path) -> None:
    upstream = git_repo.split("/", 3)
    proxy = PushHangingProxy(f"{upstream[0]}//{upstream[2]}")
    try:
        spec = course_spec(tmp_path, settings, proxy.url(git_repo))
        creds = git.Credentials(token=stack.git_token)
        err = bounded(lambda: apply_course(settings, spec, name="p", namespace="default",
                                           credentials=creds))
    finally:
        proxy.close()
    assert isinstance(err, CommitFailed) and timed_out(err), repr(err)
    assert "no answer within 2s" in str(err)
    assert git.ls_remote(git.open_cache(tmp_path, git_repo, "test/check"), git_repo, creds,
                         cache_dir=tmp_path) == {}  # nothing reached the server
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM course_content")) == 0
    finally:
        engine.dispose()


# --- the operator: one namespace's hanging remotes never starve another namespace ---


def exrepo(name: str, url: str, timeout: str, secret: str | None = None) -> dict[str, Any]:
    git_spec: dict[str, Any] = {"url": url, "ref": {"branch": "main"}}
    if secret:
        git_spec |= {"path": "examples", "secretRef": {"name": secret}}
    return {"apiVersion": "exlib.dev/v1alpha1", "kind": "ExampleRepository",
            "metadata": {"name": name},
            "spec": {"git": git_spec, "interval": "1h", "timeout": timeout}}


def test_hanging_repositories_in_one_namespace_do_not_starve_another(
        stack: Stack, kubectl: Kubectl, second_namespace: str, hanging: HangingServer,
        database_url: str, tmp_path: Path) -> None:
    other = Kubectl(kubectl.binary, kubectl.kubeconfig, second_namespace)
    healthy = stack.devstack("git-create", unique("examples-"))
    push_tree(healthy, stack.git_token, sample_files(), "examples")
    upgrade(database_url)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "cache"),
           "EXLIB_PASSES_PER_NAMESPACE": "2"}
    # more hanging repositories than the whole pass pool (8 threads)
    hung = [f"hang{i}" for i in range(10)]
    kubectl.apply(*(exrepo(n, hanging.url, "10s") for n in hung))
    op = start_operator(env, kubectl.namespace, tmp_path / "operator.log",
                        "--namespace", second_namespace)
    try:
        wait_for("the hanging repositories' passes to start", lambda: hanging.accepted >= 2,
                 operator=op)
        other.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git"},
                     "stringData": {"username": "oauth2", "token": stack.git_token}},
                    exrepo("healthy", healthy, "60s", secret="git"))
        wait_condition(other, "exrepo", "healthy", "Ready", "True", op, timeout=60)
        ended = [n for n in hung if _ready_reason(kubectl, n) == "Timeout"]
        assert len(ended) < len(hung), "the healthy repository waited for every hanging one"
        for name in hung:
            obj = wait_condition(kubectl, "exrepo", name, "Ready", "False", op,
                                 timeout=HANG_BOUND)
            ready = condition(obj, "Ready")
            assert ready is not None and ready["reason"] == "Timeout", ready
            assert hanging.url in ready["message"] and "10s" in ready["message"]
            assert "spec.timeout" in ready["message"]
            fetch = condition(obj, "FetchFailed")
            assert fetch is not None and fetch["reason"] == "Timeout"
    finally:
        _cleanup(kubectl, other, op)


def _ready_reason(kubectl: Kubectl, name: str) -> str | None:
    ready = condition(kubectl.get("exrepo", name), "Ready")
    return ready["reason"] if ready else None


def _cleanup(kubectl: Kubectl, other: Kubectl, op: Operator) -> None:
    for k in (kubectl, other):
        k("delete", "examplerepositories", "--all", "--timeout=90s", check=False)
    op.stop()


@pytest.fixture
def kubectl(stack: Stack, namespace: str) -> Kubectl:
    from tests.integration.test_operator_e2e import REPO

    k = Kubectl(stack.kubectl, stack.env["KUBECONFIG"], namespace)
    k("apply", "-k", str(REPO / "crds"))
    k("wait", "--for=condition=Established", "--timeout=60s",
      "crd/examplerepositories.exlib.dev", "crd/coursestructures.exlib.dev")
    return k
