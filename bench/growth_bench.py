#!/usr/bin/env python3
"""Growth curves: time and peak RSS of a library sync and of a course deployment against
their size (a benchmark, not a test).

    eval "$(hack/devstack env)" && .venv/bin/python bench/growth_bench.py [--no-record]

Syncs 1,000, 10,000 and 50,000 generated examples (`sync_bench`'s repository, pushed to the
stack's Git server; an initial sync into a fresh database) and deploys courses of 50, 200
and 1,000 assignments (`deploy_bench`'s examples and course, cold version cache,
`apply_course` as `exlib apply` runs it). Each measured run is a child process of its own,
so its peak RSS (VmHWM) is its own. For each curve it prints and records time and peak RSS
against N, the exponent of a least-squares fit of log(value) on log(N) (1 = linear; the aim
is <= 1.05) and the peak RSS added per unit between the smallest and the largest N.

EXLIB_GROWTH_SCALE (default 1) multiplies every N, e.g. 0.05 for a quick run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pygit2
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import deploy_bench, sync_bench  # noqa: E402
from bench.results import record  # noqa: E402
from controller.config import Settings  # noqa: E402
from controller.library.source import SourceSpec  # noqa: E402
from controller.library.sync import sync_repository  # noqa: E402

SYNC_SIZES = (1_000, 10_000, 50_000)
DEPLOY_SIZES = (50, 200, 1_000)

APPLY_CHILD = """
import json, sys, time
from dataclasses import replace
from pathlib import Path
from controller.config import Settings
from controller.course.apply import apply_course
from controller.store.git import Credentials
db, cache, spec_file, token = sys.argv[1:5]
settings = replace(Settings.from_env(), database_url=db, cache_dir=Path(cache))
spec = json.loads(Path(spec_file).read_text())
start = time.perf_counter()
report = apply_course(settings, spec, name=spec["course"]["path"], namespace="default",
                      credentials=Credentials(token=token))
seconds = time.perf_counter() - start
assert report.assignments.changed, "nothing was deployed"
hwm = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "rss_mb": hwm / 1024}))
"""


def exponent(points: list[tuple[int, float]]) -> float:
    """Slope of the least-squares line through (log n, log value)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(v) for _, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
            / sum((x - mx) ** 2 for x in xs))


def sync_curve(sizes: list[int], settings: Settings, admin: sa.Engine, token: str,
               tmp: Path) -> list[dict]:
    rows = []
    for n in sizes:
        name = f"growth_{uuid.uuid4().hex[:8]}"
        url = deploy_bench.devstack("git-create", name)
        work = pygit2.init_repository(str(tmp / f"{name}.git"), bare=True, initial_head="main")
        sync_bench.build_commit(work, n, set(), [])
        sync_bench.push(work, url, token)
        db = sync_bench.create_database(admin, settings.database_url, name)
        try:
            result = sync_bench.run_sync(url, db, tmp / f"cache-{name}", token)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        assert result["counts"]["new"] == n, result["counts"]
        print(f"sync {n}: {result['seconds']:.1f} s, {result['rss_mb']:.0f} MB",
              file=sys.stderr, flush=True)
        rows.append({"n": n, "seconds": result["seconds"], "rss_mb": result["rss_mb"]})
    return rows


def deploy_curve(sizes: list[int], settings: Settings, admin: sa.Engine, token: str,
                 tmp: Path) -> list[dict]:
    name = f"growth_{uuid.uuid4().hex[:8]}"
    db = sync_bench.create_database(admin, settings.database_url, name)
    rows = []
    try:
        deploy_bench.write_examples(tmp / "examples", max(sizes))
        sync_repository(replace(settings, database_url=db, cache_dir=tmp / "lib-cache"),
                        SourceSpec("dir", str(tmp / "examples")), name="bench")
        for n in sizes:
            url = deploy_bench.devstack("git-create", f"growth-a-{uuid.uuid4().hex[:8]}")
            spec_file = tmp / f"course-{n}.json"
            spec_file.write_text(json.dumps(deploy_bench.course(n, url, None)))
            out = subprocess.run(
                [sys.executable, "-c", APPLY_CHILD, db, str(tmp / f"cache-course-{n}"),
                 str(spec_file), token], capture_output=True, text=True, cwd=REPO,
                check=False)
            if out.returncode != 0:
                raise SystemExit(f"apply failed:\n{out.stderr}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"deploy {n}: {result['seconds']:.1f} s, {result['rss_mb']:.0f} MB",
                  file=sys.stderr, flush=True)
            rows.append({"n": n, **result})
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return rows


def table(what: str, unit: str, rows: list[dict]) -> list[str]:
    """Rows of the results table for one curve, then its fitted exponents."""
    lines = [f"| {what}, {r['n']:,} {unit} | {r['seconds']:.1f} s | {r['rss_mb']:.0f} MB |"
             for r in rows]
    t = exponent([(r["n"], r["seconds"]) for r in rows])
    m = exponent([(r["n"], r["rss_mb"]) for r in rows])
    first, last = rows[0], rows[-1]
    per = (last["rss_mb"] - first["rss_mb"]) * 1024 / (last["n"] - first["n"])
    lines.append(f"| {what}: fitted exponent (time / peak RSS), RSS added per {unit[:-1]} | "
                 f"**{t:.2f}** | {m:.2f}; {per:.2f} KB |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    scale = float(os.environ.get("EXLIB_GROWTH_SCALE", "1"))
    settings = Settings.from_env()
    token = os.environ["EXLIB_GIT_TOKEN"]
    admin = sa.create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    load = [os.getloadavg()[0]]
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp_:
            tmp = Path(tmp_)
            syncs = sync_curve([max(10, round(n * scale)) for n in SYNC_SIZES], settings,
                               admin, token, tmp)
            deploys = deploy_curve([max(5, round(n * scale)) for n in DEPLOY_SIZES], settings,
                                   admin, token, tmp)
    finally:
        admin.dispose()
    load.append(os.getloadavg()[0])
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [f"Measured {when} (`bench/growth_bench.py`, EXLIB_GROWTH_SCALE={scale:g}, "
            f"{time.perf_counter() - start:.0f} s in all). Machine: {sync_bench.machine()}; "
            f"1-minute load average {load[0]:.1f} at the start, {load[1]:.1f} at the end.",
            "", "| run | time | peak RSS |", "| --- | --- | --- |",
            *table("initial sync", "examples", syncs),
            *table("deploy, cold cache", "assignments", deploys)]
    print("\n".join(text))
    if not args.no_record:
        record("growth_bench", "Growth curves (issue 12)", "\n".join(text))


if __name__ == "__main__":
    main()
