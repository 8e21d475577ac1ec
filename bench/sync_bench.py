#!/usr/bin/env python3
"""Benchmark of the library sync against DESIGN §10 (a benchmark, not a test).

    eval "$(hack/devstack env)" && .venv/bin/python bench/sync_bench.py [--examples 10000]

Generates a Git repository of N examples (`examples/gNN/exNNNNN/`: meta.yaml + 3 files,
which the sync stores as 2 objects per version: its pack and metadata.json), pushes it to the
stack's Git server and measures, in the same run:
  baseline  bare clone (pygit2) + parallel upload of the same files, one PUT per object
            (upload_workers threads) -- the DESIGN §10 reference
  initial   `sync_repository` into an empty database and bucket prefix (default settings:
            on MinIO, small objects go in batched requests)
  no-op     re-sync with nothing changed (total, and work after the fetch)
  1 %       re-sync after changing 1 % of the examples
and, for comparing like with like:
  baseline, batched   the same clone + upload with the sync's batched requests: the
                      initial sync against it is the sync's own cost (scan, metadata, rows)
  baseline, same objects  the same clone + batched upload of the objects the sync writes:
                      per example, its files concatenated (as its pack) and a small JSON
                      (as its metadata.json): the sync's own CPU cost over moving exactly
                      its objects
  initial, per object with --per-object: EXLIB_S3_BATCH_UPLOADS=off (a fresh database)
Each of --runs initial syncs (fresh database) runs between the baselines, each measured
right before and right after it; ratios are medians over the runs, each against the mean of its
two neighbours. Each sync runs in a child process so its peak RSS (VmHWM) is its own. The
table goes between this benchmark's markers in bench/RESULTS.md (`bench/results.py`), so
the hand-written reading beside it stays.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pygit2
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import record  # noqa: E402
from controller.config import Settings  # noqa: E402
from controller.library.sync import BATCH_OBJECTS  # noqa: E402
from controller.store import git  # noqa: E402
from controller.store.objects import Object, object_store  # noqa: E402

CHILD = """
import json, sys, time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any
from controller.config import Settings
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.store.git import Credentials
url, db, cache, token, batch = sys.argv[1:6]
settings = replace(Settings.from_env(), database_url=db, cache_dir=Path(cache),
                   s3_batch_uploads=batch)
marks = {}
def progress(phase, done, total):
    marks.setdefault(phase, time.perf_counter())
start = time.perf_counter()
report = sync_repository(settings, SourceSpec("git", url, credentials=Credentials(token=token)),
                         name="bench", progress=progress)
end = time.perf_counter()
after_fetch = min(v for k, v in marks.items() if k != "fetch")
# VmHWM, not ru_maxrss: after fork + exec, ru_maxrss starts at the parent's peak.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:"))
print(json.dumps({"seconds": end - start, "after_fetch": end - after_fetch,
                  "counts": report.counts, "uploaded_objects": report.uploaded_objects,
                  "rss_mb": hwm / 1024}))
"""


def meta(i: int, version: str) -> bytes:
    return (f"slug: bench.ex{i:05}\nversion: {version}\ntitle: Example {i}\n"
            f"description: generated example {i}\nlanguage: en\nkeywords: [python, bench]\n"
            "properties:\n  studentSubmissionFiles: [main.py]\n  testFiles: [test_main.py]\n"
            ).encode()


def files_of(i: int, version: str) -> dict[str, bytes]:
    body = f"# example {i} {version}\n" + "".join(f"x{j} = {i * j}\n" for j in range(60))
    return {"meta.yaml": meta(i, version), "main.py": body.encode(),
            "test_main.py": f"def test():\n    assert {i} == {i}\n".encode(),
            "content/index.md": (f"# Example {i}\n\n" + "Lorem ipsum. " * 80).encode()}


def build_commit(repo: pygit2.Repository, n: int, changed: set[int], parent: list) -> str:
    groups: dict[int, pygit2.TreeBuilder] = {}
    for i in range(n):
        version = "1.1.0" if i in changed else "1.0.0"
        tb = repo.TreeBuilder()
        content = repo.TreeBuilder()
        for name, data in files_of(i, version).items():
            if name.startswith("content/"):
                content.insert(name.split("/", 1)[1], repo.create_blob(data),
                               pygit2.GIT_FILEMODE_BLOB)
            else:
                tb.insert(name, repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
        tb.insert("content", content.write(), pygit2.GIT_FILEMODE_TREE)
        groups.setdefault(i // 100, repo.TreeBuilder()).insert(
            f"ex{i:05}", tb.write(), pygit2.GIT_FILEMODE_TREE)
    examples = repo.TreeBuilder()
    for g, tb in groups.items():
        examples.insert(f"g{g:03}", tb.write(), pygit2.GIT_FILEMODE_TREE)
    root = repo.TreeBuilder()
    root.insert("examples", examples.write(), pygit2.GIT_FILEMODE_TREE)
    sig = pygit2.Signature("bench", "bench@exlib.dev")
    return str(repo.create_commit("refs/heads/main", sig, sig, "bench", root.write(), parent))


def push(repo: pygit2.Repository, url: str, token: str) -> None:
    cb = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", token))
    repo.remotes.create_anonymous(url).push(["+refs/heads/main:refs/heads/main"], callbacks=cb)


def baseline(url: str, token: str, settings: Settings, tmp: Path, *, batched: bool,
             same_objects: bool = False) -> float:
    """Bare clone + parallel upload of every blob below examples/ (same bytes, same pool):
    one PUT per object, or `batched` in requests of BATCH_OBJECTS like the sync on MinIO.
    `same_objects` (batched): the objects the sync writes instead, per example its blobs
    concatenated and a JSON listing them, the packs first, like the sync's metadata.json."""
    start = time.perf_counter()
    cache = tmp / f"baseline-{uuid.uuid4().hex[:8]}"  # a fresh clone every time
    repo = git.open_cache(cache, url, "bench")
    git.fetch(repo, url, git.Credentials(token=token), cache_dir=cache)
    tree = git.subtree(repo, git.resolve(repo, "main").tree, "examples")
    store = object_store(replace(settings, s3_batch_uploads="on" if batched else "off"))
    prefix = f"bench-baseline/{uuid.uuid4()}/"
    size = BATCH_OBJECTS if batched else 1

    def blob(item: tuple[str, Any]) -> Object:
        return prefix + item[0], git.read_blob(repo, item[1].id), "application/octet-stream"

    def pack(item: tuple[str, list]) -> Object:
        return (f"{prefix}{item[0]}/files.pack",
                b"".join(git.read_blob(repo, e.id) for _, e in item[1]),
                "application/octet-stream")

    def listing(item: tuple[str, list]) -> Object:
        return (f"{prefix}{item[0]}/metadata.json", json.dumps(
            {"directory": item[0], "files": [{"path": p, "mode": f"{e.filemode:o}",
                                              "id": str(e.id)} for p, e in item[1]]}
        ).encode(), "application/json")

    entries = list(git.walk(repo, tree))
    jobs: list[tuple[Callable[[Any], Object], list]] = [(blob, entries)]
    if same_objects:
        examples: dict[str, list] = {}
        for path, entry in entries:  # gNNN/exNNNNN/<file>
            examples.setdefault("/".join(path.split("/", 2)[:2]), []).append((path, entry))
        jobs = [(pack, list(examples.items())), (listing, list(examples.items()))]

    def put(make: Callable[[Any], Object], chunk: list) -> None:
        store.put_many([make(item) for item in chunk])

    with ThreadPoolExecutor(settings.upload_workers) as pool:
        for make, items in jobs:
            chunks = (items[i:i + size] for i in range(0, len(items), size))
            for _ in pool.map(partial(put, make), chunks):
                pass
    return time.perf_counter() - start


def run_sync(url: str, db: str, cache: Path, token: str, batch: str = "auto") -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, url, db, str(cache), token, batch],
                         capture_output=True, text=True, cwd=REPO, check=False)
    if out.returncode != 0:
        raise SystemExit(f"sync failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPU ({cpu}), "
            f"{mem:.0f} GiB RAM, Python {platform.python_version()}, pygit2 {pygit2.__version__}, "
            "PostgreSQL/MinIO/Git server from hack/devstack on loopback")


def create_database(admin: sa.Engine, url: str, name: str) -> str:
    from controller.store.db import upgrade

    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db = url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(db)
    return db


def median_ratio(values: list[float], before: list[float], after: list[float]
                 ) -> tuple[float, float]:
    """Median over runs of value / mean(baseline just before, just after), and the median
    baseline."""
    ratios = [v / ((b + a) / 2) for v, b, a in zip(values, before, after, strict=True)]
    return statistics.median(ratios), statistics.median(before + after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="initial syncs (median reported)")
    parser.add_argument("--per-object", action="store_true",
                        help="also the initial sync with EXLIB_S3_BATCH_UPLOADS=off")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    n = args.examples
    settings = Settings.from_env()
    token = os.environ["EXLIB_GIT_TOKEN"]
    name = f"bench_{uuid.uuid4().hex[:8]}"
    url = subprocess.run([str(REPO / "hack" / "devstack"), "git-create", name],
                         capture_output=True, text=True, check=True).stdout.strip()
    admin = sa.create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    names: list[str] = []
    m: dict[str, list] = {k: [] for k in ("plain_before", "batched_before", "same_before",
                                          "initial", "same_after", "batched_after",
                                          "plain_after", "noop")}
    try:
        with tempfile.TemporaryDirectory() as tmp_:
            tmp = Path(tmp_)
            work = pygit2.init_repository(str(tmp / "work.git"), bare=True, initial_head="main")
            t = time.perf_counter()
            first = build_commit(work, n, set(), [])
            push(work, url, token)
            print(f"generated and pushed {n} examples in {time.perf_counter() - t:.1f}s",
                  file=sys.stderr)
            # Each ratio compares runs made one right after the other: the machine may be
            # shared, and its load changes over the minutes this takes.
            load = [os.getloadavg()[0]]
            for run in range(args.runs):
                names.append(f"{name}_{run}")
                db = create_database(admin, settings.database_url, names[-1])
                cache = tmp / f"cache{run}"
                m["plain_before"].append(baseline(url, token, settings, tmp, batched=False))
                m["batched_before"].append(baseline(url, token, settings, tmp, batched=True))
                m["same_before"].append(baseline(url, token, settings, tmp, batched=True,
                                                 same_objects=True))
                m["initial"].append(run_sync(url, db, cache, token))
                m["same_after"].append(baseline(url, token, settings, tmp, batched=True,
                                                same_objects=True))
                m["batched_after"].append(baseline(url, token, settings, tmp, batched=True))
                m["plain_after"].append(baseline(url, token, settings, tmp, batched=False))
                m["noop"] += [run_sync(url, db, cache, token) for _ in range(2)]
                print(f"run {run + 1}: " + ", ".join(
                    f"{k} {v[-1]['seconds'] if isinstance(v[-1], dict) else v[-1]:.2f}s"
                    for k, v in m.items()), file=sys.stderr, flush=True)
            per_object = None
            if args.per_object:
                names.append(f"{name}_po")
                per_object = run_sync(url, create_database(admin, settings.database_url,
                                                           names[-1]),
                                      tmp / "cache-po", token, "off")
            changed = set(range(0, n, 100))
            build_commit(work, n, changed, [pygit2.Oid(hex=first)])
            push(work, url, token)
            one = run_sync(url, db, cache, token)
            print(f"1% {one}", file=sys.stderr)
            load.append(os.getloadavg()[0])
    finally:
        with admin.connect() as conn:
            for db_name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
    initial = m["initial"]
    assert all(r["counts"]["new"] == n for r in initial)
    assert all(r["counts"]["unchanged"] == n and r["uploaded_objects"] == 0 for r in m["noop"])
    assert one["counts"]["changed"] == len(changed)
    seconds = [r["seconds"] for r in initial]
    own, batched = median_ratio(seconds, m["batched_before"], m["batched_after"])
    cpu, same = median_ratio(seconds, m["same_before"], m["same_after"])
    plain_ratio, plain = median_ratio(seconds, m["plain_before"], m["plain_after"])
    noop = statistics.median(r["after_fetch"] for r in m["noop"])
    noop_total = statistics.median(r["seconds"] for r in m["noop"])
    rss = statistics.median(r["rss_mb"] for r in initial)
    rows = [
        ("initial sync / baseline with the same batched requests (the sync's own cost)",
         f"{statistics.median(seconds):.1f} s", f"**{own:.2f} ×** ({batched:.1f} s)",
         "≤ 1.15 ×"),
        ("initial sync / baseline writing the same objects (per example: its files "
         "concatenated + a small JSON, batched the same way; the sync's own CPU cost)",
         f"{statistics.median(seconds):.1f} s", f"**{cpu:.2f} ×** ({same:.1f} s)", ""),
        ("initial sync / bare clone + parallel upload, one PUT per object (DESIGN §10)",
         f"{statistics.median(seconds):.1f} s", f"**{plain_ratio:.2f} ×** ({plain:.1f} s)",
         "≤ 1 × (DESIGN: ≤ 1.3 ×)"),
        ("no-op re-sync, work after the fetch", f"{noop_total:.2f} s total",
         f"**{noop:.2f} s** after the fetch", "≤ 0.3 s"),
        ("1 % changed re-sync", f"{one['seconds']:.2f} s",
         f"{one['seconds'] / statistics.median(seconds) * 100:.1f} % of initial", "≤ 5 %"),
        ("peak RSS (initial / no-op / 1 %)",
         f"{rss:.0f} / {statistics.median(r['rss_mb'] for r in m['noop']):.0f} / "
         f"{one['rss_mb']:.0f} MB", "", "≤ 250 MB"),
    ]
    if per_object is not None:
        rows.append(("initial sync, one PUT per object (`EXLIB_S3_BATCH_UPLOADS=off`)",
                     f"{per_object['seconds']:.1f} s, {per_object['rss_mb']:.0f} MB",
                     f"{per_object['seconds'] / plain:.2f} × the median plain baseline", ""))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [f"Measured {when} (`bench/sync_bench.py --examples {n} --runs {args.runs}`). "
            f"Machine: {machine()}; 1-minute load average {load[0]:.1f} at the start, "
            f"{load[1]:.1f} at the end; upload_workers={settings.upload_workers}; each "
            "example = meta.yaml + 3 files, stored as 2 objects per version (its pack and "
            "metadata.json); batched "
            f"requests hold up to {BATCH_OBJECTS} objects. Each ratio is the median over "
            f"{args.runs} initial syncs of the sync against the mean of its baseline run just "
            f"before and just after it; no-op: median of {len(m['noop'])} re-syncs.", "",
            "| measure | value | ratio | target |", "| --- | --- | --- | --- |"]
    text += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    print("\n".join(text))
    if not args.no_record:
        record("sync_bench", f"Library sync, {n:,} examples", "\n".join(text))


if __name__ == "__main__":
    main()
