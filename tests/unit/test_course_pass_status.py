"""The status a course pass reports (pure): what happened stays visible when a later step
fails, the commit that landed is announced once, and Blocked contents make Ready false."""

from __future__ import annotations

from typing import Any

from controller.course.apply import ApplyReport, RepoResult, Step, StepFailed
from controller.course.errors import CommitFailed
from controller.operator.course import _result
from controller.operator.status import Observation, summarise

HEAD = "c0ffee" * 6 + "abcd"


def content(path: str, state: str = "Deployed", message: str | None = None) -> dict[str, Any]:
    return {"path": path, "kind": "assignment", "state": state, "customized": False,
            "message": message, "example": "x", "version": "1.0.0"}


def report(*contents: dict[str, Any], changed: bool = True, landed: bool = True,
           failed: StepFailed | None = None, template: RepoResult | None = None
           ) -> ApplyReport:
    return ApplyReport("id", "org.fam.c1", RepoResult(HEAD, changed, landed), template, (),
                       contents, recorded=True, failed=failed)


def ready(result: Any) -> dict[str, Any]:
    conds = summarise([], Observation(1, problems=result.problems,
                                      ready_message=result.ready_message), "T")
    return {c["type"]: c for c in conds}


def test_a_failed_template_push_keeps_the_commit_counts_and_deployed_event() -> None:
    failed = StepFailed(Step.STUDENT_TEMPLATE, CommitFailed("student-template: refused"))
    result = _result(report(content("w.a"), content("w.b"), failed=failed), {}, {}, "c1")
    assert result.status["assignments"] == {"commit": HEAD}
    assert result.status["counts"]["deployed"] == 2
    assert "studentTemplate" not in result.status  # not known: keep what the last pass wrote
    assert [e[1] for e in result.events] == ["Deployed"]
    conds = ready(result)
    assert conds["StudentTemplateReady"]["status"] == "False"
    assert conds["Ready"]["status"] == "False"
    assert HEAD[:12] in conds["Ready"]["message"]
    assert "spec.studentTemplate" in conds["Ready"]["message"]


def test_a_commit_landed_by_an_interrupted_pass_is_announced_once() -> None:
    adopted = report(content("w.a"), changed=False, landed=True)
    assert [e[1] for e in _result(adopted, {}, {}, "c1").events] == ["Deployed"]
    shown = {"assignments": {"commit": HEAD}}
    assert _result(adopted, shown, {}, "c1").events == []
    lecturer = report(content("w.a"), changed=False, landed=False)  # someone else's head
    assert _result(lecturer, {}, {}, "c1").events == []


def test_blocked_contents_make_ready_false_with_the_first_paths() -> None:
    blocked = [content(f"w.b{i}", "Blocked", "holds content exlib did not deploy")
               for i in range(5)]
    conds = ready(_result(report(content("w.a"), *blocked), {}, {}, "c1"))
    assert conds["ContentBlocked"]["status"] == "True"
    assert conds["Ready"]["status"] == "False"
    message = conds["Ready"]["message"]
    assert message.startswith("5 assignment(s) not deployed: w.b0: holds content")
    assert "w.b2" in message and "w.b3" not in message and "2 more" in message


def test_provider_status_projects_requests_and_their_events() -> None:
    from dataclasses import replace

    from controller.course.plan import Action, Op

    url = "https://gitea.example.edu/prog1/assignments/pulls/3"
    conflicted = content("w.a", "UpdateConflict", "conflicts in a.py") | {"request": url}
    done = replace(
        report(conflicted, content("w.b", "Customized", "edited") | {"request": None}),
        actions=(Action(Op.CREATE_PROJECT, "", "", "", detail="prog1/assignments (https://x)"),
                 Action(Op.OPEN_REQUEST, "w.a", "w.a", "r1", detail=f"{url}: exlib: update"),),
        projects={"assignments": {"webUrl": "https://x", "path": "prog1/assignments"}},
        request_problems={"w.b": "the merge request could not be handed over (HTTP 500)"})
    result = _result(done, {}, {}, "c1")
    assert result.status["projects"] == {"assignments": {"webUrl": "https://x",
                                                         "path": "prog1/assignments"}}
    assert [c["request"] for c in result.status["contents"]] == [url, ""]
    assert ready(result)["UpdateConflict"]["message"].endswith(f"; merge request: {url}")
    events = [(t, r, m) for t, r, m in result.events if r != "Deployed"]
    assert events == [
        ("Normal", "ProjectCreated", "created project prog1/assignments (https://x)"),
        ("Normal", "RequestOpened", f"w.a: {url}: exlib: update"),
        ("Warning", "RequestFailed", "w.b: the merge request could not be handed over "
                                     "(HTTP 500)")]


def test_provider_failures_have_their_reason() -> None:
    from controller.course.errors import ProviderFailed
    from controller.operator.status import failure_reason
    from controller.store.hosting import HostingTimeout

    assert failure_reason(ProviderFailed("refused")) == "ProviderFailed"
    assert failure_reason(ProviderFailed("no scope", reason="MissingScope")) == "MissingScope"
    try:
        try:
            raise HostingTimeout("Gitea did not answer within 60 s")
        except HostingTimeout as err:
            raise ProviderFailed("project prog1/assignments: timed out") from err
    except ProviderFailed as wrapped:
        assert failure_reason(wrapped) == "Timeout"
