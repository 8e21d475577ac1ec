"""What the README says of the command line holds for the code."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from controller.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def commands(parser: argparse.ArgumentParser, prefix: str = "exlib"
             ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command (`exlib examples list`, ...) and its parser."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
    for sub in subs:
        for name, child in sub.choices.items():
            yield from commands(child, f"{prefix} {name}")


def test_every_command_but_run_takes_json_output_as_the_readme_says() -> None:
    without = sorted(name for name, parser in commands(build_parser())
                     if "--output" not in parser._option_string_actions)
    assert without == ["exlib run"]
    readme = " ".join(REPO.joinpath("README.md").read_text().split())
    assert "Every command takes `-o json` for scripts, except `exlib run`" in readme
