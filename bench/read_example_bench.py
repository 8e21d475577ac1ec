#!/usr/bin/env python3
"""CPU of reading one example on the sync's scan thread (issue 12; a benchmark, no stack).

    .venv/bin/python bench/read_example_bench.py [--examples 2000] [--code OTHER_CHECKOUT]

Per example, best of --repeat passes, CPU time of this process:
  parse_meta     on `bench/sync_bench.py`'s meta.yaml, and on the real course data's
  read_example   on a packed Git snapshot of sync_bench's examples (meta.yaml + 3 files)
each against a baseline measured in the same run: `yaml.load(..., CSafeLoader)` of the same
text for parse_meta (reading YAML at all), and reading and hashing the same blobs for
read_example (what any copy of the examples does). `--code` measures another checkout too
(before/after), in the same run. The table replaces this benchmark's part of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import record  # noqa: E402
from bench.sync_bench import machine  # noqa: E402

CHILD = """
import hashlib, json, shutil, sys, tempfile, time
from pathlib import Path
import pygit2, yaml
from bench.sync_bench import build_commit, files_of, meta
from controller.config import ExampleLimits
from controller.library.scan import Ignore, discover, read_example
from controller.library.source_git import GitSnapshot
from controller.meta import parse_meta

n, repeat, real_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def best(run, count):
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times) / count * 1e6

def texts_per_example(texts):
    parse = lambda: [parse_meta(t, file="meta.yaml", directory_name="ex") for t in texts]
    load = lambda: [yaml.load(t, Loader=yaml.CSafeLoader) for t in texts]
    return best(parse, len(texts)), best(load, len(texts))

out = {"bench meta.yaml": texts_per_example([meta(i, "1.0.0") for i in range(n)])}
real = sorted(Path(real_dir).glob("**/meta.yaml"))
if real:
    out[f"real meta.yaml ({len(real)} files)"] = texts_per_example(
        [p.read_bytes() for p in real] * max(1, n // len(real)))

tmp = tempfile.mkdtemp()
try:
    repo = pygit2.init_repository(tmp, bare=True)
    commit = build_commit(repo, n, set(), [])
    repo.pack()  # a clone is a packfile, as the sync reads it
    for loose in Path(tmp, "objects").glob("??"):
        shutil.rmtree(loose)
    repo = pygit2.Repository(tmp)
    snapshot = GitSnapshot(repo, repo.get(commit), "examples")
    ignore, limits = Ignore(()), ExampleLimits()
    found = list(discover(snapshot, ignore, limits))
    trees = [repo.get(f.handle) for f in found]
    blobs = [[e.id for e in t if e.type_str == "blob"] + [e.id for e in t["content"]]
             for t in trees]
    scan = lambda: [read_example(snapshot, f, ignore, limits, {}, 8 << 20) for f in found]
    copy = lambda: [hashlib.sha256(repo.odb.read(h)[1]).digest() for hs in blobs for h in hs]
    out["read_example (Git snapshot)"] = best(scan, n), best(copy, n)
finally:
    shutil.rmtree(tmp)
print(json.dumps(out))
"""


def measure(code: Path, n: int, repeat: int, real: Path) -> dict[str, list[float]]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(n), str(repeat), str(real)],
                          cwd=code, capture_output=True, text=True, check=True)
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best one counts")
    parser.add_argument("--code", type=Path, help="also measure this checkout (before/after)")
    parser.add_argument("--real", type=Path, default=REPO.parent / "shared" / "data",
                        help="the real course data (its meta.yaml files)")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    runs = {"this checkout": measure(REPO, args.examples, args.repeat, args.real)}
    if args.code:
        other = args.code.resolve()
        runs[f"other checkout ({other.name})"] = measure(other, args.examples, args.repeat,
                                                         args.real)
    lines = [f"Measured {when} (`bench/read_example_bench.py --examples {args.examples}`). "
             f"Machine: {machine()}. CPU per example, best of {args.repeat} passes.\n",
             "| code | what | per example | baseline | ratio |", "| --- | --- | --- | --- | --- |"]
    for code, result in runs.items():
        for what, (cost, base) in result.items():
            baseline = "reading + hashing the blobs" if "read_example" in what else \
                "`yaml.load` (CSafeLoader)"
            lines.append(f"| {code} | {what} | {cost:.0f} µs | {base:.0f} µs ({baseline}) | "
                         f"**{cost / base:.2f} ×** |")
    table = "\n".join(lines)
    print(table)
    if not args.no_record:
        record("read_example_bench", "Reading one example on the scan thread (issue 12)", table)


if __name__ == "__main__":
    main()
