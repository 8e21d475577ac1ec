"""Merge requests for update branches (pure): what each one should say, and what to do.

With a provider (spec.provider), every update branch that waits for a lecturer (a conflict,
or a clean merge under `updateStrategy: review`) is handed over as one merge request
(GitLab) / pull request (Gitea) into the assignments branch. One request per branch: later
passes update its text, a newer version supersedes it (closed with a comment, a new one
opened), and once no update needs the branch any more an open request is closed.

The pending update a request is for is written into its description as a hidden marker
(`<!-- exlib-update: ... -->`, invisible in both web UIs), so a pass recognises its own
request whatever happened since: a kill right after opening it (the next pass finds it and
does not open another), a lecturer editing the title, a newer version.

The provider calls live in `controller.course.hosting`; this module only decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from controller.course import paths
from controller.course.plan import BranchOp, Content, State
from controller.store.hosting import Request

MARKER = "<!-- exlib-update: {key} -->"
_MARKER = re.compile(r"<!-- exlib-update: (\S+) -->")
MAX_FILES_LISTED = 50
#: GitLab and Gitea keep at most 255 characters of a title; a longer one would be cut by the
#: server, differ from ours on every pass and be written again and again.
MAX_TITLE = 255


@dataclass(frozen=True)
class Wanted:
    """The request an update branch should have."""

    row_id: str
    path: str  # content path
    branch: str
    key: str  # the pending update it is for (marker)
    title: str
    description: str


class Do(StrEnum):
    """What a pass does with one update branch's request (decided here, done by the step)."""

    NOTHING = "nothing"  # the request says what it should (or the lecturer closed it)
    OPEN = "open"
    UPDATE = "update"  # same update, other text: edit title and description
    SUPERSEDE = "supersede"  # an open request of an older update: close it, open a new one
    CLOSE = "close"  # no update needs the branch: close the open request
    FORGET = "forget"  # no update needs it and it is closed or merged: drop its URL


def marker(description: str) -> str | None:
    """The update a request was opened for, from the hidden marker in its description:
    how a pass tells new text for the same update from a newer version."""
    found = _MARKER.search(description or "")
    return found.group(1) if found else None


def _same_text(a: str, b: str) -> bool:
    """Equal as a web UI shows them (servers may turn line ends into CRLF or trim)."""
    def norm(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n"))
    return norm(a) == norm(b)


def decide(want: Wanted | None, found: Request | None) -> Do:
    """What to do for one branch: `want` is None when no update needs it any more; `found`
    is the provider's open request from the branch, else its latest closed or merged one."""
    if want is None:
        return Do.CLOSE if found is not None and found.state == "open" else Do.FORGET
    if found is None:
        return Do.OPEN
    same_update = marker(found.description) == want.key
    if found.state != "open":
        # closed or merged for this update: the lecturer's decision stands (a merge is
        # recognised by the next pass); for an older update, this one needs its own
        return Do.NOTHING if same_update else Do.OPEN
    if not same_update:
        return Do.SUPERSEDE
    if found.title == want.title and _same_text(found.description, want.description):
        return Do.NOTHING
    return Do.UPDATE


def wanted(op: BranchOp, content: Content, *, target_branch: str, base: str) -> Wanted:
    """The request for the update branch `op` of `content` into `target_branch`."""
    directory = paths.directory(content.path, base)
    update = f"{op.example} {op.new}"
    title = _bounded(f"exlib: update {content.path} ({op.example} {op.old} \u2192 {op.new})")
    keep = ("To keep your version instead, close this request and set `updateStrategy: keep` "
            "on this assignment in the CourseStructure; exlib opens a new request when the "
            "library publishes a newer version.")
    steps = (f"1. Check out the branch: `git fetch origin && git switch {op.branch}`.\n")
    published = (f"The library published **{update}** for the assignment at `{directory}` "
                 f"(deployed: {op.example} {op.old}). ")
    merge = (f"3. Merge this request. exlib then records {update} as deployed and keeps your "
             "changes.\n")
    if op.conflicts:
        intro = (published + "You changed this assignment, and the "
                 "library changed the same parts, so exlib could not combine them on its own. "
                 "This branch holds the combination; the files below need you.")
        files = _files("Files with conflicts", op.conflicts)
        steps += ("2. In each file above, keep what you want between `<<<<<<< lecturer` and "
                  "`>>>>>>> library`, and delete the marker lines. A binary file keeps your "
                  "bytes; the library's version is next to it as `<name>.library<ext>`: keep "
                  "one of the two. Commit and push.\n" + merge)
    else:
        intro = (published + "exlib combined it with your changes "
                 "without conflicts, and because this course reviews every update "
                 "(`updateStrategy: review`), it waits here for you.")
        files = _files("What the library changed", op.changes)
        steps += ("2. Look at the changes (the Files tab of this request); commit on the "
                  "branch if you want to adjust anything.\n" + merge)
    key = f"{content.pending_key or op.new}"
    description = (f"{intro}\n\n{files}\n\n**How to resolve**\n\n{steps}\n{keep}\n\n"
                   f"{MARKER.format(key=key)}\n")
    return Wanted(content.id, content.path, op.branch, key, title, description)


def _bounded(title: str) -> str:
    return title if len(title) <= MAX_TITLE else title[:MAX_TITLE - 1] + "\u2026"


def _files(heading: str, items: tuple[str, ...]) -> str:
    shown = "\n".join(f"- `{_path(i)}`{_how(i)}" for i in items[:MAX_FILES_LISTED])
    more = len(items) - MAX_FILES_LISTED
    return f"**{heading}**\n\n{shown or '- (none)'}" + (
        f"\n- and {more} more" if more > 0 else "")


def _path(item: str) -> str:
    return item.split(" (", 1)[0]


def _how(item: str) -> str:
    _, sep, rest = item.partition(" (")
    return f" ({rest}" if sep else ""


def supersede_comment(old: Request, want: Wanted) -> str:
    """The comment closing a request of an older update (before the new one exists)."""
    return (f"exlib closed this request: a newer library version needs review ("
            f"{want.title.removeprefix('exlib: ')}). The update branch now holds it, and a "
            "new request follows.")


def link_comment(new: Request) -> str:
    """The second comment on a superseded request, once the new one exists to link."""
    return f"Superseded by {new.url}"


def close_comment(content: Content | None) -> str:
    """The comment closing a request no update needs any more, saying why."""
    if content is None:
        return ("exlib closed this request: the assignment is no longer in the course, so "
                "the update is not needed.")
    if content.state in (State.DEPLOYED.value, State.CUSTOMIZED.value) and content.tag:
        return (f"exlib closed this request: {content.identifier} {content.tag} is deployed "
                f"at {content.path} now ({content.message or 'nothing left to merge'}).")
    return (f"exlib closed this request: the update of {content.path} is not waiting on this "
            f"branch any more (state {content.state}"
            + (f": {content.message}" if content.message else "") + ").")
