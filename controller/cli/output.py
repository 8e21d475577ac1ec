"""Shared CLI output: JSON for scripts (`-o json`), rich tables for people, errors on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def add_output_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table",
                        help="output format (default: a readable table)")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    tab = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        tab.add_column(col, overflow="fold")
    for row in rows:
        tab.add_row(*("" if v is None else str(v) for v in row))
    stdout.print(tab)


def fail(message: str) -> None:
    """One line on stderr saying what went wrong; callers return exit code 1."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False)
