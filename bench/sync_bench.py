#!/usr/bin/env python3
"""Benchmark of the library sync against DESIGN §10 (a benchmark, not a test).

    eval "$(hack/devstack env)" && .venv/bin/python bench/sync_bench.py [--examples 10000]

Generates a Git repository of N examples (`examples/gNN/exNNNNN/`: meta.yaml + 3 files),
pushes it to the stack's Git server and measures, in the same run:
  baseline  bare clone (pygit2) + parallel upload of the same files, one PUT per object
            (upload_workers threads) -- the DESIGN §10 reference
  initial   `sync_repository` into an empty database and bucket prefix (default settings:
            on MinIO, small objects go in batched requests)
  no-op     re-sync with nothing changed (total, and work after the fetch)
  1 %       re-sync after changing 1 % of the examples
and, for comparing like with like:
  baseline, batched   the same clone + upload with the sync's batched requests
  initial, per object the initial sync with EXLIB_S3_BATCH_UPLOADS=off (a fresh database)
Each sync runs in a child process so its peak RSS (VmHWM) is its own. The results replace this
benchmark's section of bench/RESULTS.md, with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pygit2
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from controller.config import Settings  # noqa: E402
from controller.library.sync import BATCH_OBJECTS  # noqa: E402
from controller.store import git  # noqa: E402
from controller.store.objects import object_store  # noqa: E402

CHILD = """
import json, sys, time
from dataclasses import replace
from pathlib import Path
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
                  "counts": report.counts, "uploaded_files": report.uploaded_files,
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


def baseline(url: str, token: str, settings: Settings, tmp: Path, *, batched: bool) -> float:
    """Bare clone + parallel upload of every blob below examples/ (same bytes, same pool):
    one PUT per object, or `batched` in requests of BATCH_OBJECTS like the sync on MinIO."""
    start = time.perf_counter()
    cache = tmp / f"baseline-{uuid.uuid4().hex[:8]}"  # a fresh clone every time
    repo = git.open_cache(cache, url, "bench")
    git.fetch(repo, url, git.Credentials(token=token), cache_dir=cache)
    tree = git.subtree(repo, git.resolve(repo, "main").tree, "examples")
    store = object_store(replace(settings, s3_batch_uploads="on" if batched else "off"))
    prefix = f"bench-baseline/{uuid.uuid4()}/"
    size = BATCH_OBJECTS if batched else 1
    with ThreadPoolExecutor(settings.upload_workers) as pool:
        def put(items: list) -> None:
            store.put_many([(prefix + path, git.read_blob(repo, entry.id),
                             "application/octet-stream") for path, entry in items])

        entries = list(git.walk(repo, tree))
        for _ in pool.map(put, (entries[i:i + size] for i in range(0, len(entries), size))):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    n = args.examples
    settings = Settings.from_env()
    token = os.environ["EXLIB_GIT_TOKEN"]
    name = f"bench_{uuid.uuid4().hex[:8]}"
    url = subprocess.run([str(REPO / "hack" / "devstack"), "git-create", name],
                         capture_output=True, text=True, check=True).stdout.strip()
    admin = sa.create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    names = [name, name + "_po"]
    try:
        db = create_database(admin, settings.database_url, names[0])
        db_per_object = create_database(admin, settings.database_url, names[1])
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
            base = baseline(url, token, settings, tmp, batched=False)
            print(f"baseline {base:.1f}s", file=sys.stderr)
            cache = tmp / "cache"
            initial = run_sync(url, db, cache, token)
            print(f"initial {initial}", file=sys.stderr)
            base_batched = baseline(url, token, settings, tmp, batched=True)
            print(f"baseline, batched {base_batched:.1f}s", file=sys.stderr)
            noop = run_sync(url, db, cache, token)
            print(f"no-op {noop}", file=sys.stderr)
            base_again = baseline(url, token, settings, tmp, batched=False)
            print(f"baseline again {base_again:.1f}s", file=sys.stderr)
            per_object = run_sync(url, db_per_object, tmp / "cache-po", token, "off")
            print(f"initial, per object {per_object}", file=sys.stderr)
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
    assert initial["counts"]["new"] == n and noop["counts"]["unchanged"] == n
    assert per_object["counts"]["new"] == n
    assert one["counts"]["changed"] == len(changed) and noop["uploaded_files"] == 0
    rows = [
        ("initial sync", f"{initial['seconds']:.1f} s",
         f"{initial['seconds'] / base:.2f} × baseline ({base:.1f} s)", "≤ 1.3 ×"),
        ("no-op re-sync", f"{noop['seconds']:.2f} s total",
         f"{noop['after_fetch']:.2f} s after the fetch", "≤ 1 s after fetch"),
        ("1 % changed re-sync", f"{one['seconds']:.2f} s",
         f"{one['seconds'] / initial['seconds'] * 100:.1f} % of initial", "≤ 5 %"),
        ("peak RSS (initial / no-op / 1 %)",
         f"{initial['rss_mb']:.0f} / {noop['rss_mb']:.0f} / {one['rss_mb']:.0f} MB", "",
         "≤ 250 MB"),
        ("like with like: initial sync, one PUT per object (`EXLIB_S3_BATCH_UPLOADS=off`)",
         f"{per_object['seconds']:.1f} s, {per_object['rss_mb']:.0f} MB",
         f"{per_object['seconds'] / base_again:.2f} × baseline ({base_again:.1f} s, run "
         "just before)", ""),
        ("like with like: initial sync against a baseline with batched requests",
         f"{initial['seconds']:.1f} s", f"{initial['seconds'] / base_batched:.2f} × "
         f"({base_batched:.1f} s, run just after)", ""),
    ]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [f"## Library sync, {n} examples ({when}, `bench/sync_bench.py --examples {n}`)\n",
            f"Machine: {machine()}; 1-minute load average {load[0]:.1f} at the start, "
            f"{load[1]:.1f} at the end; upload_workers={settings.upload_workers}; each example = "
            "meta.yaml + 3 files (4 objects + metadata.json per version); batched requests "
            f"hold up to {BATCH_OBJECTS} objects.\n",
            "| measure | value | ratio | target |", "| --- | --- | --- | --- |"]
    text += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    text += ["", "How the sync works, and why it batches on MinIO: `docs/library-sync.md`."]
    print("\n".join(text))
    if not args.no_record:
        record("\n".join(text) + "\n")


def record(section: str) -> None:
    """Replace this benchmark's section of RESULTS.md (other benchmarks' sections stay)."""
    results = REPO / "bench" / "RESULTS.md"
    old = results.read_text() if results.exists() else (
        "# Benchmark results\n\nWritten by the scripts in `bench/`.\n")
    start = old.find("## Library sync")
    if start < 0:
        results.write_text(old.rstrip("\n") + "\n\n" + section)
        return
    end = old.find("\n## ", start + 1)
    rest = old[end + 1:] if end >= 0 else ""
    results.write_text(old[:start] + section + ("\n" + rest if rest else ""))


if __name__ == "__main__":
    main()
