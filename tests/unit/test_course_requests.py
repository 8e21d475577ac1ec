"""Merge requests for update branches: their text, and the decision per branch (pure)."""

from __future__ import annotations

from dataclasses import replace

from controller.course.plan import BranchOp, Content, State
from controller.course.requests import Do, decide, marker, wanted
from controller.store.hosting import Request

BRANCH = "exlib/update/uni.prog.py101/week1.calc"
ROW = Content(id="r1", spec_id="week1.calc", path="week1.calc", type="exercise",
              kind="assignment", title="Calc", position=1.0, identifier="calc", tag="1.0.0",
              state=State.UPDATE_CONFLICT.value, pending_key="key-1.1", pending_tag="1.1.0",
              update_branch=BRANCH, update_commit="c1")
CONFLICT = BranchOp("r1", "week1.calc", BRANCH, "T", "msg", example="calc", old="1.0.0",
                    new="1.1.0", conflicts=("content/index.md (changed by the lecturer and in "
                                            "the library)", "logo.png (binary, changed by both)"))


def want(op: BranchOp = CONFLICT, row: Content = ROW):
    return wanted(op, row, target_branch="main", base="course")


def request(w, state: str = "open", **kw: object) -> Request:
    return Request(number=7, url="http://git.example/o/p/pulls/7", state=state,  # type: ignore[arg-type]
                   source_branch=w.branch, target_branch="main",
                   title=str(kw.get("title", w.title)),
                   description=str(kw.get("description", w.description)))


def test_conflict_request_names_example_path_versions_files_and_how_to_resolve() -> None:
    w = want()
    assert w.title == "exlib: update week1.calc (calc 1.0.0 \u2192 1.1.0)"
    text = w.description
    assert "**calc 1.1.0**" in text and "`course/week1/calc`" in text
    assert "- `content/index.md` (changed by the lecturer and in the library)" in text
    assert "- `logo.png` (binary, changed by both)" in text
    assert f"git switch {BRANCH}" in text and "Merge this request" in text
    assert "close this request and set `updateStrategy: keep`" in text
    assert marker(text) == "key-1.1"


def test_review_request_lists_the_library_changes() -> None:
    op = replace(CONFLICT, conflicts=(), changes=("hints.md (added)", "calc.py (changed)"))
    text = want(op, replace(ROW, state=State.UPDATE_REVIEW.value)).description
    assert "without conflicts" in text and "updateStrategy: review" in text
    assert "- `hints.md` (added)" in text and "Files with conflicts" not in text


def test_long_file_lists_and_titles_are_bounded() -> None:
    op = replace(CONFLICT, conflicts=tuple(f"f{i}.py (changed)" for i in range(80)))
    text = want(op).description
    assert "- `f49.py`" in text and "f50.py" not in text and "- and 30 more" in text
    deep = ".".join(["level"] * 40)  # a 239-character content path
    title = want(op, replace(ROW, path=deep)).title
    assert len(title) == 255 and title.endswith("\u2026")


def test_decisions() -> None:
    w = want()
    assert decide(w, None) == Do.OPEN
    assert decide(w, request(w)) == Do.NOTHING
    # servers may store CRLF line ends or trim: still the same text, no write
    assert decide(w, request(w, description=w.description.replace("\n", "\r\n").strip())) \
        == Do.NOTHING
    assert decide(w, request(w, title="someone edited it")) == Do.UPDATE
    files_changed = want(replace(CONFLICT, conflicts=CONFLICT.conflicts[:1]))
    assert decide(files_changed, request(w)) == Do.UPDATE
    # a newer version (another pending key): the open request of the older one is superseded
    newer = want(replace(CONFLICT, new="1.2.0"), replace(ROW, pending_key="key-1.2"))
    assert decide(newer, request(w)) == Do.SUPERSEDE
    # ... and if a pass stopped after closing it, the next one opens the new request
    assert decide(newer, request(w, state="closed")) == Do.OPEN
    # the lecturer closed or merged the request of this very update: their decision stands
    assert decide(w, request(w, state="closed")) == Do.NOTHING
    assert decide(w, request(w, state="merged")) == Do.NOTHING
    # a request whose marker was removed by hand is not taken for this update's
    assert decide(w, request(w, description="edited by hand")) == Do.SUPERSEDE
    # no update needs the branch any more
    assert decide(None, request(w)) == Do.CLOSE
    assert decide(None, request(w, state="merged")) == Do.FORGET
    assert decide(None, None) == Do.FORGET
