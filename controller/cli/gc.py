"""`exlib gc [--dry-run] [--grace 24h]`: remove library objects no version row references."""

from __future__ import annotations

import argparse

from controller.cli import output
from controller.config import ConfigError, Settings
from controller.library.errors import SyncError
from controller.library.gc import DEFAULT_GRACE, DEFAULT_WAIT, GcReport, collect_garbage
from controller.timeouts import parse_duration


def register(sub: argparse._SubParsersAction) -> None:
    """`exlib gc`."""
    p = sub.add_parser("gc", help="remove stored objects no library version uses (after a "
                       "grace period)")
    p.add_argument("--dry-run", action="store_true",
                   help="list what would be removed, remove nothing")
    p.add_argument("--grace", metavar="DURATION",
                   help="keep objects younger than this (default 24h; e.g. 30m, 2h, 0s)")
    p.add_argument("--wait", type=float, default=DEFAULT_WAIT, metavar="SECONDS",
                   help="how long to wait for a running sync of a repository before "
                        f"skipping it (default {DEFAULT_WAIT:g})")
    output.add_output_flag(p)
    p.set_defaults(func=_gc)


def _gc(args: argparse.Namespace) -> int:
    try:
        grace = parse_duration(args.grace, DEFAULT_GRACE)
    except ValueError as err:
        raise ConfigError(f"--grace: {err}") from None
    try:
        report = collect_garbage(Settings.from_env(), grace=grace, dry_run=args.dry_run,
                                 wait=args.wait, on_wait=lambda repository: output.say(
                                     f"a sync of {repository} is running; waiting up to "
                                     f"{args.wait:g} s for it to finish", err=True))
    except SyncError as err:
        output.fail(str(err))
        return 1
    if args.output == "json":
        output.emit_json(report.to_dict())
    else:
        _print(report)
    return 0


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _print(report: GcReport) -> None:
    verb = "would remove" if report.dry_run else "removed"
    rows = [(c.repository or f"(no repository) {c.repository_id}", len(c.versions), c.objects,
             _size(c.bytes), c.young, c.skipped or "")
            for c in report.repositories]
    if rows:
        output.table(None, ("repository", "versions", "objects", "bytes", "kept (young)",
                            "note"), rows)
    output.say(f"{verb} {report.objects} object(s), {_size(report.bytes)} "
               f"({report.bytes} bytes) of {report.scanned} scanned"
               + (" (dry run: nothing was removed)" if report.dry_run else ""))
