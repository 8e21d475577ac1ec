"""`exlib sync`, `exlib validate` and `exlib examples list|search|show`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import Progress

from controller import config
from controller.cli import output
from controller.config import ConfigError, ExampleLimits, Settings
from controller.library import catalog
from controller.library.errors import SyncError, SyncRunning
from controller.library.report import ExampleReport, SyncStatus
from controller.library.source import SourceSpec
from controller.library.sync import SyncProgress, sync_repository, validate
from controller.meta.names import short_digest, version_label
from controller.store.db import session_scope, shared_engine
from controller.tenancy import Visibility
from controller.timeouts import parse_timeout


def register(sub: argparse._SubParsersAction) -> None:
    """`exlib sync`, `exlib validate` and `exlib examples ...`."""
    p = sub.add_parser("sync", help="sync a repository of examples into the library")
    p.add_argument("--name", required=True, help="repository name in the library")
    p.add_argument("--namespace", default="default")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--git", metavar="URL")
    where.add_argument("--s3", metavar="BUCKET/PREFIX")
    where.add_argument("dir", nargs="?", metavar="DIR", help="a local directory")
    p.add_argument("--ref", help="branch, tag or commit (Git; default: the remote's HEAD)")
    p.add_argument("--path", default="", help="sub-directory holding the examples")
    p.add_argument("--ignore", action="append", default=[], metavar="PATTERN",
                   help="gitignore-style pattern to leave out (repeatable)")
    p.add_argument("--token-env", default="EXLIB_GIT_TOKEN", metavar="VAR",
                   help="environment variable holding the Git token (default EXLIB_GIT_TOKEN)")
    p.add_argument("--username", help="Git username to send with the token or password "
                   "(password from EXLIB_GIT_PASSWORD)")
    p.add_argument("--s3-endpoint", help="S3 source endpoint host:port (default: "
                   "EXLIB_S3_ENDPOINT); keys from EXLIB_SOURCE_S3_ACCESS_KEY/SECRET_KEY")
    p.add_argument("--visibility", choices=("private", "restricted", "public"),
                   help="which namespaces' courses may use the examples (default: keep what "
                   "the library has; a new repository is private)")
    p.add_argument("--allow-namespace", action="append", default=[], metavar="NAMESPACE",
                   help="with --visibility restricted: a namespace that may use the examples "
                   "(repeatable)")
    p.add_argument("--timeout", metavar="DURATION",
                   help="bound of each network step: Git fetch, S3 request, database "
                   "statement (default 60s)")
    p.add_argument("--history", metavar="tags:GLOB",
                   help="also import every Git tag matching GLOB as a version")
    p.add_argument("--wait", type=float, default=600, metavar="SECONDS",
                   help="while another sync of the repository runs (another `exlib sync` or "
                   "the operator), wait this long for it to finish (default 600; 0: fail at "
                   "once)")
    output.add_output_flag(p)
    output.add_verbose_flag(p)
    p.set_defaults(func=_sync)

    v = sub.add_parser("validate", help="check examples (one or a tree), no services needed")
    v.add_argument("path", metavar="PATH")
    v.add_argument("--ignore", action="append", default=[], metavar="PATTERN")
    output.add_output_flag(v)
    v.set_defaults(func=_validate)

    ex = sub.add_parser("examples", help="browse the library")
    cmds = ex.add_subparsers(dest="examples_command", required=True, metavar="COMMAND")
    for name in ("list", "search"):
        s = cmds.add_parser(name, help=f"{name} examples")
        s.add_argument("--tag", action="append", default=[], help="has this tag (repeatable)")
        s.add_argument("--language")
        s.add_argument("--text", help="in identifier, title or description")
        s.add_argument("--repository")
        s.add_argument("--archived", action="store_true", help="include archived examples")
        output.add_output_flag(s)
        s.set_defaults(func=_search)
    show = cmds.add_parser("show", help="versions, dependencies and dependents of an example")
    show.add_argument("identifier")
    show.add_argument("--repository")
    output.add_output_flag(show)
    show.set_defaults(func=_show)


def _source(args: argparse.Namespace) -> SourceSpec:
    ignore = tuple(args.ignore)
    try:
        timeout = parse_timeout(args.timeout)
    except ValueError as err:
        raise ConfigError(f"--timeout: {err}") from None
    if args.git:
        creds = config.git_credentials(args.token_env, args.username)
        return SourceSpec("git", args.git, ref=args.ref, path=args.path, ignore=ignore,
                          credentials=creds, timeout=timeout)
    if args.s3:
        bucket, _, prefix = args.s3.partition("/")
        s3 = config.s3_source(args.s3_endpoint)
        return SourceSpec("s3", s3.endpoint, path=f"{prefix.strip('/')}/{args.path}".strip("/"),
                          bucket=bucket, insecure=not s3.secure, ignore=ignore,
                          s3_credentials=s3.credentials, timeout=timeout)
    return SourceSpec("dir", args.dir, path=args.path, ignore=ignore)


@contextmanager
def _progress(enabled: bool) -> Iterator[SyncProgress | None]:
    """A live progress line on stderr for people at a terminal; nothing for scripts."""
    if not enabled:
        yield None
        return
    with Progress(console=output.stderr, transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _print_examples(entries: list[ExampleReport], *, all_rows: bool) -> None:
    rows = [e for e in entries if all_rows or e.status != SyncStatus.UNCHANGED or e.warnings]
    if rows:
        output.table(None, ("status", "identifier", "directory", "version", "digest"),
                     ((e.status, e.identifier, e.directory, e.version,
                       short_digest(e.digest) or None) for e in rows))
    for e in entries:
        for msg in e.errors:
            output.say(("error", "red"), "   ", msg)
        for msg in e.warnings:
            output.say(("warning", "yellow"), " ", msg)


def _visibility(args: argparse.Namespace) -> Visibility | None:
    if args.allow_namespace and args.visibility != "restricted":
        raise ConfigError("--allow-namespace needs --visibility restricted")
    return Visibility.of(args.visibility, args.allow_namespace) if args.visibility else None


def _sync(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    source = _source(args)

    def waiting() -> None:
        output.say(f"a sync of {args.namespace}/{args.name} is running (another `exlib sync` "
                   f"or the operator); waiting up to {args.wait:g} s for it to finish",
                   err=True)

    try:
        with _progress(args.output == "table" and output.stderr.is_terminal) as progress:
            report = sync_repository(settings, source, name=args.name,
                                     namespace=args.namespace, progress=progress,
                                     history=args.history, wait=args.wait, on_wait=waiting,
                                     visibility=_visibility(args))
    except SyncRunning as err:
        output.fail(f"{err}; try again when it has finished, or wait longer with --wait "
                    "SECONDS")
        return 1
    except SyncError as err:
        output.fail(str(err))
        return 1
    if args.output == "json":
        output.emit_json(report.to_dict())
        return 0
    _print_examples(report.examples, all_rows=False)
    c = report.counts
    output.say(
        f"{args.name}: revision {report.revision[:12]}: {c['total']} examples, {c['new']} new, "
        f"{c['changed']} changed, {c['unchanged']} unchanged, {c['invalid']} invalid, "
        f"{c['archived']} archived; stored {report.uploaded_objects} objects")
    if args.verbose:
        output.phases(report.phases.seconds)
    return 0


def _validate(args: argparse.Namespace) -> int:
    try:
        entries = validate(SourceSpec("dir", args.path, ignore=tuple(args.ignore)),
                           ExampleLimits.from_env())
    except SyncError as err:
        output.fail(str(err))
        return 1
    if not entries:
        output.fail(f"no meta.yaml found in {args.path}")
        return 1
    failed = any(e.errors for e in entries)
    if args.output == "json":
        output.emit_json({"valid": not failed, "examples": [e.to_dict() for e in entries]})
    else:
        _print_examples(entries, all_rows=True)
        bad = sum(1 for e in entries if e.errors)
        output.say(f"{len(entries)} examples, {bad} with errors")
    return 1 if failed else 0


def _session_rows(fn: Callable[..., list[dict[str, Any]]], *args: object, **kwargs: object
                  ) -> list[dict[str, Any]]:
    with session_scope(shared_engine(Settings.from_env().database_url)) as session:
        return fn(session, *args, **kwargs)


def _search(args: argparse.Namespace) -> int:
    rows = _session_rows(catalog.search, tags=args.tag, language=args.language,
                         text=args.text, repository=args.repository, archived=args.archived)
    if args.output == "json":
        output.emit_json(rows)
        return 0
    output.table(None, ("identifier", "repository", "organization", "version", "language",
                        "tags", "title"),
                 ((r["identifier"], _repository(r), r["organization"], r["version"],
                   r["language"], ", ".join(r["tags"]), r["title"]) for r in rows))
    return 0


def _repository(row: dict[str, Any]) -> str:
    """`python-basics (Python basics)`: the name to type, and the title its spec gives."""
    title = row["repository_title"]
    return f"{row['repository']} ({title})" if title else row["repository"]


def _show(args: argparse.Namespace) -> int:
    found = _session_rows(catalog.show, args.identifier, args.repository)
    if not found:
        output.fail(f"no example `{args.identifier}` in the library; try `exlib examples "
                    "search --text ...`")
        return 1
    if args.output == "json":
        output.emit_json(found)
        return 0
    for ex in found:
        output.say((ex["identifier"], "bold"), f" ({_repository(ex)}, id {ex['id']})",
                   ("  archived", "red") if ex["archived_at"] else "")
        output.say(f"{ex['title'] or ''}  [{', '.join(ex['tags'])}]")
        output.table("versions", ("tag", "as written", "digest", "created", "latest"),
                     ((v["tag"], v["version"], version_label(None, v["digest"]), v["created_at"],
                       "*" if v["latest"] else "") for v in ex["versions"]))
        for title in ("dependencies", "dependents"):
            if ex[title]:
                output.table(title, ("identifier", "id", "constraint"),
                             ((d["identifier"], d["id"], d["constraint"] or "*")
                              for d in ex[title]))
    return 0
