"""Housekeeping of update branches (`exlib/update/<course path>/<node path>`, docs/updates.md).

A branch exlib pushed for a conflicting update is *finished* when no content needs it after
the pass: its update was resolved, applied, kept or merged otherwise, its node was removed,
or the course moved to another path (the conflict then lives on a branch under the new
path). A finished branch is deleted when

- it was **merged**: its tip is in the assignments head's history, or the head's directory
  equals the tip's (a squash merge) — nothing on it is lost;
- or it was **superseded** and only exlib committed on it: exlib can make it again.

A finished branch that carries someone else's commits not merged into the assignments branch
(a lecturer resolving on it) is never deleted. Branches are deleted after the pass's rows
are written, so a crash in between leaves a branch the next pass still recognises; the
next pass then finds it among the course's branches on the server and deletes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pygit2

from controller.course import paths
from controller.course.plan import ON_BRANCH, Action, Content, Op
from controller.store import git


@dataclass(frozen=True)
class Finished:
    """An update branch no conflict needs after the pass."""

    branch: str
    path: str  # the content path where the branch holds the directory
    after_path: str | None  # where that content is after the pass; None: archived or unknown
    spec_id: str = ""
    row_id: str = ""


def finished(before: Sequence[Content], after: Sequence[Content], listed: Iterable[str] = (),
             ) -> list[Finished]:
    """The update branches no conflict needs after the pass (pure): those live rows pointed
    at before it (the course may have moved since), and the course's branches found on the
    server (`listed`, named `<prefix>/<course path>/<content path>`), e.g. left by a pass
    that stopped between writing its rows and deleting."""
    wanted = {c.update_branch for c in after if c.state in ON_BRANCH and c.update_branch}
    live_after = {c.id: c.path for c in after if not c.archived}
    by_path = {c.path: c for c in after if not c.archived}
    out: dict[str, Finished] = {}
    for row in before:
        name = row.update_branch
        if row.archived or not name or name in wanted or name in out:
            continue
        out[name] = Finished(name, row.path, live_after.get(row.id), row.spec_id, row.id)
    for name in listed:
        if name in wanted or name in out:
            continue
        path = name.rsplit("/", 1)[-1]
        content = by_path.get(path)
        out[name] = Finished(name, path, path if content else None,
                             content.spec_id if content else "", content.id if content else "")
    return list(out.values())


def verdict(repo: pygit2.Repository, head: pygit2.Commit | None, tip: pygit2.Commit,
            done: Finished, base: str) -> str | None:
    """Why a finished branch may be deleted ("merged", "superseded"), None to keep it."""
    if head is not None and git.is_ancestor(repo, str(tip.id), str(head.id)):
        return "merged"
    if head is not None and done.after_path is not None:
        ours = git.entry_id(repo, head.tree, paths.directory(done.after_path, base))
        theirs = git.entry_id(repo, tip.tree, paths.directory(done.path, base))
        if ours is not None and ours == theirs:
            return "merged"
    return "superseded" if git.is_exlib_commit(tip) else None


def prune(repo: pygit2.Repository, head: pygit2.Commit | None, base: str,
          done: Sequence[Finished], tips: Callable[[list[str]], Mapping[str, pygit2.Commit]],
          delete: Callable[[str], None] | None, say: Callable[[str], None]
          ) -> tuple[Action, ...]:
    """Delete the finished branches that may go (`delete` None: only say which would).

    `tips` fetches the named branches (absent ones are left out); a failed deletion is said,
    not raised: the branch stays for someone to delete by hand.
    """
    if not done:
        return ()
    try:
        found = tips([d.branch for d in done])
    except git.GitError as err:
        say(f"could not read the finished update branches ({err}); left as they are")
        return ()
    actions: list[Action] = []
    for d in done:
        tip = found.get(d.branch)
        if tip is None:
            continue  # already gone
        why = verdict(repo, head, tip, d, base)
        if why is None:
            say(f"{d.branch} holds commits by others that are not merged: left as it is")
            continue
        if delete is not None:
            try:
                delete(d.branch)
            except git.GitError as err:
                say(f"could not delete {d.branch} ({err}); delete it by hand")
                continue
            say(f"deleted update branch {d.branch} ({why})")
        actions.append(Action(Op.DELETE_UPDATE_BRANCH, d.after_path or d.path, d.spec_id,
                              d.row_id, detail=f"{d.branch} ({why})"))
    return tuple(actions)
