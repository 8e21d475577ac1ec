#!/usr/bin/env python3
"""Benchmark of course deployment against DESIGN §10 (a benchmark, not a test).

    eval "$(hack/devstack env)" && .venv/bin/python bench/deploy_bench.py [--assignments 200]

Syncs N generated examples (meta.yaml, solution, test, template, task text; every tenth
depends on another) into a fresh database, then measures in the same run, each `--runs`
times (median reported):
  cold      `apply_course` of an N-assignment course (10 units) into an empty assignments
            repository with an empty cache: resolve, read every version from MinIO, build
            trees, one commit, push, rows
  warm      the same for another course once the versions are cached (by digest)
  baseline  the same files (checked out from exlib's commit) in a fresh working directory:
            `git add -A && git commit && git push` to an empty repository on the same server
  idle      a second `apply_course` with nothing changed (no commit, no row)
  template  `apply_course` with a student template repository as well (both commits)
The ratio exlib / baseline is the DESIGN §10 target (≤ 3). Results are appended to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from controller.config import Settings  # noqa: E402
from controller.course.apply import apply_course  # noqa: E402
from controller.library.source import SourceSpec  # noqa: E402
from controller.library.sync import sync_repository  # noqa: E402
from controller.store import git  # noqa: E402
from controller.store.db import upgrade  # noqa: E402


def write_examples(root: Path, n: int) -> None:
    for i in range(n):
        d = root / f"ex{i:04}"
        (d / "content").mkdir(parents=True)
        (d / "studentTemplates").mkdir()
        deps = (f"  testDependencies:\n  - slug: bench.ex{i - 1:04}\n    version: ^1.0\n"
                if i % 10 == 9 else "")
        (d / "meta.yaml").write_text(
            f"slug: bench.ex{i:04}\nversion: 1.0.0\ntitle: Example {i}\nproperties:\n"
            "  studentSubmissionFiles: [main.py]\n  testFiles: [test_main.py]\n"
            f"  studentTemplates: [studentTemplates/main.py]\n{deps}")
        body = "".join(f"x{j} = {i * j}\n" for j in range(60))
        (d / "main.py").write_text(f"# solution {i}\n{body}")
        (d / "test_main.py").write_text(f"def test():\n    assert {i} == {i}\n")
        (d / "studentTemplates" / "main.py").write_text(
            f"# BEGIN SOLUTION\n{body}# END SOLUTION\n")
        (d / "content" / "index.md").write_text(f"# Example {i}\n\n" + "Lorem ipsum. " * 80)


def course(n: int, assignments: str, template: str | None) -> dict:
    per_unit = max(1, n // 10)
    units = [{"path": f"week{u + 1}", "type": "week", "contents": []}
             for u in range((n + per_unit - 1) // per_unit)]
    for i in range(n):
        units[i // per_unit]["contents"].append(
            {"path": f"task_{i:04}", "type": "task", "example": f"bench.ex{i:04}",
             "properties": {"maxSubmissions": 10}})
    spec = {"course": {"organization": {"path": "bench"}, "family": {"path": "fam"},
                       "path": f"c{uuid.uuid4().hex[:8]}", "title": "Bench course"},
            "exampleRepositories": ["bench"], "assignments": {"url": assignments},
            "contentTypes": [{"slug": "week", "kind": "unit"},
                             {"slug": "task", "kind": "assignment"}],
            "contents": units}
    if template:
        spec["studentTemplate"] = {"url": template}
    return spec


def devstack(*args: str) -> str:
    return subprocess.run([str(REPO / "hack" / "devstack"), *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def baseline(settings: Settings, source_url: str, token: str, work: Path) -> float:
    """Check out exlib's commit, then time plain `git add/commit/push` of the same files."""
    creds = git.Credentials(token=token)
    cache = work / "read-cache"
    repo = git.open_cache(cache, source_url, "bench")
    head = git.fetch_branch(repo, source_url, "main", creds, cache_dir=cache)
    tree = work / "tree"
    for path, entry in git.walk(repo, head.tree):
        target = tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git.read_blob(repo, entry.id))
    target_url = devstack("git-create", f"bench-plain-{uuid.uuid4().hex[:8]}")
    auth = base64.b64encode(f"bench:{token}".encode()).decode()
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(tree)], check=True)

    def git_cmd(*args: str) -> None:
        subprocess.run(["git", "-C", str(tree), "-c", f"http.extraHeader=Authorization: "
                        f"Basic {auth}", *args], check=True, env=env, capture_output=True)

    start = time.perf_counter()
    git_cmd("add", "-A")
    git_cmd("commit", "-q", "-m", "plain commit")
    git_cmd("push", "-q", target_url, "main")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    n = args.assignments
    token = os.environ["EXLIB_GIT_TOKEN"]
    base = Settings.from_env()
    db = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            settings = replace(base, database_url=base.database_url.rsplit("/", 1)[0] + "/" + db,
                               cache_dir=work / "cache")
            upgrade(settings.database_url)
            write_examples(work / "examples", n)
            sync_repository(settings, SourceSpec("dir", str(work / "examples")), name="bench")
            creds = git.Credentials(token=token)
            rows: dict[str, list[float]] = {k: [] for k in (
                "cold", "warm", "baseline", "idle", "template")}

            def deploy(cache: Path, template: bool = False) -> tuple[float, str, Callable]:
                """Time one first deployment; returns a function that applies it again."""
                url = devstack("git-create", f"bench-a-{uuid.uuid4().hex[:8]}")
                tpl = devstack("git-create", f"bench-t-{uuid.uuid4().hex[:8]}") if template \
                    else None
                spec = course(n, url, tpl)
                run_settings = replace(settings, cache_dir=cache)

                def again() -> object:
                    return apply_course(run_settings, spec, name=spec["course"]["path"],
                                        namespace="default", credentials=creds)

                seconds, report = timed(again)
                assert report.assignments.changed and len(report.contents) > n
                return seconds, url, again

            for run in range(args.runs):
                cache = work / f"cache{run}"  # empty: every version is read from MinIO
                seconds, url, again = deploy(cache)
                rows["cold"].append(seconds)
                rows["idle"].append(timed(again)[0])
                rows["warm"].append(deploy(cache)[0])  # another course, versions cached
                rows["template"].append(deploy(cache, template=True)[0])
                rows["baseline"].append(baseline(settings, url, token, work / f"plain{run}"))
                print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in rows.items()),
                      flush=True)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
    med = {k: statistics.median(v) for k, v in rows.items()}
    ratios = {k: med[k] / med["baseline"] for k in ("cold", "warm")}
    print(f"deploy {n} assignments: cold {med['cold']:.2f}s, warm {med['warm']:.2f}s, plain git "
          f"{med['baseline']:.2f}s, ratios {ratios['cold']:.2f} / {ratios['warm']:.2f} "
          f"(target ≤ 3); idle {med['idle']:.2f}s; with template {med['template']:.2f}s")
    if not args.no_record:
        record(n, args.runs, med, ratios)


def record(n: int, runs: int, med: dict[str, float], ratios: dict[str, float]) -> None:
    results = REPO / "bench" / "RESULTS.md"
    machine = f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"

    def verdict(r: float) -> str:
        return "meets" if r <= 3 else "misses"

    section = (
        f"\n## Course deployment ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `bench/deploy_bench.py"
        f" --assignments {n}`)\n\n"
        f"Machine: {machine}; local devstack (PostgreSQL, MinIO, Git smart HTTP on loopback). "
        f"Median of {runs} runs. Each exlib pass: resolve {n} versions in PostgreSQL, build the "
        "deployed trees, one commit, push, write the rows. Cold = empty cache directory, every "
        "version's files read from MinIO (~1,200 GETs); warm = a new course whose versions "
        "an earlier pass already cached (versions are immutable, cached by digest).\n\n"
        "| measurement | seconds |\n| --- | ---: |\n"
        f"| exlib `apply_course`, cold cache | {med['cold']:.2f} |\n"
        f"| exlib `apply_course`, warm version cache | {med['warm']:.2f} |\n"
        f"| plain `git add -A && git commit && git push` of the same files | "
        f"{med['baseline']:.2f} |\n"
        f"| **ratio cold / plain git** (target ≤ 3) | **{ratios['cold']:.2f}** "
        f"({verdict(ratios['cold'])}) |\n"
        f"| **ratio warm / plain git** (target ≤ 3) | **{ratios['warm']:.2f}** "
        f"({verdict(ratios['warm'])}) |\n"
        f"| second apply, nothing changed (no commit, no row) | {med['idle']:.2f} |\n"
        f"| apply with a student template too (two commits, warm) | {med['template']:.2f} |\n")
    header = "" if results.exists() and results.stat().st_size else "# Benchmark results\n"
    with results.open("a") as fh:
        fh.write(header + section)


if __name__ == "__main__":
    main()
