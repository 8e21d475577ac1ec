"""`exlib plan -f FILE`, `exlib apply -f FILE`, `exlib status COURSE` (path or [namespace/]name).

FILE is a CourseStructure manifest or its bare spec. Git credentials for the course's
repositories come from the environment (EXLIB_GIT_TOKEN, or EXLIB_GIT_USERNAME with
EXLIB_GIT_PASSWORD), never from the command line; so does the API token of spec.provider
(EXLIB_PROVIDER_TOKEN), which is also the Git credential of its projects when no Git one is
given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller import config, yamltext
from controller.cli import output
from controller.config import Settings
from controller.course.apply import ApplyReport, CourseCredentials, apply_course, course_status
from controller.course.errors import CourseError, SpecError
from controller.course.spec import load_manifest
from controller.meta.names import version_label


def register(sub: argparse._SubParsersAction) -> None:
    """`exlib plan`, `exlib apply` and `exlib status`."""
    for name, helptext in (("plan", "show what `apply` would change, changing nothing"),
                           ("apply", "deploy a course: rows, one assignments commit, template")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("-f", "--file", required=True, metavar="FILE",
                       help="CourseStructure manifest or spec (YAML; `-` = stdin)")
        p.add_argument("--namespace", help="namespace of the course and its example "
                       "repositories (default: the manifest's, else `default`)")
        p.add_argument("--name", help="CourseStructure name (default: the manifest's, else "
                       "the course path)")
        output.add_output_flag(p)
        output.add_verbose_flag(p)
        p.set_defaults(func=_run, dry_run=name == "plan")
    s = sub.add_parser("status", help="per-content deployment table of a course")
    s.add_argument("course", metavar="COURSE",
                   help="the course's full path (e.g. tugraz.prog1.ws2026) or its "
                   "CourseStructure as [namespace/]name (e.g. exlib-demo/prog1-2026)")
    output.add_output_flag(s)
    s.set_defaults(func=_status)


def _credentials() -> CourseCredentials:
    creds = config.git_credentials()
    git = creds if creds.token or creds.password else None
    return CourseCredentials(git, git, provider_token=config.provider_token())


def _run(args: argparse.Namespace) -> int:
    try:
        # never more than the loader accepts (plus one character, so it can say "too large")
        limit = yamltext.COURSE_LIMITS.max_bytes + 1
        if args.file == "-":
            text = sys.stdin.read(limit)
        else:
            with Path(args.file).open(encoding="utf-8") as file:
                text = file.read(limit)
    except OSError as err:
        output.fail(f"cannot read {args.file}: {err.strerror}")
        return 1
    except UnicodeDecodeError:
        output.fail(f"{args.file} is not UTF-8 text; save it as UTF-8")
        return 2
    try:
        manifest = load_manifest(text, source=args.file)
        namespace = args.namespace or manifest.namespace or "default"
        name = args.name or manifest.name or str(manifest.spec.get("course", {}).get("path"))
        report = apply_course(Settings.from_env(), manifest.spec, name=name,
                              namespace=namespace, credentials=_credentials(),
                              dry_run=args.dry_run,
                              progress=None if args.output == "json" else _progress)
    except SpecError as err:
        output.fail(str(err))
        return 2
    except CourseError as err:
        output.fail(f"{type(err).__name__}: {err}")
        return 1
    if args.output == "json":
        output.emit_json(report.to_dict())
    else:
        _print(report)
        if args.verbose:
            output.phases(report.phases)
    if report.failed is not None:  # what happened is printed above; then what did not
        output.fail(str(report.failed))
        return 1
    return 0


def _progress(message: str) -> None:
    output.say((message, "dim"), err=True)


def _print(report: ApplyReport) -> None:
    verb = "would change" if report.dry_run else "changed"
    output.table(f"{report.course_path}: {len(report.actions)} action(s)",
                 ("action", "path", "from", "detail"),
                 [(a.op, a.path, a.from_path, a.detail) for a in report.actions])
    output.table("contents", ("path", "example", "version", "available", "state", "message"),
                 [(c["path"], c["example"], c["version"], c["availableVersion"], c["state"],
                   c["message"]) for c in report.contents])
    a = report.assignments
    lines = [f"assignments: {verb if a.changed else 'unchanged'} ({(a.commit or '-')[:12]})"]
    lines += [f"{key} project: {p['webUrl']}" for key, p in report.projects.items()]
    if report.student_template is not None:
        t = report.student_template
        lines.append(f"student template: {verb if t.changed else 'unchanged'} "
                     f"({(t.commit or '-')[:12]})")
    output.say("\n".join(lines))


def _status(args: argparse.Namespace) -> int:
    try:
        status = course_status(Settings.from_env(), args.course)
    except (LookupError, ValueError) as err:
        output.fail(str(err.args[0]))
        return 1
    except CourseError as err:
        output.fail(f"{type(err).__name__}: {err}")
        return 1
    if args.output == "json":
        output.emit_json(status.to_dict())
        return 0
    title = (f"{status.path} (CourseStructure {status.namespace}/{status.name}"
             f"{', deleted: course archived' if status.archived else ''})")
    requests = any(r["request"] for r in status.contents)  # a column only where there are
    output.table(title, ("path", "example", "deployed version", "desired", "available",
                         "state", "customised", "outcome",
                         *(("merge request",) if requests else ())),
                 [(r["path"], r["example"], _deployed(r),
                   _desired(r) if r["example"] else "", r["availableVersion"] or "",
                   r["state"], "yes" if r["customized"] else "", r["message"] or "",
                   *((r["request"] or "",) if requests else ()))
                  for r in status.contents])
    return 0


def _deployed(row: dict) -> str:
    return row["version"] or (version_label(None, row["digest"]) if row["digest"] else "")


def _desired(row: dict) -> str:
    """The spec's `version` as written; omitted = pinned to the version first deployed."""
    return row["desiredVersion"] or f"pinned ({_deployed(row) or '-'})"
