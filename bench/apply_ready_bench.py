"""Benchmark: `kubectl apply` of a small CourseStructure -> Ready, on the local control plane.

Target (DESIGN §10): <= 3 s. Baseline in the same run: the same course deployed by calling
the domain function directly (`apply_course`, what `exlib apply` does), so the ratio shows
what the operator adds (watch latency, status patches, dependency checks).

    eval "$(hack/devstack up)" && .venv/bin/python bench/apply_ready_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pygit2
import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from controller.config import Settings  # noqa: E402
from controller.course.apply import apply_course  # noqa: E402
from controller.store.db import upgrade  # noqa: E402
from controller.store.git import Credentials  # noqa: E402

SAMPLES = REPO / "manifests" / "samples" / "examples"


def sh(*args: str, input: str | None = None) -> str:
    return subprocess.run(args, input=input, capture_output=True, text=True, check=True).stdout


def kubectl(ns: str, *args: str, input: str | None = None) -> str:
    return sh(os.environ["EXLIB_KUBECTL"], "--kubeconfig", os.environ["KUBECONFIG"], "-n", ns,
              *args, input=input)


def git_create(name: str) -> str:
    return sh(str(REPO / "hack" / "devstack"), "git-create", name).strip()


def push_examples(url: str, token: str) -> None:
    creds = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", token))
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.init_repository(tmp, bare=True, initial_head="main")
        index = pygit2.Index()
        for p in sorted(SAMPLES.rglob("*")):
            if p.is_file():
                index.add(pygit2.IndexEntry(f"examples/{p.relative_to(SAMPLES)}",
                                            repo.create_blob(p.read_bytes()),
                                            pygit2.GIT_FILEMODE_BLOB))
        sig = pygit2.Signature("bench", "bench@exlib.dev")
        repo.create_commit("refs/heads/main", sig, sig, "examples", index.write_tree(repo), [])
        repo.remotes.create("origin", url).push(["refs/heads/main:refs/heads/main"],
                                                 callbacks=creds)


def course_spec(course_path: str, assignments: str) -> dict:
    return {
        "course": {"organization": {"path": "bench"}, "family": {"path": "bench.f"},
                   "path": course_path, "title": "Bench"},
        "exampleRepositories": ["basics"],
        "assignments": {"url": assignments, "branch": "main", "secretRef": {"name": "git"}},
        "contentTypes": [{"slug": "week", "kind": "unit"},
                         {"slug": "exercise", "kind": "assignment"}],
        "interval": "1h",
        "contents": [{"path": "week1", "type": "week", "contents": [
            {"path": "hello_world", "type": "exercise", "example": "hello-world"},
            {"path": "variables", "type": "exercise", "example": "variables-basics"},
            {"path": "functions", "type": "exercise", "example": "functions-intro"}]}],
    }


def wait_ready(ns: str, kind: str, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = json.loads(kubectl(ns, "get", kind, name, "-o", "json"))
        status = obj.get("status") or {}
        if status.get("observedGeneration") == obj["metadata"]["generation"] and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in status.get("conditions") or []):
            return
        time.sleep(0.05)
    raise SystemExit(f"{kind}/{name} did not become Ready in {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    token = os.environ["EXLIB_GIT_TOKEN"]
    base = os.environ["DATABASE_URL"]
    db = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    url = base.rsplit("/", 1)[0] + f"/{db}"
    upgrade(url)
    env = {**os.environ, "DATABASE_URL": url}
    ns = f"bench-{secrets.token_hex(3)}"
    sh(os.environ["EXLIB_KUBECTL"], "--kubeconfig", os.environ["KUBECONFIG"], "create", "ns", ns)
    kubectl(ns, "apply", "-k", str(REPO / "crds"))
    examples = git_create(f"bench-examples-{secrets.token_hex(3)}")
    push_examples(examples, token)
    log = (Path(tempfile.gettempdir()) / f"exlib-bench-operator-{ns}.log").open("wb")
    op = subprocess.Popen([sys.executable, "-m", "controller.cli", "run", "--namespace", ns,
                           "--metrics-port", "0"], env=env, cwd=REPO, stdout=log,
                          stderr=subprocess.STDOUT)
    operator_s, direct_s = [], []
    try:
        kubectl(ns, "apply", "-f", "-", input=yaml.safe_dump_all([
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git"},
             "stringData": {"token": token}},
            {"apiVersion": "exlib.dev/v1alpha1", "kind": "ExampleRepository",
             "metadata": {"name": "basics"},
             "spec": {"git": {"url": examples, "path": "examples",
                              "secretRef": {"name": "git"}}, "interval": "1h"}}]))
        wait_ready(ns, "exrepo", "basics")
        settings = Settings.from_env()
        settings = Settings(**{**settings.__dict__, "database_url": url})
        for i in range(args.runs):
            # baseline: the domain function alone, on a fresh course and repository
            spec = course_spec(f"bench.f.direct{i}", git_create(f"bench-d-{secrets.token_hex(3)}"))
            t0 = time.perf_counter()
            apply_course(settings, spec, name=f"direct{i}", namespace=ns,
                         credentials=Credentials(token=token))
            direct_s.append(time.perf_counter() - t0)
            # the user's view: kubectl apply -> Ready
            spec = course_spec(f"bench.f.op{i}", git_create(f"bench-o-{secrets.token_hex(3)}"))
            manifest = yaml.safe_dump({"apiVersion": "exlib.dev/v1alpha1",
                                       "kind": "CourseStructure",
                                       "metadata": {"name": f"op{i}"}, "spec": spec})
            t0 = time.perf_counter()
            kubectl(ns, "apply", "-f", "-", input=manifest)
            wait_ready(ns, "course", f"op{i}")
            operator_s.append(time.perf_counter() - t0)
    finally:
        op.terminate()
        op.wait(30)
        log.close()
        sh(os.environ["EXLIB_KUBECTL"], "--kubeconfig", os.environ["KUBECONFIG"], "delete", "ns",
           ns, "--wait=false")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    op_med, direct_med = statistics.median(operator_s), statistics.median(direct_s)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    print(f"runs: {args.runs}, course: 1 unit + 3 assignments (one with a dependency)")
    print(f"kubectl apply -> Ready (median): {op_med:.2f} s  [target <= 3 s]")
    print(f"baseline apply_course (median):  {direct_med:.2f} s")
    print(f"ratio operator / baseline:       {op_med / direct_med:.2f}")
    print(f"all runs, operator: {', '.join(f'{s:.2f}' for s in operator_s)}")
    print(f"all runs, baseline: {', '.join(f'{s:.2f}' for s in direct_s)}")


if __name__ == "__main__":
    main()
