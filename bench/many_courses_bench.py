#!/usr/bin/env python3
"""Benchmark: many CourseStructures applied to a running operator at once (a term's start).

    eval "$(hack/devstack env)" && .venv/bin/python bench/many_courses_bench.py

One shared library (generated examples in a Git repository, `visibility: public`), and C
courses of A assignments each, spread over K namespaces; every course has its own assignments
repository. Measured in one run, each phase with a fresh operator process (`exlib run`) that
serves only that phase's namespaces, so its peak RSS and its passes are the phase's own:

  one by one  the C courses applied one after the other, each waited for until Ready: the sum
              of their times is what the courses cost without any overlap
  at once     C other courses created together: time until all are Ready, the slowest
              course's time (created -> Ready), passes per course, operator peak RSS,
              PostgreSQL connections (max of pg_stat_activity over the phase)
  with pushes the same while the library gets a new commit every P seconds (each announced
              by `exlib.dev/requestedAt`, as a webhook would): every new revision makes every
              course that uses it run a pass

Every version's files are read once before the phases (a warm-up course of the whole
library; the phases share the version cache): the phases measure passes, not cold reads
(bench/deploy_bench.py measures those). The library repository is served by an operator of
its own (`--shard lib` in the library's namespace); the phase operators watch the library
namespace too, without serving it, so they hear of its revisions
(docs/operations.md#sharding). Parallel efficiency = (sum one by one /
time at once) / cores. Sizes (environment): EXLIB_BENCH_COURSES (default 100),
EXLIB_BENCH_ASSIGNMENTS (50), EXLIB_BENCH_NAMESPACES (10), EXLIB_BENCH_EXAMPLES (library size,
default max(200, assignments)), EXLIB_BENCH_PUSH_SECONDS (5). Results go to bench/RESULTS.md
(`bench/results.py`), unless --no-record.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
import sqlalchemy as sa
from kubernetes import client, config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.deploy_bench import write_examples  # noqa: E402
from bench.results import record  # noqa: E402
from controller.store.db import upgrade  # noqa: E402
from controller.store.kube import GROUP, VERSION  # noqa: E402

SHARD = "exlib.dev/shard"
TIMEOUT = 3600.0  # any one phase; never reached on a healthy run


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass
class Sizes:
    courses: int = field(default_factory=lambda: _int("EXLIB_BENCH_COURSES", 100))
    assignments: int = field(default_factory=lambda: _int("EXLIB_BENCH_ASSIGNMENTS", 50))
    namespaces: int = field(default_factory=lambda: _int("EXLIB_BENCH_NAMESPACES", 10))
    push_seconds: float = field(default_factory=lambda: float(
        os.environ.get("EXLIB_BENCH_PUSH_SECONDS") or 5))
    examples: int = 0

    def __post_init__(self) -> None:
        self.examples = _int("EXLIB_BENCH_EXAMPLES", max(200, self.assignments))


def devstack(*args: str) -> str:
    return subprocess.run([str(REPO / "hack" / "devstack"), *args], check=True,
                          capture_output=True, text=True).stdout.strip()


class Library:
    """The examples' Git repository; `touch()` pushes a commit that changes one example."""

    def __init__(self, url: str, token: str, root: Path) -> None:
        self.url, self.root, self.pushes = url, root, 0
        self.creds = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", token))
        self.repo = pygit2.init_repository(tempfile.mkdtemp(prefix="exlib-bench-lib-"),
                                           bare=True, initial_head="main")
        self.repo.remotes.create("origin", url)

    def push(self, message: str) -> None:
        index = pygit2.Index()
        for p in sorted(self.root.rglob("*")):
            if p.is_file():
                index.add(pygit2.IndexEntry(f"examples/{p.relative_to(self.root)}",
                                            self.repo.create_blob(p.read_bytes()),
                                            pygit2.GIT_FILEMODE_BLOB))
        sig = pygit2.Signature("bench", "bench@exlib.dev")
        parents = [] if self.repo.head_is_unborn else [self.repo.head.target]
        self.repo.create_commit("refs/heads/main", sig, sig, message, index.write_tree(self.repo),
                                parents)
        self.repo.remotes["origin"].push(["refs/heads/main:refs/heads/main"],
                                         callbacks=self.creds)

    def touch(self) -> None:
        self.pushes += 1
        i = self.pushes % len(list(self.root.iterdir()))
        index_md = self.root / f"ex{i:04}" / "content" / "index.md"
        index_md.write_text(index_md.read_text() + f"\nRevised ({self.pushes}).\n")
        self.push(f"revise example {i}")


def course(name: str, offset: int, sizes: Sizes, lib: str, assignments: str,
           count: int | None = None) -> dict[str, Any]:
    """A course of `count` (default `sizes.assignments`) library examples (starting at
    `offset`), 5 per unit."""
    picks = [(offset + j) % sizes.examples for j in range(count or sizes.assignments)]
    units = [{"path": f"week{u + 1}", "type": "week", "contents": [
        {"path": f"task_{j:03}", "type": "task", "example": f"bench.ex{picks[j]:04}"}
        for j in range(u * 5, min(len(picks), u * 5 + 5))]}
        for u in range((len(picks) + 4) // 5)]
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CourseStructure",
            "metadata": {"name": name, "labels": {"bench": "many-courses"}},
            "spec": {"course": {"organization": {"path": "bench"},
                                "family": {"path": "bench.many"},
                                "path": f"bench.many.{name.replace('-', '_')}",
                                "title": name},
                     "exampleRepositories": [lib],
                     "assignments": {"url": assignments, "branch": "main",
                                     "secretRef": {"name": "git"}},
                     "contentTypes": [{"slug": "week", "kind": "unit"},
                                      {"slug": "task", "kind": "assignment"}],
                     "interval": "1h", "contents": units}}


def ready(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return status.get("observedGeneration") == obj["metadata"]["generation"] and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])


class Sampler:
    """Max of pg_stat_activity connections to the bench database, sampled every 0.25 s."""

    def __init__(self, admin: sa.Engine, db: str) -> None:
        self.admin, self.db, self.peak = admin, db, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.admin.connect() as conn:
            while not self._stop.is_set():
                n = conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE "
                                        "datname = :db"), {"db": self.db})
                self.peak = max(self.peak, int(n or 0))
                self._stop.wait(0.25)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(5)


class Bench:
    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        self.token = os.environ["EXLIB_GIT_TOKEN"]
        self.tag = secrets.token_hex(3)
        base = os.environ["DATABASE_URL"]
        self.db = f"bench_many_{self.tag}"
        self.admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.db}"'))
        self.url = base.rsplit("/", 1)[0] + f"/{self.db}"
        upgrade(self.url)
        config.load_kube_config(config_file=os.environ["KUBECONFIG"])
        self.core, self.custom = client.CoreV1Api(), client.CustomObjectsApi()
        self.namespaces: list[str] = []
        self.operators: list[subprocess.Popen[bytes]] = []
        self.logs = Path(tempfile.mkdtemp(prefix="exlib-bench-many-"))

    # -- Kubernetes plumbing --
    def namespace(self, name: str) -> str:
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        self.namespaces.append(name)
        self.core.create_namespaced_secret(name, client.V1Secret(
            metadata=client.V1ObjectMeta(name="git"),
            string_data={"username": "oauth2", "token": self.token}))
        return name

    def create(self, ns: str, doc: dict[str, Any]) -> None:
        plural = {"CourseStructure": "coursestructures",
                  "ExampleRepository": "examplerepositories"}[doc["kind"]]
        self.custom.create_namespaced_custom_object(GROUP, VERSION, ns, plural, doc)

    def courses(self, prefix: str) -> dict[tuple[str, str], dict[str, Any]]:
        found = self.custom.list_cluster_custom_object(GROUP, VERSION, "coursestructures",
                                                       label_selector="bench=many-courses")
        return {(o["metadata"]["namespace"], o["metadata"]["name"]): o
                for o in found["items"] if o["metadata"]["namespace"].startswith(prefix)}

    def operator(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        # the phases share one cache, warmed first: they measure passes, not the cold reads
        env = {**os.environ, "DATABASE_URL": self.url,
               "EXLIB_CACHE_DIR": str(self.logs / ("cache-library" if name == "library"
                                                   else "cache-courses"))}
        proc = subprocess.Popen([sys.executable, "-m", "controller.cli", "run",
                                 "--metrics-port", "0", *args], env=env, cwd=REPO,
                                stdout=(self.logs / f"{name}.log").open("wb"),
                                stderr=subprocess.STDOUT)
        self.operators.append(proc)
        return proc

    def wait(self, what: str, probe: Callable[[], bool]) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not probe():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}; logs in {self.logs}")
            time.sleep(0.25)

    # -- the run --
    def library(self) -> tuple[str, Library]:
        root = self.logs / "examples"
        write_examples(root, self.sizes.examples)
        lib = Library(devstack("git-create", f"bench-many-lib-{self.tag}"), self.token, root)
        lib.push("examples")
        ns = self.namespace(f"bench-{self.tag}-lib")
        self.create(ns, {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ExampleRepository",
                         "metadata": {"name": "library", "labels": {SHARD: "lib"}},
                         "spec": {"git": {"url": lib.url, "ref": {"branch": "main"},
                                          "path": "examples", "secretRef": {"name": "git"}},
                                  "visibility": "public", "interval": "1h",
                                  "timeout": "300s"}})
        self.operator("library", "--namespace", ns, "--shard", "lib")
        self.wait("the library to sync", lambda: ready(self.custom.get_namespaced_custom_object(
            GROUP, VERSION, ns, "examplerepositories", "library")))
        return ns, lib

    def phase_objects(self, phase: str, lib_ns: str) -> list[tuple[str, dict[str, Any]]]:
        spaces = [self.namespace(f"bench-{self.tag}-{phase}-{k}")
                  for k in range(self.sizes.namespaces)]
        out = []
        for i in range(self.sizes.courses):
            url = devstack("git-create", f"bench-many-{self.tag}-{phase}-{i}")
            name = f"{phase}-{i:03}"
            out.append((spaces[i % len(spaces)],
                        course(name, i * 7, self.sizes, f"{lib_ns}/library", url)))
        return out

    def one_by_one(self, lib_ns: str) -> dict[str, Any]:
        objs = self.phase_objects("seq", lib_ns)
        op = self.operator("seq", "--namespace", lib_ns, "--namespace",
                           f"bench-{self.tag}-seq-*")
        warm = course("warm-up", 0, self.sizes, f"{lib_ns}/library",
                      devstack("git-create", f"bench-many-{self.tag}-warm"), self.sizes.examples)
        self.create(objs[0][0], warm)
        self.wait("the warm-up course", lambda: ready(self.custom.get_namespaced_custom_object(
            GROUP, VERSION, objs[0][0], "coursestructures", "warm-up")))
        times = []
        with Sampler(self.admin, self.db) as pg:
            for ns, doc in objs:
                started = time.monotonic()
                self.create(ns, doc)
                self.wait(doc["metadata"]["name"], lambda n=ns, d=doc: ready(
                    self.custom.get_namespaced_custom_object(
                        GROUP, VERSION, n, "coursestructures", d["metadata"]["name"])))
                times.append(time.monotonic() - started)
        result = {"times": times, "rss": peak_rss(op), "pg": pg.peak,
                  "passes": passes(self.logs / "seq.log")}
        stop_process(op)  # it would hear the later phases' library commits too
        return result

    def at_once(self, phase: str, lib_ns: str, lib: Library | None = None) -> dict[str, Any]:
        objs = self.phase_objects(phase, lib_ns)
        prefix = f"bench-{self.tag}-{phase}-"
        op = self.operator(phase, "--namespace", lib_ns, "--namespace", f"{prefix}*")
        time.sleep(2)  # the operator's watches are up: creation, not start-up, is measured
        stop = threading.Event()
        pusher = threading.Thread(target=self.push_every, args=(lib, lib_ns, stop),
                                  daemon=True) if lib else None
        created: dict[tuple[str, str], float] = {}
        done: dict[tuple[str, str], float] = {}
        with Sampler(self.admin, self.db) as pg:
            start = time.monotonic()
            if pusher:
                pusher.start()
            for ns, doc in objs:
                self.create(ns, doc)
                created[(ns, doc["metadata"]["name"])] = time.monotonic()

            def all_ready() -> bool:
                now = time.monotonic()
                for key, obj in self.courses(prefix).items():
                    if key not in done and ready(obj):
                        done[key] = now
                return len(done) == len(objs)

            self.wait(f"{phase}: every course Ready", all_ready)
            wall = time.monotonic() - start
            stop.set()
            if pusher:
                pusher.join(60)
        result = {"wall": wall, "slowest": max(done[k] - created[k] for k in done),
                  "rss": peak_rss(op), "pg": pg.peak, "cpu": cpu_seconds(op),
                  "passes": passes(self.logs / f"{phase}.log"), "pushes": lib.pushes if lib else 0}
        stop_process(op)
        return result

    def push_every(self, lib: Library, lib_ns: str, stop: threading.Event) -> None:
        while not stop.wait(self.sizes.push_seconds):
            lib.touch()
            self.custom.patch_namespaced_custom_object(
                GROUP, VERSION, lib_ns, "examplerepositories", "library",
                {"metadata": {"annotations": {"exlib.dev/requestedAt": f"push-{lib.pushes}"}}})

    def close(self) -> None:
        for proc in self.operators:
            stop_process(proc)
        for ns in self.namespaces:  # the operators are gone: drop finalizers, then delete
            for plural in ("coursestructures", "examplerepositories"):
                for o in self.custom.list_namespaced_custom_object(GROUP, VERSION, ns,
                                                                   plural)["items"]:
                    self.custom.patch_namespaced_custom_object(
                        GROUP, VERSION, ns, plural, o["metadata"]["name"],
                        {"metadata": {"finalizers": None}})
            self.core.delete_namespace(ns)
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'))


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss(proc: subprocess.Popen[bytes]) -> float:
    """The process's peak resident set (VmHWM), MB."""
    text = Path(f"/proc/{proc.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024  # type: ignore[union-attr]


def passes(log: Path) -> dict[str, int]:
    """Course passes per course, from the operator's log."""
    out: dict[str, int] = {}
    for m in re.finditer(r"CourseStructure (\S+): pass \(", log.read_text(errors="replace")):
        out[m.group(1)] = out.get(m.group(1), 0) + 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    sizes = Sizes()
    bench = Bench(sizes)
    try:
        lib_ns, lib = bench.library()
        seq = bench.one_by_one(lib_ns)
        par = bench.at_once("par", lib_ns)
        churn = bench.at_once("push", lib_ns, lib)
    finally:
        bench.close()
    cores = os.cpu_count() or 1
    total = sum(seq["times"])
    rows = [
        ("courses × assignments, namespaces", f"{sizes.courses} × {sizes.assignments}, "
                                              f"{sizes.namespaces}"),
        ("one by one: sum of apply → Ready", f"{total:.1f} s (each {min(seq['times']):.1f}–"
                                             f"{max(seq['times']):.1f} s)"),
        ("at once: all Ready", f"{par['wall']:.1f} s"),
        ("speed-up (sum one by one / at once)", f"{total / par['wall']:.2f} ×"),
        (f"parallel efficiency on {cores} cores", f"{total / par['wall'] / cores:.0%}"),
        ("at once: slowest course, created → Ready", f"{par['slowest']:.1f} s"),
        ("at once: passes per course (max)", str(max(par["passes"].values()))),
        ("at once: operator CPU per course pass (incl. start-up)",
         f"{par['cpu'] / sum(par['passes'].values()):.2f} s"),
        ("operator peak RSS: one by one / at once", f"{seq['rss']:.0f} / {par['rss']:.0f} MB"),
        ("PostgreSQL connections (max): one by one / at once", f"{seq['pg']} / {par['pg']}"),
        (f"with a library commit every {sizes.push_seconds:g} s: all Ready",
         f"{churn['wall']:.1f} s ({churn['pushes']} commits)"),
        ("with commits: slowest course", f"{churn['slowest']:.1f} s"),
        ("with commits: passes per course (max), all passes",
         f"{max(churn['passes'].values())}, {sum(churn['passes'].values())}"),
        ("with commits: operator CPU per course pass",
         f"{churn['cpu'] / sum(churn['passes'].values()):.2f} s"),
        ("with commits: operator peak RSS, PostgreSQL connections",
         f"{churn['rss']:.0f} MB, {churn['pg']}"),
    ]
    table = (f"Machine: {platform.machine()}, {cores} cores, Python "
             f"{platform.python_version()}; local stack, other jobs on the machine.\n\n"
             "| measure | value |\n| --- | ---: |\n"
             + "\n".join(f"| {k} | {v} |" for k, v in rows))
    print(table)
    if not args.no_record:
        record("many-courses", "Many courses at once (`bench/many_courses_bench.py`)", table)


if __name__ == "__main__":
    main()
