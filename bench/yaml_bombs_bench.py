#!/usr/bin/env python3
"""CPU and memory to refuse YAML bombs (issue 9; a benchmark, not a test; no stack needed).

    .venv/bin/python bench/yaml_bombs_bench.py [--code OTHER_CHECKOUT] [--no-record]

Every bomb of tests/unit/test_yaml_bombs.py (meta.yaml read by the library, course manifests
read by `exlib plan/apply`) is parsed in a child process of its own: CPU seconds of the
parse, and the growth of the child's peak RSS (VmHWM) over what it had after its imports.
`--code` runs the parse from another checkout (to measure before/after); a child is stopped
after --cap seconds. The table replaces this benchmark's part of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import record  # noqa: E402
from bench.sync_bench import machine  # noqa: E402
from tests.unit.test_yaml_bombs import COURSE_BOMBS, META_BOMBS  # noqa: E402

CHILD = """
import json, resource, sys, time
from controller.course.errors import SpecError
from controller.course.spec import load_manifest, parse_spec
from controller.meta import parse_meta

def hwm():
    return next(int(line.split()[1]) for line in open("/proc/self/status")
                if line.startswith("VmHWM:")) / 1024

kind, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
base = hwm()
start = time.process_time()
if kind == "meta":
    accepted = parse_meta(data, file="meta.yaml", directory_name="bomb")[0] is not None
else:
    try:
        parse_spec(load_manifest(data.decode(), source="course.yaml").spec)
        accepted = True
    except SpecError:
        accepted = False
print(json.dumps({"cpu": time.process_time() - start, "grew_mb": hwm() - base,
                  "accepted": accepted}))
"""


def run(code: Path, kind: str, text: str, cap: float) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(text)
        f.flush()
        try:
            out = subprocess.run([sys.executable, "-c", CHILD, kind, f.name], cwd=code,
                                 capture_output=True, text=True, timeout=cap, check=False)
        except subprocess.TimeoutExpired:
            return f"> {cap:.0f} s (stopped) | – | –"
    if out.returncode != 0:
        return f"crashed: {out.stderr.strip().splitlines()[-1][:60]} | – | –"
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return (f"{r['cpu'] * 1000:.1f} ms | {r['grew_mb']:.0f} MB | "
            f"{'accepted' if r['accepted'] else 'refused'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=REPO, help="parse with this checkout")
    parser.add_argument("--cap", type=float, default=60, help="stop a child after seconds")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Measured {when} (`bench/yaml_bombs_bench.py`). Machine: {machine()}.\n",
             "| file | bomb | size | CPU | peak RSS growth | result |",
             "| --- | --- | --- | --- | --- | --- |"]
    for kind, bombs in (("meta.yaml", META_BOMBS), ("course manifest", COURSE_BOMBS)):
        for name, text in bombs.items():
            row = run(args.code, "meta" if kind == "meta.yaml" else "course", text, args.cap)
            lines.append(f"| {kind} | {name} | {len(text.encode()):,} B | {row} |")
            print(lines[-1], file=sys.stderr)
    table = "\n".join(lines)
    print(table)
    if not args.no_record and args.code == REPO:
        record("yaml_bombs_bench", "YAML bombs refused (issue 9)", table)

if __name__ == "__main__":
    main()
