"""`hack/devstack` keeps a stack's data: a dead server comes back on it, only `--wipe` drops it.

Each test runs a stack of its own (its own state directory and ports), so the session's stack
is never disturbed.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
import requests
import sqlalchemy as sa
from minio import Minio

from tests.conftest import DEVSTACK, SERVERS, alive


def devstack(state: Path, *args: str) -> str:
    """Run `hack/devstack` on the stack in `state`; its stdout, or the failure with its log."""
    res = subprocess.run([str(DEVSTACK), *args], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "EXLIB_DEVSTACK_DIR": str(state)})
    if res.returncode != 0:
        pytest.fail(f"hack/devstack {' '.join(args)} failed:\n{res.stderr}")
    return res.stdout


def up(state: Path, *args: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)='(.*)'$", devstack(state, "up", *args), flags=re.M))


def pids(state: Path) -> dict[str, int]:
    return {name: int((state / "pids" / f"{name}.pid").read_text()) for name in SERVERS}


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still runs 30 s after SIGKILL"
        time.sleep(0.1)


def kubectl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([env["EXLIB_KUBECTL"], "--kubeconfig", env["KUBECONFIG"], *args],
                          capture_output=True, text=True, timeout=60)


def minio(env: dict[str, str]) -> Minio:
    return Minio(env["EXLIB_S3_ENDPOINT"], access_key=env["EXLIB_S3_ACCESS_KEY"],
                 secret_key=env["EXLIB_S3_SECRET_KEY"], secure=False)


def git_auth(env: dict[str, str]) -> pygit2.RemoteCallbacks:
    return pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", env["EXLIB_GIT_TOKEN"]))


def store_data(state: Path, env: dict[str, str]) -> None:
    """One piece of data in each server: a row, an object, a ConfigMap, a pushed commit."""
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE kept (v text)"))
        conn.execute(sa.text("INSERT INTO kept VALUES ('row')"))
    engine.dispose()
    minio(env).put_object(env["EXLIB_S3_BUCKET"], "kept.txt", io.BytesIO(b"object"), 6)
    res = kubectl(env, "create", "configmap", "kept", "-n", "default", "--from-literal=v=map")
    assert res.returncode == 0, res.stderr
    url = devstack(state, "git-create", "kept").strip()
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.init_repository(tmp, initial_head="main")
        tb = repo.TreeBuilder()
        tb.insert("kept.txt", repo.create_blob(b"commit"), pygit2.GIT_FILEMODE_BLOB)
        sig = pygit2.Signature("exlib test", "test@exlib.dev")
        repo.create_commit("refs/heads/main", sig, sig, "kept", tb.write(), [])
        repo.remotes.create("origin", url).push(["refs/heads/main:refs/heads/main"],
                                                callbacks=git_auth(env))


def read_data(env: dict[str, str]) -> dict[str, str | None]:
    """What `store_data` stored, as far as each server still has it (None: gone)."""
    found: dict[str, str | None] = {}
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT to_regclass('kept')")).scalar()
        found["row"] = conn.execute(sa.text("SELECT v FROM kept")).scalar() if exists else None
    engine.dispose()
    names = [o.object_name for o in minio(env).list_objects(env["EXLIB_S3_BUCKET"])]
    if "kept.txt" in names:
        obj = minio(env).get_object(env["EXLIB_S3_BUCKET"], "kept.txt")
        try:
            found["object"] = obj.read().decode()
        finally:
            obj.close()
            obj.release_conn()
    else:
        found["object"] = None
    res = kubectl(env, "get", "configmap", "kept", "-n", "default", "-o",
                  "jsonpath={.data.v}")
    found["configmap"] = res.stdout if res.returncode == 0 else None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            clone = pygit2.clone_repository(f"{env['EXLIB_GIT_BASE_URL']}/kept.git", tmp,
                                            callbacks=git_auth(env))
            found["commit"] = (Path(tmp) / "kept.txt").read_text() if not clone.head_is_unborn \
                else None
        except pygit2.GitError:
            found["commit"] = None
    return found


KEPT = {"row": "row", "object": "object", "configmap": "map", "commit": "commit"}


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Path]:
    """The state directory of a stack only this test uses; wiped afterwards."""
    state = tmp_path / "stack"
    yield state
    devstack(state, "down", "--wipe")


def test_up_brings_a_dead_server_back_on_its_data_and_leaves_the_others(
        own_stack: Path) -> None:
    env = up(own_stack)
    store_data(own_stack, env)
    for name in SERVERS:
        before = pids(own_stack)
        kill(before[name])
        assert up(own_stack) == env, f"the settings changed when {name} was restarted"
        after = pids(own_stack)
        assert after[name] != before[name], f"{name} was not restarted"
        assert {k: v for k, v in after.items() if k != name} == \
            {k: v for k, v in before.items() if k != name}, \
            f"servers that were running were restarted when {name} had died"
        assert read_data(env) == KEPT, f"data lost after {name} died and `up` restarted it"


def test_down_keeps_the_data_and_down_wipe_removes_it(own_stack: Path) -> None:
    env = up(own_stack)
    store_data(own_stack, env)
    devstack(own_stack, "down")
    env = up(own_stack)
    assert read_data(env) == KEPT, "`down` then `up` lost data"
    devstack(own_stack, "down", "--wipe")
    assert not (own_stack / "stack.json").exists()
    env = up(own_stack)
    assert read_data(env) == dict.fromkeys(KEPT), "`down --wipe` left data behind"


def test_gitea_runs_only_on_request_and_comes_back_on_its_data(own_stack: Path) -> None:
    env = up(own_stack)
    assert "EXLIB_GITEA_URL" not in env, "a plain `up` started Gitea"
    with_gitea = up(own_stack, "--with", "gitea")
    assert with_gitea.items() >= env.items()
    url, token = with_gitea["EXLIB_GITEA_URL"], with_gitea["EXLIB_GITEA_TOKEN"]
    auth = {"Authorization": f"token {token}"}
    res = requests.post(f"{url}/api/v1/user/repos", json={"name": "kept"}, headers=auth,
                        timeout=30)
    assert res.status_code == 201, res.text
    pidfile = own_stack / "pids" / "on-request" / "gitea.pid"
    pid = int(pidfile.read_text())

    assert up(own_stack) == with_gitea, "a plain `up` forgot the running Gitea"
    assert up(own_stack, "--with", "gitea") == with_gitea and int(pidfile.read_text()) == pid, \
        "a second `up --with gitea` restarted the running Gitea"
    kill(pid)
    assert up(own_stack) == env, "a plain `up` exported a dead Gitea (or started it)"
    assert up(own_stack, "--with", "gitea") == with_gitea, "Gitea came back with other settings"
    res = requests.get(f"{url}/api/v1/repos/{with_gitea['EXLIB_GITEA_USER']}/kept",
                       headers=auth, timeout=30)
    assert res.status_code == 200, "Gitea lost its repository when it was restarted"
