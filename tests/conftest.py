"""Session fixtures: the real local stack (hack/devstack) and per-test isolation.

Tests that need a server ask for a fixture below; unit tests ask for none and run without
the stack. If the stack cannot start, the run fails with the service's log — never a skip.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEVSTACK = REPO / "hack" / "devstack"
# The tests' own stack, apart from the demo's (.devstack/); `make test` uses it too (Makefile).
TEST_STACK_DIR = REPO / ".devstack-test"
SERVERS = ("postgres", "minio", "etcd", "kube-apiserver", "git")
# Real course data (shared/ beside the checkout, as on developer machines and in CI).
SHARED_DATA = Path(os.environ.get("EXLIB_SHARED_DATA", REPO.parent / "shared" / "data"))
KEYS = ("DATABASE_URL", "EXLIB_S3_ENDPOINT", "EXLIB_S3_ACCESS_KEY", "EXLIB_S3_SECRET_KEY",
        "EXLIB_S3_BUCKET", "KUBECONFIG", "EXLIB_KUBECTL", "EXLIB_GIT_BASE_URL", "EXLIB_GIT_TOKEN",
        "EXLIB_DEVSTACK_DIR")
GITEA_KEYS = ("EXLIB_GITEA_URL", "EXLIB_GITEA_TOKEN", "EXLIB_GITEA_USER", "EXLIB_GITEA_PASSWORD")


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def git_base_url(self) -> str:
        return self.env["EXLIB_GIT_BASE_URL"]

    @property
    def git_token(self) -> str:
        return self.env["EXLIB_GIT_TOKEN"]

    @property
    def kubectl(self) -> str:
        return self.env["EXLIB_KUBECTL"]

    def devstack(self, *args: str) -> str:
        res = subprocess.run([str(DEVSTACK), *args], capture_output=True, text=True,
                             env={**os.environ, **self.env})
        if res.returncode != 0:
            pytest.fail(f"hack/devstack {' '.join(args)} failed:\n{res.stderr}")
        return res.stdout.strip()


@dataclass(frozen=True)
class Gitea:
    """A real Gitea and its admin: `token` has every scope; `password` makes other tokens."""

    url: str
    token: str = field(repr=False)
    user: str
    password: str = field(repr=False)


def _parse_exports(text: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)='(.*)'$", text, flags=re.M))


def alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (exited, never reaped by the PID 1 that adopted it) does not
    (the same rule as hack/devstack's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _foreign_processes(state: Path) -> list[str]:
    """Processes registered on the stack besides its servers (the demo's operator): they would
    act on the tests' objects too."""
    return [f"{pidfile.stem} (pid {pidfile.read_text().strip()})"
            for pidfile in sorted((state / "pids").glob("*.pid"))
            if pidfile.stem not in SERVERS and alive(int(pidfile.read_text()))]


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The stack of `make test`'s environment; else the tests' own (TEST_STACK_DIR), started
    for this session and deleted afterwards unless it was running already."""
    if all(os.environ.get(k) for k in KEYS):
        env = {k: os.environ[k] for k in KEYS}
        others = _foreign_processes(Path(env["EXLIB_DEVSTACK_DIR"]))
        if others:
            pytest.fail(f"{', '.join(others)} runs on the stack in {env['EXLIB_DEVSTACK_DIR']} "
                        "and would act on the tests' objects. Run the tests on a stack of their "
                        "own with `make test` (or start pytest without the stack's settings), "
                        "or stop the demo with `make stack-down`.", pytrace=False)
        yield Stack(env)
        return
    own = {**os.environ, "EXLIB_DEVSTACK_DIR": str(TEST_STACK_DIR)}
    was_running = subprocess.run([str(DEVSTACK), "env"], capture_output=True,
                                 env=own).returncode == 0
    res = subprocess.run([str(DEVSTACK), "up"], capture_output=True, text=True, env=own)
    if res.returncode != 0:
        pytest.fail(f"the local stack did not start (hack/devstack up):\n{res.stderr}",
                    pytrace=False)
    env = _parse_exports(res.stdout)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield Stack(env)
    finally:
        if not was_running:
            subprocess.run([str(DEVSTACK), "down", "--wipe"], capture_output=True, env=own)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _devstack_shown(args: list[str], env: dict[str, str],
                    config: pytest.Config) -> tuple[int, str, str]:
    """Run hack/devstack with its progress on the terminal as it comes (a first build takes
    minutes; captured, it would look like a hang); (exit code, stdout, stderr)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        proc = subprocess.Popen([str(DEVSTACK), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        said = []
        for line in proc.stderr:
            sys.stderr.write(line)
            said.append(line)
        out = proc.stdout.read()
        return proc.wait(), out, "".join(said)


@pytest.fixture(scope="session")
def gitea(stack: Stack, pytestconfig: pytest.Config) -> Gitea:
    """The Gitea of the environment (EXLIB_GITEA_*), else the stack's, started on request
    (`hack/devstack up --with gitea`) and left running with the stack. A Gitea that cannot
    start fails the run with its log — never a skip."""
    if all(os.environ.get(k) for k in GITEA_KEYS):
        env = {k: os.environ[k] for k in GITEA_KEYS}
    else:
        code, out, err = _devstack_shown(["up", "--with", "gitea"], {**os.environ, **stack.env},
                                         pytestconfig)
        if code != 0:
            pytest.fail(f"Gitea did not start (hack/devstack up --with gitea):\n{err}",
                        pytrace=False)
        env = _parse_exports(out)
    return Gitea(url=env["EXLIB_GITEA_URL"], token=env["EXLIB_GITEA_TOKEN"],
                 user=env["EXLIB_GITEA_USER"], password=env["EXLIB_GITEA_PASSWORD"])


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


@pytest.fixture
def database_url(stack: Stack) -> Iterator[str]:
    """A fresh, empty database (with ltree available) for one test."""
    import sqlalchemy as sa

    name = unique("t_")
    admin = sa.create_engine(stack.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = stack.database_url.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(stack: Stack, database_url: str, tmp_path: Path):  # -> controller.config.Settings
    """Settings for a fresh, migrated database and a private Git cache (one test)."""
    from controller.config import Settings
    from controller.store.db import upgrade

    upgrade(database_url)
    e = stack.env
    return Settings(database_url=database_url, s3_endpoint=e["EXLIB_S3_ENDPOINT"],
                    s3_access_key=e["EXLIB_S3_ACCESS_KEY"],
                    s3_secret_key=e["EXLIB_S3_SECRET_KEY"], s3_bucket=e["EXLIB_S3_BUCKET"],
                    cache_dir=tmp_path / "cache")


@pytest.fixture
def s3_prefix(stack: Stack) -> str:
    """A bucket prefix no other test uses."""
    return unique("test-") + "/"


@pytest.fixture
def git_repo(stack: Stack) -> str:
    """URL of a fresh, empty bare repository (HEAD = main) on the local Git server."""
    return stack.devstack("git-create", unique("repo-"))


def _fresh_namespace(stack: Stack) -> Iterator[str]:
    from kubernetes import client, config

    config.load_kube_config(config_file=stack.env["KUBECONFIG"])
    api = client.CoreV1Api()
    name = unique("t-")
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    api.delete_namespace(name)


@pytest.fixture
def namespace(stack: Stack) -> Iterator[str]:
    """A fresh Kubernetes namespace, deleted afterwards."""
    yield from _fresh_namespace(stack)


@pytest.fixture
def second_namespace(stack: Stack) -> Iterator[str]:
    """Another fresh namespace, for what one namespace must not do to another."""
    yield from _fresh_namespace(stack)
