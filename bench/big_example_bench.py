#!/usr/bin/env python3
"""Peak memory of syncing one huge example (issue 9; a benchmark, not a test).

    eval "$(hack/devstack env)" && .venv/bin/python bench/big_example_bench.py

Two sources, each holding one huge example beside a small one:
  large files  25 files of 19 MiB (each under the 20 MiB limit), 475 MiB in all, in an S3
               prefix (from Git, the server's pack-objects spends many minutes delta-searching
               such blobs on a small machine; the sync holds one file at a time either way)
  many files   20,000 files of about 100 bytes in 20 directories, in a Git repository
               (about 2 MB: the sync stores it as one pack, `controller/library/layout.py`)
For each, in the same run and each in a child process (peak RSS = the child's VmHWM):
  baseline  read the same files and upload them, one PUT per object, one file in memory at a
            time (S3: GET + PUT; Git: bare clone + PUT) -- the least memory any sync of this
            content can take
  sync      `sync_repository` into an empty database (default settings)
The table replaces this benchmark's part of bench/RESULTS.md (between its markers); the
text written by hand around it stays.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pygit2
import sqlalchemy as sa
from minio import Minio
from minio.deleteobjects import DeleteObject

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import record  # noqa: E402
from bench.sync_bench import create_database, machine, push  # noqa: E402
from controller.config import Settings  # noqa: E402
from controller.store.objects import object_store  # noqa: E402

MIB = 1024 * 1024

SYNC = """
import json, sys, time
from dataclasses import replace
from pathlib import Path
from controller.config import Settings
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.store.git import Credentials
from controller.library.source import S3Credentials
kind, url, db, cache, token = sys.argv[1:6]
settings = replace(Settings.from_env(), database_url=db, cache_dir=Path(cache))
if kind == "git":
    source = SourceSpec("git", url, credentials=Credentials(token=token))
else:
    source = SourceSpec("s3", settings.s3_endpoint, bucket=settings.s3_bucket, path=url,
                        insecure=True, s3_credentials=S3Credentials(settings.s3_access_key,
                                                                    settings.s3_secret_key))
start = time.perf_counter()
report = sync_repository(settings, source, name="bench")
seconds = time.perf_counter() - start
hwm = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "counts": report.counts, "files": report.uploaded_objects,
                  "errors": [e.errors for e in report.invalid], "rss_mb": hwm / 1024,
                  "prefix": f"repositories/{report.repository_id}/"}))
"""

LOAD = """
import json, sys, time
from dataclasses import replace
from pathlib import Path
import sqlalchemy as sa
from controller.config import Settings
from controller.course.deploy import VersionTrees
from controller.store.objects import object_store
from controller.store.db import make_engine, session_scope
from controller.store.db.library import Example, ExampleVersion
db, cache = sys.argv[1:3]
settings = replace(Settings.from_env(), database_url=db)
with session_scope(make_engine(db)) as s:
    version = s.scalar(sa.select(ExampleVersion)
                       .join(Example, Example.id == ExampleVersion.example_id)
                       .where(Example.identifier == "bench.large"))
    s.expunge(version)
start = time.perf_counter()
VersionTrees(Path(cache), object_store(settings), settings.upload_workers).prefetch([version])
seconds = time.perf_counter() - start
hwm = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "rss_mb": hwm / 1024}))
"""

BASELINE = """
import json, sys, time, uuid
from pathlib import Path
from controller.config import Settings
from controller.store.objects import object_store
from controller.store import git
kind, url, cache, token = sys.argv[1:5]
settings = Settings.from_env()
start = time.perf_counter()
store = object_store(settings)
prefix = f"bench-baseline/{uuid.uuid4()}/"
n = 0
if kind == "git":
    repo = git.open_cache(Path(cache), url, "bench")
    git.fetch(repo, url, git.Credentials(token=token), cache_dir=Path(cache))
    for path, entry in git.walk(repo, git.resolve(repo, "main").tree):
        store.put(prefix + path, git.read_blob(repo, entry.id))
        n += 1
else:
    for obj in list(store.list(url)):
        store.put(prefix + obj.key[len(url):], store.get(obj.key))
        n += 1
seconds = time.perf_counter() - start
hwm = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "files": n, "rss_mb": hwm / 1024, "prefix": prefix}))
"""


def meta(slug: str) -> bytes:
    return (f"slug: bench.{slug}\nversion: 1.0.0\ntitle: {slug}\ndescription: d\n"
            "language: en\n").encode()


def large_files(settings: Settings, prefix: str) -> None:
    store = object_store(settings)
    store.put(f"{prefix}big/meta.yaml", meta("large"))
    for i in range(25):
        line = f"file {i:02}: {'x' * 50}\n".encode()
        store.put(f"{prefix}big/data{i:02}.bin", (line * (19 * MIB // len(line) + 1))[:19 * MIB])
    store.put(f"{prefix}small/meta.yaml", meta("small"))
    store.put(f"{prefix}small/main.py", b"x = 1\n")


def many_files(repo: pygit2.Repository) -> pygit2.Oid:
    tb = repo.TreeBuilder()
    tb.insert("meta.yaml", repo.create_blob(meta("many")), pygit2.GIT_FILEMODE_BLOB)
    for d in range(20):
        sub = repo.TreeBuilder()
        for i in range(1000):
            body = f"# file {d}/{i}\nvalue = {d * 1000 + i}\n{'#' * 60}\n".encode()
            sub.insert(f"f{i:04}.py", repo.create_blob(body), pygit2.GIT_FILEMODE_BLOB)
        tb.insert(f"part{d:02}", sub.write(), pygit2.GIT_FILEMODE_TREE)
    return tb.write()


def many_files_repo(work: Path) -> pygit2.Repository:
    repo = pygit2.init_repository(str(work), bare=True, initial_head="main")
    root = repo.TreeBuilder()
    root.insert("big", many_files(repo), pygit2.GIT_FILEMODE_TREE)
    small = repo.TreeBuilder()
    small.insert("meta.yaml", repo.create_blob(meta("small")), pygit2.GIT_FILEMODE_BLOB)
    small.insert("main.py", repo.create_blob(b"x = 1\n"), pygit2.GIT_FILEMODE_BLOB)
    root.insert("small", small.write(), pygit2.GIT_FILEMODE_TREE)
    sig = pygit2.Signature("bench", "bench@exlib.dev")
    repo.create_commit("refs/heads/main", sig, sig, "bench", root.write(), [])
    return repo


def remove(settings: Settings, prefixes: list[str]) -> None:
    """Delete what a case stored (about 1.4 GB for the large example) from the shared MinIO."""
    store = object_store(settings)
    client = Minio(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key,
                   secure=settings.s3_secure, region=settings.s3_region)
    for prefix in prefixes:
        keys = [DeleteObject(o.key) for o in store.list(prefix)]
        for error in client.remove_objects(settings.s3_bucket, keys):
            print(f"could not delete {error.name}: {error.message}", file=sys.stderr)


def child(code: str, *args: str, cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=cwd, env={**os.environ, "PYTHONPATH": str(cwd)}, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=REPO,
                        help="run the sync from this checkout (to measure before/after)")
    parser.add_argument("--only", choices=("s3", "git"), help="one of the two examples")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    settings = Settings.from_env()
    token = os.environ["EXLIB_GIT_TOKEN"]
    admin = sa.create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    dbs: list[str] = []
    rows = []
    loads: list[dict] = []
    try:
        with tempfile.TemporaryDirectory() as tmp_:
            tmp = Path(tmp_)
            for label, kind in (("25 files × 19 MiB (S3 source)", "s3"),
                                ("20,000 files (Git source)", "git")):
                if args.only and kind != args.only:
                    continue
                name = f"bench_{uuid.uuid4().hex[:8]}"
                if kind == "s3":
                    url = f"bench-big/{name}/"
                    large_files(settings, url)
                else:
                    url = subprocess.run([str(REPO / "hack" / "devstack"), "git-create", name],
                                         capture_output=True, text=True,
                                         check=True).stdout.strip()
                    push(many_files_repo(tmp / name), url, token)
                base = child(BASELINE, kind, url, str(tmp / f"{name}-base"), token, cwd=REPO)
                print(f"{label}: baseline {base}", file=sys.stderr)
                dbs.append(name)
                db = create_database(admin, settings.database_url, name)
                sync = child(SYNC, kind, url, db, str(tmp / f"{name}-cache"), token,
                             cwd=args.code)
                print(f"{label}: sync {sync}", file=sys.stderr)
                # a version's row is written only once every object of it is stored
                ok = sync["counts"]["new"] == 2
                rows.append((label, base, sync, ok))
                if kind == "s3":  # a course pass loading the version into its Git cache
                    loads.append(child(LOAD, db, str(tmp / f"{name}-versions"),
                                       cwd=args.code))
                    print(f"{label}: version load {loads[-1]}", file=sys.stderr)
                remove(settings, [base["prefix"], sync["prefix"]] + ([url] if kind == "s3"
                                                                     else []))
    finally:
        with admin.connect() as conn:
            for db_name in dbs:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [f"Measured {when} (`bench/big_example_bench.py`). Machine: {machine()}.\n",
            "| example | sync peak RSS | baseline peak RSS | ratio | sync time | baseline "
            "time | ratio | target |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, base, sync, ok in rows:
        text.append(
            f"| {label} | {sync['rss_mb']:.0f} MB | {base['rss_mb']:.0f} MB | "
            f"{sync['rss_mb'] / base['rss_mb']:.2f} × | {sync['seconds']:.1f} s | "
            f"{base['seconds']:.1f} s | {sync['seconds'] / base['seconds']:.2f} × | "
            f"≤ 250 MB{'' if ok else ' (sync did not store the example!)'} |")
    for load in loads:
        text.append(f"\nA course pass loading the large example's version into its Git cache "
                    f"(`VersionTrees.prefetch`, what `exlib apply` does first): peak RSS "
                    f"{load['rss_mb']:.0f} MB, {load['seconds']:.1f} s.")
    table = "\n".join(text)
    print(table)
    if not args.no_record and args.code == REPO and not args.only:
        record("big_example_bench", "One huge example (issue 9)", table)



if __name__ == "__main__":
    main()
