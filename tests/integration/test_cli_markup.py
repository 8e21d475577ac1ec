"""User text is shown as written by the real CLI (issue 9, "Output"): names, identifiers,
titles and messages holding Rich markup (`[/oops]`, `[red]ex5[/red]`) or emoji codes
(`:warning:`) are neither styled, dropped nor a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from controller.config import Settings
from controller.store import git
from tests.conftest import Stack
from tests.integration.library_support import meta
from tests.integration.test_course_deploy import Env
from tests.integration.test_course_updates import COURSE, calc, calc_course, node, publish

OOPS = "[/oops]"  # a directory `[` holding `oops]`: read as markup, a closing tag (crash)
RED = "[red]ex5[/red]"  # read as markup: shown as a red `ex5`
TITLE = ":warning: [bold]Five[/bold] [/]"
GLOB = "[ab]*.py"  # read as markup: the tag `[ab]` vanishes


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m controller.cli ARGS`, as a user runs it."""
    res = subprocess.run([sys.executable, "-m", "controller.cli", *args], capture_output=True,
                         text=True, env={**os.environ, "COLUMNS": "300", **(env or {})},
                         timeout=300)
    assert "Traceback" not in res.stderr, res.stderr
    return res


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """An invalid example in `[/oops]` (its identifier is `[/oops]` too) and a valid one in
    `[red]ex5[/red]` whose title holds markup and an emoji code, listing a file pattern that
    matches nothing (a warning quoting it)."""
    root = tmp_path / "lib"
    (root / OOPS).mkdir(parents=True)
    (root / OOPS / "meta.yaml").write_text(meta(OOPS))
    (root / RED).mkdir(parents=True)
    (root / RED / "meta.yaml").write_text(
        meta("markup.ex5", title=TITLE, properties={"studentSubmissionFiles": [GLOB]}))
    return root


def test_validate_shows_names_and_messages_as_written(library: Path) -> None:
    res = cli("validate", str(library))
    assert res.returncode == 1  # the `[/oops]` example is invalid
    assert f"│ {OOPS}" in res.stdout  # its directory, in the table
    assert f"{OOPS}/meta.yaml:1: slug: `{OOPS}` is not a valid identifier" in res.stdout
    assert f"│ {RED}" in res.stdout
    assert f"`{GLOB}` is listed in studentSubmissionFiles but no such file" in res.stdout
    assert "2 examples, 1 with errors" in res.stdout


def test_sync_examples_and_errors_show_user_text_as_written(stack: Stack, database_url: str,
                                                            library: Path,
                                                            tmp_path: Path) -> None:
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "c")}
    assert cli("db", "upgrade", env=env).returncode == 0
    sync = cli("sync", "--name", "lib", "--ignore", "[x]*.tmp", str(library), env=env)
    assert sync.returncode == 0, sync.stderr
    assert f"│ {OOPS}" in sync.stdout and f"`{OOPS}` is not a valid identifier" in sync.stdout
    listed = cli("examples", "list", env=env)
    assert TITLE in listed.stdout
    shown = cli("examples", "show", "markup.ex5", env=env)
    assert TITLE in shown.stdout
    missing = cli("examples", "show", RED, env=env)
    assert missing.returncode == 1
    assert f"no example `{RED}` in the library" in missing.stderr


def test_plan_and_status_show_user_text_as_written(stack: Stack, settings: Settings,
                                                   tmp_path: Path) -> None:
    """A spec with a node path `[red]ex5[/red]` (plan), and a file `[/oops].md` that
    conflicts on update, named in the status table."""
    env = Env(stack, settings, tmp_path, git.Credentials(token=stack.git_token))
    cli_env = {**stack.env, "DATABASE_URL": settings.database_url,
               "EXLIB_CACHE_DIR": str(settings.cache_dir)}
    publish(env, calc=calc(extra={f"{OOPS}.md": b"one\n"}))
    spec, lecturer, _ = calc_course(env, [node(version="^1.0", updateStrategy="merge",
                                               title=TITLE)], template=False)
    manifest = tmp_path / "course.yaml"
    manifest.write_text(yaml.safe_dump({**spec, "contents": [
        {**spec["contents"][0], "contents": [node(RED)]}]}))
    plan = cli("plan", "-f", str(manifest), env=cli_env)
    assert plan.returncode == 2
    assert f"(week1.{RED}): path: the label `{RED}` may only hold" in plan.stderr

    env.apply(spec)
    lecturer.edit({f"{OOPS}.md": "the lecturer's\n"})
    publish(env, calc=calc("1.1.0", extra={f"{OOPS}.md": b"two\n"}))
    env.apply(spec)
    status = cli("status", COURSE, env=cli_env)
    assert status.returncode == 0
    assert f"updating to calc 1.1.0 conflicts in {OOPS}.md" in status.stdout
    unknown = cli("status", OOPS, env=cli_env)  # not even a name: said so, not an SQL error
    assert unknown.returncode == 1
    assert f"`{OOPS}` is not namespace/name: `[` is not a namespace name" in unknown.stderr
