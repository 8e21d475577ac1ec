"""The `exlib` command line: one sub-module per command group, each calling domain functions.

Each module exposes `register(subparsers)`, adding its commands with `set_defaults(func=...)`;
a command function takes the parsed arguments and returns the process exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from controller.cli import output
from controller.config import ConfigError
from controller.store.db import describe_error
from controller.testing import killpoints

GROUPS = ("controller.cli.db", "controller.cli.library", "controller.cli.gc",
          "controller.cli.course", "controller.cli.operator")


def build_parser() -> argparse.ArgumentParser:
    """The `exlib` parser with every command group's sub-commands."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="exlib", description="exlib: versioned example library and course deployment")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in GROUPS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; configuration and database failures become one `error:` line and exit 1."""
    args = build_parser().parse_args(argv)
    killpoints.warn_if_set()
    try:
        return int(args.func(args) or 0)
    except ConfigError as err:
        output.fail(str(err))
        return 1
    except SQLAlchemyError as err:
        output.fail(describe_error(err))
        return 1
    except KeyboardInterrupt:
        output.fail("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
