#!/usr/bin/env python3
"""Benchmark of course deployment against DESIGN §10 and issue 12 (a benchmark, not a test).

    eval "$(hack/devstack env)" && .venv/bin/python bench/deploy_bench.py [--assignments 200]

Syncs N generated examples (meta.yaml, solution, test, template, task text; every tenth
depends on another) into a fresh database, deploys them once to have the files a course
holds, then, `--runs` times (medians reported):
  plain git  the same files in a fresh working directory: `git add -A && git commit &&
             git push` to an empty repository on the same server -- right before and right
             after each run's exlib passes (the baseline is as noisy as the machine)
  cold       `apply_course` of an N-assignment course (10 units) into an empty assignments
             repository with an empty cache: resolve, read every version from MinIO, build
             trees, one commit, push, rows. Its MinIO GET requests are counted.
  idle       a second `apply_course` with nothing changed (no commit, no row)
  warm       the same for another course once the versions are cached (by digest); the
             course's directories equal the first's, so they are reused as built
  warm, other properties  another course with other `properties`: versions cached, every
             directory built again (meta.yaml rewritten, trees written)
  template   `apply_course` with a student template repository as well (both commits)
Each pass's phases (`ApplyReport.phases`) are reported as medians too. The ratios exlib /
plain git are the targets (DESIGN §10: ≤ 3; issue 12: cold ≤ 2, warm ≤ 1.3). The table
replaces this benchmark's part of bench/RESULTS.md (between its markers).

`--code DIR` runs exlib from another checkout (the before of a before/after, same sitting).
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _code() -> Path:
    """The checkout exlib runs from (`--code`), put first on the path before any import."""
    args = sys.argv[1:]
    code = Path(args[args.index("--code") + 1]).resolve() if "--code" in args else REPO
    sys.path[:0] = [str(code)] + ([str(REPO)] if code != REPO else [])
    return code


CODE = _code()

import sqlalchemy as sa  # noqa: E402
import urllib3  # noqa: E402

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


def course(n: int, assignments: str, template: str | None, submissions: int = 10) -> dict:
    per_unit = max(1, n // 10)
    units = [{"path": f"week{u + 1}", "type": "week", "contents": []}
             for u in range((n + per_unit - 1) // per_unit)]
    for i in range(n):
        units[i // per_unit]["contents"].append(
            {"path": f"task_{i:04}", "type": "task", "example": f"bench.ex{i:04}",
             "properties": {"maxSubmissions": submissions}})
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


class GetCounter:
    """Counts the GET requests for objects sent to MinIO (at the client's HTTP pool)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint, self.count = endpoint, 0
        real = urllib3.PoolManager.urlopen

        def counting(pool: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if method == "GET" and endpoint in url and "?location" not in url:
                self.count += 1
            return real(pool, method, url, *args, **kwargs)

        urllib3.PoolManager.urlopen = counting  # type: ignore[method-assign]


def materialise(url: str, token: str, work: Path) -> Path:
    """The files of the branch at `url`, written to a directory (what plain git commits)."""
    creds = git.Credentials(token=token)
    cache = work / "read-cache"
    repo = git.open_cache(cache, url, "bench")
    head = git.fetch_branch(repo, url, "main", creds, cache_dir=cache)
    assert head is not None
    tree = work / "tree"
    for path, entry in git.walk(repo, head.tree):
        target = tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git.read_blob(repo, entry.id))
    return tree


def baseline(files: Path, token: str, work: Path) -> float:
    """Plain `git add -A && git commit && git push` of `files` to a new, empty repository."""
    tree = work / f"plain-{uuid.uuid4().hex[:8]}"
    shutil.copytree(files, tree)
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
    seconds = time.perf_counter() - start
    shutil.rmtree(tree)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", type=Path, default=REPO,
                        help="run exlib from this checkout (to measure before/after)")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    n = args.assignments
    token = os.environ["EXLIB_GIT_TOKEN"]
    base = Settings.from_env()
    gets = GetCounter(base.s3_endpoint)
    load_before = os.getloadavg()[0]
    db = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    seconds: dict[str, list[float]] = {k: [] for k in (
        "baseline", "cold", "idle", "warm", "other", "template")}
    cold_gets: list[int] = []
    phases: dict[str, list[dict[str, float]]] = {"cold": [], "warm": [], "other": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            settings = replace(base, database_url=base.database_url.rsplit("/", 1)[0] + "/" + db,
                               cache_dir=work / "cache")
            upgrade(settings.database_url)
            write_examples(work / "examples", n)
            sync_repository(settings, SourceSpec("dir", str(work / "examples")), name="bench")
            creds = git.Credentials(token=token)

            def deploy(cache: Path, template: bool = False, submissions: int = 10
                       ) -> tuple[float, Any, str, Callable]:
                """Time one first deployment; returns a function that applies it again."""
                url = devstack("git-create", f"bench-a-{uuid.uuid4().hex[:8]}")
                tpl = devstack("git-create", f"bench-t-{uuid.uuid4().hex[:8]}") if template \
                    else None
                spec = course(n, url, tpl, submissions)
                run_settings = replace(settings, cache_dir=cache)

                def again() -> Any:
                    return apply_course(run_settings, spec, name=spec["course"]["path"],
                                        namespace="default", credentials=creds)

                start = time.perf_counter()
                report = again()
                took = time.perf_counter() - start
                assert report.assignments.changed and len(report.contents) > n
                return took, report, url, again

            _, _, url, _ = deploy(work / "prime")  # the files a course holds, for plain git
            files = materialise(url, token, work / "files")
            for run in range(args.runs):
                seconds["baseline"].append(baseline(files, token, work))
                cache = work / f"cache{run}"  # empty: every version is read from MinIO
                gets.count = 0
                took, report, _, again = deploy(cache)
                seconds["cold"].append(took)
                cold_gets.append(gets.count)
                phases["cold"].append(dict(getattr(report, "phases", {})))
                start = time.perf_counter()
                again()
                seconds["idle"].append(time.perf_counter() - start)
                took, report, _, _ = deploy(cache)  # another course, versions cached
                seconds["warm"].append(took)
                phases["warm"].append(dict(getattr(report, "phases", {})))
                took, report, _, _ = deploy(cache, submissions=20 + run)  # directories anew
                seconds["other"].append(took)
                phases["other"].append(dict(getattr(report, "phases", {})))
                seconds["template"].append(deploy(cache, template=True)[0])
                seconds["baseline"].append(baseline(files, token, work))
                print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in
                                                     seconds.items())
                      + f", cold GETs {cold_gets[-1]}", flush=True)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
    med = {k: statistics.median(v) for k, v in seconds.items()}
    ratios = {k: med[k] / med["baseline"] for k in ("cold", "warm", "other")}
    table = _table(args, n, med, ratios, statistics.median(cold_gets), phases,
                   (load_before, os.getloadavg()[0]))
    print(table)
    if not args.no_record and args.code == REPO:
        from bench.results import record

        record("deploy_bench", "Course deployment (issue 12)", table)


def _median_phases(runs: list[dict[str, float]]) -> str:
    names = list(dict.fromkeys(name for run in runs for name in run))
    if not names:
        return "not measured (this checkout reports no phases)"
    return ", ".join(f"{name} {statistics.median(r.get(name, 0.0) for r in runs):.2f}"
                     for name in names)


def _table(args: argparse.Namespace, n: int, med: dict[str, float], ratios: dict[str, float],
           gets: float, phases: dict[str, list[dict[str, float]]],
           load: tuple[float, float]) -> str:
    from bench.sync_bench import machine  # after exlib's modules: it puts this checkout first

    def verdict(ratio: float, target: float) -> str:
        return f"**{ratio:.2f} ×** ({'meets' if ratio <= target else 'misses'} ≤ {target})"

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        f"Measured {when} (`bench/deploy_bench.py --assignments {n} --runs {args.runs}`"
        f"{'' if args.code == REPO else ', `--code` ' + args.code.name}). Machine: {machine()}; "
        f"1-minute load average {load[0]:.1f} at the start, {load[1]:.1f} at the end. Medians "
        f"of {args.runs} runs; plain git measured right before and after each run "
        f"({2 * args.runs} samples).\n",
        "| measure | seconds | ratio to plain git | target |",
        "| --- | ---: | --- | --- |",
        f"| plain `git add -A && git commit && git push` of the same files | "
        f"{med['baseline']:.2f} | 1 | |",
        f"| exlib `apply_course`, cold version cache | {med['cold']:.2f} | "
        f"{verdict(ratios['cold'], 2)} | DESIGN ≤ 3, issue 12 ≤ 2 |",
        f"| exlib `apply_course`, warm version cache | {med['warm']:.2f} | "
        f"{verdict(ratios['warm'], 1.3)} | DESIGN ≤ 3, issue 12 ≤ 1.3 |",
        f"| the same, another course with other properties (directories built anew) | "
        f"{med['other']:.2f} | {verdict(ratios['other'], 1.3)} | |",
        f"| second apply, nothing changed (no commit, no row) | {med['idle']:.2f} | "
        f"{med['idle'] / med['baseline']:.2f} × | |",
        f"| apply with a student template too (two commits, warm) | {med['template']:.2f} | "
        f"{med['template'] / med['baseline']:.2f} × | |",
        "",
        f"MinIO GET requests of a cold pass ({n} assignments, "
        f"{n + n // 10} version reads incl. dependencies, {n} distinct versions): "
        f"{gets:.0f}.",
        "",
        f"Phases, cold (s): {_median_phases(phases['cold'])}.  ",
        f"Phases, warm (s): {_median_phases(phases['warm'])}.  ",
        f"Phases, warm, other properties (s): {_median_phases(phases['other'])}.",
    ])


if __name__ == "__main__":
    main()
