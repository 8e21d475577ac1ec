"""bench/RESULTS.md holds hand-written readings beside the tables benchmarks write; a
benchmark replaces only the text between its own markers, so a run never loses the notes."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def record(name: str, title: str, table: str) -> None:
    """Put `table` between `name`'s markers (appended under `title` the first time)."""
    start, end = f"<!-- {name}: start -->", f"<!-- {name}: end -->"
    old = RESULTS.read_text()
    block = f"{start}\n{table}\n{end}"
    if start in old and end in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + f"\n\n## {title}\n\n" + block + "\n"
    RESULTS.write_text(new)
