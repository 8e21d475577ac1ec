"""`exlib crds` (generate CRDs from schemas/) and `exlib run` (the operator, for its scope)."""

from __future__ import annotations

import argparse
from pathlib import Path

from controller.cli import output

CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
# A standby takes over at most this long after the active replica's last heartbeat (Kopf's
# default is 60 s); heartbeats are sent 5-10 s before it runs out (docs/operations.md).
DEFAULT_PEERING_LIFETIME = 15
MIN_PEERING_LIFETIME = 10  # below it, a heartbeat delayed by a slow API server looks like death


def _lifetime(raw: str) -> int:
    if not raw.isdigit() or int(raw) < MIN_PEERING_LIFETIME:
        raise argparse.ArgumentTypeError(
            f"`{raw}` is not a whole number of seconds of at least {MIN_PEERING_LIFETIME}: "
            "each replica sends its heartbeat 5-10 s before its lifetime runs out, so a "
            "shorter one would let a standby take a live operator for dead")
    return int(raw)


def register(sub: argparse._SubParsersAction) -> None:
    """`exlib run` (the operator) and `exlib crds`."""
    crds = sub.add_parser("crds", help="write the CRDs generated from the JSON Schemas into "
                          "crds/")
    crds.add_argument("--check", action="store_true",
                      help="only compare with the checked-in files; exit 1 if they differ")
    crds.add_argument("--dir", type=Path, default=CRD_DIR)
    output.add_output_flag(crds)
    crds.set_defaults(func=cmd_crds)

    run = sub.add_parser("run", help="run the operator (watches ExampleRepository and "
                                     "CourseStructure objects)")
    where = run.add_argument_group("what this operator serves (docs/operations.md#sharding)")
    where.add_argument("--namespace", "-n", action="append", default=[], metavar="PATTERN",
                       help="serve these namespaces: a name, or Kopf's pattern of globs and "
                            "!negations, e.g. 'courses-*,!courses-test' (repeatable)")
    where.add_argument("--all-namespaces", "-A", action="store_true",
                       help="serve every namespace (exactly one of this and --namespace)")
    where.add_argument("--shard", default=None, metavar="NAME",
                       help="serve only objects labelled exlib.dev/shard=NAME (default: only "
                            "objects without that label)")
    run.add_argument("--peering", default=None,
                     help="Kopf peering name for HA: replicas with the same name elect the one "
                          "with the highest --priority; one name per shard, or one shard's "
                          "replicas pause another's (default: standalone)")
    run.add_argument("--priority", type=int, default=0,
                     help="this replica's peering priority, distinct per replica; the highest "
                          "live one acts (default: %(default)s)")
    run.add_argument("--peering-lifetime", type=_lifetime, default=DEFAULT_PEERING_LIFETIME,
                     metavar="SECONDS",
                     help="how long peers wait for this replica's heartbeat before a standby "
                          "takes over (default: %(default)s; at least "
                          f"{MIN_PEERING_LIFETIME})")
    run.add_argument("--metrics-port", type=int, default=8080,
                     help="Prometheus metrics port (0 disables)")
    run.set_defaults(func=cmd_run)


def cmd_crds(args: argparse.Namespace) -> int:
    """Write the CRDs (or, with --check, name the stale ones); `-o json` lists the files."""
    from controller.operator.crds import render_all

    rendered = render_all()
    if args.check:
        stale = [n for n, text in rendered.items()
                 if not (args.dir / n).exists() or (args.dir / n).read_text() != text]
        if args.output == "json":
            output.emit_json({"directory": str(args.dir), "stale": stale})
        if stale:
            output.fail(f"CRDs out of date: {', '.join(stale)}; run `exlib crds` and commit")
            return 1
        return 0
    args.dir.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (args.dir / name).write_text(text)
        if args.output == "table":
            output.say(f"wrote {args.dir / name}")
    if args.output == "json":
        output.emit_json({"directory": str(args.dir), "written": list(rendered)})
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the operator for the objects its scope (namespaces, shard) selects."""
    from controller.operator.runner import run
    from controller.operator.scope import ScopeError, parse_scope

    try:
        scope = parse_scope(args.namespace, args.all_namespaces, args.shard)
    except ScopeError as err:
        output.fail(f"exlib run: {err}")
        return 2
    return run(scope=scope, peering=args.peering, priority=args.priority,
               peering_lifetime=args.peering_lifetime, metrics_port=args.metrics_port)
