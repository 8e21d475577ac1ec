"""`exlib db upgrade`: bring the database schema to the newest migration."""

from __future__ import annotations

import argparse

from controller.cli import output
from controller.config import database_url
from controller.store.db import current_revision, upgrade


def register(sub: argparse._SubParsersAction) -> None:
    """`exlib db upgrade`."""
    db = sub.add_parser("db", help="database schema")
    cmds = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = cmds.add_parser("upgrade", help="run the migrations (DATABASE_URL)")
    output.add_output_flag(up)
    up.set_defaults(func=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    url = database_url()
    upgrade(url)  # a failure is worded by the CLI's one database message (describe_error)
    revision = current_revision(url)
    if args.output == "json":
        output.emit_json({"revision": revision})
    else:
        output.say(f"database schema at revision {revision}")
    return 0
