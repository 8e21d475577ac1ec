"""Shared CLI output: JSON for scripts (`-o json`), rich tables for people, errors on stderr.

Almost everything the CLI shows is user text (file and directory names, identifiers,
titles, ignore patterns, error messages quoting them), so it is never read as Rich markup or
emoji codes: both consoles have markup, emoji and highlighting off, and styles are given
apart from the text (`say(("error", "red"), " ", message)`). A file named `[/oops]` or a
title `:warning: [b]x[/b]` is printed exactly as written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from controller.phases import describe

#: A piece of a line: plain text, or (text, Rich style) such as ("error", "bold red").
Part = str | tuple[str, str]

stdout = Console(soft_wrap=True, markup=False, emoji=False, highlight=False)
stderr = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)


def add_output_flag(parser: argparse.ArgumentParser) -> None:
    """`-o table|json`: every command that prints takes it."""
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table",
                        help="output format (default: a readable table)")


def add_verbose_flag(parser: argparse.ArgumentParser) -> None:
    """`-v`: the commands that run a pass say where its time went (one flag, one wording)."""
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also print how long each phase of the pass took (stderr; with "
                        "-o json they are under `phases`)")


def phases(seconds: Mapping[str, float]) -> None:
    """The pass's phases and their durations, one line on stderr (`-v`)."""
    say(("phases:", "bold"), " ", describe(seconds), err=True)


def emit_json(data: Any) -> None:
    """`data` as indented JSON on stdout (what scripts read with `-o json`)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def say(*parts: Part, err: bool = False) -> None:
    """One line of text (stdout, or stderr with `err`), styled only where a part says so."""
    (stderr if err else stdout).print(Text.assemble(*parts))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table on stdout; cells are plain text (no Rich markup is read from data)."""
    tab = Table(title=None if title is None else Text(title), show_lines=False,
                header_style="bold")
    for col in columns:
        tab.add_column(col, overflow="fold")
    for row in rows:
        tab.add_row(*(Text("" if v is None else str(v)) for v in row))
    stdout.print(tab)


def fail(message: str) -> None:
    """One line on stderr saying what went wrong; callers return exit code 1."""
    say(("error:", "bold red"), " ", message, err=True)
