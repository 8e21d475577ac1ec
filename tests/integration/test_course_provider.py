# ruff: noqa: F811  (the `env` fixture imported from the updates module is a parameter here)
"""Courses on a Git hosting provider (spec.provider): projects provisioned by the pass, and a
merge request for every update branch that waits for a lecturer (docs/updates.md).

GitLab cannot run here: the tests named `fake_gitlab` use the FAKE GitLab API
(tests/fakes/gitlab_server.py), which has no Git behind it, so they stop before the first
fetch. The end-to-end flows run on a real Gitea built by the repo (tests named `gitea`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gitlab
import pytest
import requests

from controller.cli import main as cli_main
from controller.cli import output
from controller.config import Settings
from controller.course.apply import ApplyReport, CourseCredentials, apply_course, plan_course
from controller.course.errors import ProviderFailed
from controller.operator.status import failure_reason
from controller.store import git
from controller.testing import killpoints
from tests.conftest import Gitea, Stack, unique
from tests.fakes.gitlab_server import FakeGitLab, fake_gitlab
from tests.integration.library_support import exlib
from tests.integration.operator_harness import Kubectl, Operator, condition, wait_condition
from tests.integration.test_course_deploy import Env, course
from tests.integration.test_course_updates import (  # noqa: F401  (env is a fixture)
    BRANCH,
    COURSE,
    DIR,
    NODE,
    TASK_LECTURER,
    TASK_V1,
    TASK_V11,
    TITLE_LECTURER,
    V11,
    Lecturer,
    calc,
    entry,
    env,
    index,
    node,
    publish,
    row,
)
from tests.integration.test_operator_e2e import edit_and_publish_conflict, manifests

FAKE_TOKEN = "fake-gitlab-token-not-a-secret"
READ_ONLY = "fake-gitlab-read-only-token"


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    with fake_gitlab() as server:
        server.add_token(FAKE_TOKEN)
        server.add_token(READ_ONLY, ("read_api",))
        yield server


def provider_course(kind: str, url: str, owner: str, contents: list[dict[str, Any]],
                    **extra: Any) -> dict[str, Any]:
    spec = course("", contents, repos=(), **extra)
    spec["provider"] = {"kind": kind, "url": url, "owner": owner,
                        "secretRef": {"name": "provider-token"}}
    spec["assignments"] = {"project": "assignments"}
    spec["studentTemplate"] = {"project": "template"}
    spec["course"]["title"] = "Programming 1 (winter 2026)"
    return spec


def test_fake_gitlab_token_without_scope_stops_the_pass_naming_scope_and_secret(
        settings: Settings, fake: FakeGitLab) -> None:
    spec = provider_course("gitlab", fake.url, unique("tugraz-"), [])
    with pytest.raises(ProviderFailed) as err:
        apply_course(settings, spec, name="prog1", namespace="teach",
                     credentials=CourseCredentials(provider_token=READ_ONLY))
    text = str(err.value)
    assert failure_reason(err.value) == "MissingScope"
    assert "scope `api`" in text and "Secret teach/provider-token (key `token`)" in text
    assert READ_ONLY not in text
    with pytest.raises(ProviderFailed) as missing:
        apply_course(settings, spec, name="prog1", namespace="teach")
    assert "no API token" in str(missing.value) and "Secret teach/provider-token" in str(
        missing.value)


def test_fake_gitlab_plan_looks_and_creates_nothing(settings: Settings, fake: FakeGitLab
                                                    ) -> None:
    owner = unique("tugraz-")
    spec = provider_course("gitlab", fake.url, owner, [])
    report = plan_course(settings, spec, name="prog1", namespace="teach",
                         credentials=CourseCredentials(provider_token=FAKE_TOKEN))
    assert [(str(a.op), a.detail) for a in report.actions if a.op != "student-template"] == [
        ("create-project", f"{owner}/assignments (does not exist yet)"),
        ("create-project", f"{owner}/template (does not exist yet)")]
    assert report.projects == {} and report.assignments.commit is None
    gl = gitlab.Gitlab(fake.url, private_token=FAKE_TOKEN, timeout=10)
    for path in (owner, f"{owner}/assignments"):
        with pytest.raises(gitlab.exceptions.GitlabGetError):
            (gl.groups if path == owner else gl.projects).get(path)


# ------------------------------------------------------------------ a real Gitea


@dataclass
class GiteaCourse:
    """A course whose projects live in a fresh organisation of the stack's Gitea."""

    env: Env
    gitea: Gitea
    owner: str
    spec: dict[str, Any]

    @property
    def creds(self) -> git.Credentials:
        return git.Credentials(token=self.gitea.token)

    def apply(self, *, token: str | None = None, dry_run: bool = False) -> ApplyReport:
        return apply_course(self.env.settings, self.spec, name="py101", namespace="default",
                            credentials=CourseCredentials(
                                provider_token=token or self.gitea.token), dry_run=dry_run)

    def api(self, method: str, path: str, **kw: Any) -> Any:
        res = requests.request(method, f"{self.gitea.url}/api/v1{path}", timeout=30,
                               headers={"Authorization": f"token {self.gitea.token}"}, **kw)
        assert res.ok, f"{method} {path}: HTTP {res.status_code} {res.text[:300]}"
        return res.json() if res.content else None

    def repo(self, name: str = "assignments") -> dict[str, Any]:
        return self.api("GET", f"/repos/{self.owner}/{name}")

    def pulls(self) -> list[dict[str, Any]]:
        return self.api("GET", f"/repos/{self.owner}/assignments/pulls",
                        params={"state": "all", "limit": 50})

    def seen(self) -> list[tuple[Any, ...]]:
        """The pull requests as a person sees them (Gitea updates its own fields, such as
        mergeability, in the background)."""
        return [(p["number"], p["state"], p["title"], p["body"]) for p in self.pulls()]

    def comments(self, number: int) -> list[str]:
        return [c["body"] for c in self.api(
            "GET", f"/repos/{self.owner}/assignments/issues/{number}/comments")]

    def lecturer(self) -> Lecturer:
        url = self.repo()["clone_url"]
        return Lecturer(url, self.creds, self.env.tmp / unique("lecturer-"))

    def merge(self, number: int) -> None:
        """Merge the pull request as the lecturer does in Gitea's web UI (the merge button's
        API); Gitea checks mergeability in the background first."""
        deadline = time.monotonic() + 60
        path = f"/api/v1/repos/{self.owner}/assignments/pulls/{number}/merge"
        while True:
            res = requests.post(f"{self.gitea.url}{path}", json={"Do": "merge"}, timeout=30,
                                headers={"Authorization": f"token {self.gitea.token}"})
            if res.ok:
                return
            assert time.monotonic() < deadline, f"merge: HTTP {res.status_code} {res.text}"
            time.sleep(0.5)


@pytest.fixture
def on_gitea(env: Env, gitea: Gitea) -> GiteaCourse:
    owner = unique("prog1-")
    spec = provider_course("gitea", gitea.url, owner, [])
    spec["exampleRepositories"] = ["lib"]
    return GiteaCourse(env, gitea, owner, spec)


def calc_nodes(**kw: Any) -> list[dict[str, Any]]:
    return [{"path": "week1", "type": "week", "contents": [node(version="^1.0", **kw)]}]


def test_gitea_provisioning_from_nothing_then_idle(on_gitea: GiteaCourse) -> None:
    c = on_gitea
    publish(c.env, calc=calc())
    c.spec["contents"] = calc_nodes()
    report = c.apply()
    assert [a.op for a in report.actions[:2]] == ["create-project", "create-project"]
    for key, name, what in (("assignments", "assignments", "assignments"),
                            ("studentTemplate", "template", "student template")):
        repo = c.repo(name)
        assert repo["private"] and repo["description"] == (
            f"Programming 1 (winter 2026): {what}")
        assert report.projects[key] == {"webUrl": repo["html_url"],
                                        "path": f"{c.owner}/{name}"}
        rules = c.api("GET", f"/repos/{c.owner}/{name}/branch_protections")
        assert [(r["rule_name"], r["enable_force_push"]) for r in rules] == [("main", False)]
    lecturer = c.lecturer()
    assert f"{DIR}/content/index.md" in lecturer.files()  # deployed with the provider token
    assert report.assignments.commit == str(lecturer.tip("main").id)
    again = c.apply()
    assert again.actions == () and not again.assignments.changed
    assert again.projects == report.projects


def test_gitea_adopts_existing_projects_as_they_are(on_gitea: GiteaCourse) -> None:
    c = on_gitea
    c.api("POST", "/orgs", json={"username": c.owner, "visibility": "public"})
    for name in ("assignments", "template"):
        c.api("POST", f"/orgs/{c.owner}/repos", json={
            "name": name, "private": False, "description": "made by hand", "auto_init": True,
            "default_branch": "main"})
    first = str(c.lecturer().tip("main").id)
    publish(c.env, calc=calc())
    c.spec["contents"] = calc_nodes()
    report = c.apply()
    assert "create-project" not in [a.op for a in report.actions]
    repo = c.repo()
    assert (repo["private"], repo["description"]) == (False, "made by hand")  # not changed
    rules = c.api("GET", f"/repos/{c.owner}/assignments/branch_protections")
    assert [(r["rule_name"], r["enable_force_push"]) for r in rules] == [("main", False)]
    lecturer = c.lecturer()
    head = lecturer.tip("main")
    assert str(head.parents[0].id) == first  # exlib committed on top of what was there
    assert "README.md" in lecturer.files() and f"{DIR}/meta.yaml" in lecturer.files()


def test_gitea_token_without_scope_names_the_scope(on_gitea: GiteaCourse) -> None:
    c = on_gitea
    res = requests.post(f"{c.gitea.url}/api/v1/users/{c.gitea.user}/tokens", timeout=30,
                        auth=(c.gitea.user, c.gitea.password),
                        json={"name": unique("read-only-"),
                              "scopes": ["read:repository", "read:organization", "read:user"]})
    assert res.ok, res.text
    with pytest.raises(ProviderFailed) as err:
        c.apply(token=res.json()["sha1"])
    assert failure_reason(err.value) == "MissingScope"
    assert "lacks the scope `write:organization`" in str(err.value)
    assert "Secret default/provider-token" in str(err.value)


def conflict(c: GiteaCourse, strategy: str = "merge") -> tuple[Lecturer, str]:
    """calc 1.0.0 deployed, the lecturer rewords the task, 1.1.0 changes the same line."""
    publish(c.env, calc=calc())
    c.spec["contents"] = calc_nodes(updateStrategy=strategy)
    c.apply()
    lecturer = c.lecturer()
    text = index(lecturer.dir_files()).replace(TASK_V1, TASK_LECTURER)
    lecturer.edit({"content/index.md": text})
    publish(c.env, calc=calc("1.1.0", **V11))
    return lecturer, text


def test_gitea_conflict_request_opened_updated_superseded_and_merged(on_gitea: GiteaCourse
                                                                     ) -> None:
    c = on_gitea
    lecturer, text = conflict(c)
    report = c.apply()
    assert entry(report)["state"] == "UpdateConflict"
    [pr] = c.pulls()
    assert (pr["state"], pr["head"]["ref"], pr["base"]["ref"]) == ("open", BRANCH, "main")
    assert pr["title"] == "exlib: update week1.calc (calc 1.0.0 \u2192 1.1.0)"
    assert "- `content/index.md` (changed by the lecturer and in the library)" in pr["body"]
    assert f"git switch {BRANCH}" in pr["body"]
    assert entry(report)["request"] == pr["html_url"] == row(c.env).update_request_url
    assert [a.detail for a in report.actions if a.op == "open-request"] == [
        f"{pr['html_url']}: {pr['title']}"]

    # a pass with nothing new: no write (same request, untouched), no second request
    before = c.seen()
    again = c.apply()
    assert [a for a in again.actions if "request" in a.op] == []
    assert c.seen() == before

    # the lecturer also writes the hints file 1.1.0 adds: the same update, one more file in
    # conflict -> the request is edited, not duplicated
    lecturer.edit({"hints.md": "My own hints.\n"})
    edited = c.apply()
    [pr2] = c.pulls()
    assert pr2["number"] == pr["number"] and "- `hints.md`" in pr2["body"]
    assert [a.op for a in edited.actions if "request" in a.op] == ["update-request"]

    # a newer version supersedes the request: closed with comments, a new one opened
    publish(c.env, calc=calc("1.2.0", code="\n# 1.2\n", task=TASK_V11 + " Now with sub.",
                             extra=V11["extra"]))
    newer = c.apply()
    pulls = {p["number"]: p for p in c.pulls()}
    assert len(pulls) == 2
    old, new = pulls[pr["number"]], next(p for n, p in pulls.items() if n != pr["number"])
    assert old["state"] == "closed" and not old["merged"]
    assert new["state"] == "open" and "calc 1.0.0 \u2192 1.2.0" in new["title"]
    comments = c.comments(pr["number"])
    assert any("calc 1.0.0 \u2192 1.2.0" in t for t in comments)
    assert any(new["html_url"] in t for t in comments)
    assert entry(newer)["request"] == new["html_url"]
    assert "- `content/index.md`" in new["body"]

    # the lecturer resolves on the branch and merges through Gitea
    tip = lecturer.tip(BRANCH)
    assert tip is not None
    resolved = {f"{DIR}/{p}": d for p, d in lecturer.files_at(tip, DIR).items()}
    resolved[f"{DIR}/content/index.md"] = text.replace(TASK_LECTURER, "Resolved by hand.")
    resolved[f"{DIR}/hints.md"] = b"My own hints.\n"
    lecturer.push_to(BRANCH, lecturer.commit(tip, resolved, "resolve the update"))
    c.merge(new["number"])
    done = c.apply()
    state = row(c.env)
    assert (state.tag, state.deployment_state, state.is_customized) == (
        "1.2.0", "Customized", True)
    assert "Resolved by hand." in index(lecturer.dir_files())  # the customisation is kept
    assert "resolved" in [a.op for a in done.actions]
    pulls = {p["number"]: p for p in c.pulls()}
    assert len(pulls) == 2 and pulls[new["number"]]["merged"]  # nothing new opened
    assert state.update_request_url is None and entry(done)["request"] is None
    again = c.apply()
    assert again.actions == () and len(c.pulls()) == 2


def test_gitea_pass_killed_after_opening_a_request_does_not_open_another(
        on_gitea: GiteaCourse, monkeypatch: pytest.MonkeyPatch) -> None:
    """`exlib apply` SIGKILLed between opening the request and recording its URL: the next
    pass finds the request on the server (find first, always) instead of opening another."""
    c = on_gitea
    conflict(c)
    manifest = c.env.cli_manifest(monkeypatch, c.spec)
    killed = exlib("apply", "-f", str(manifest), env={
        "EXLIB_PROVIDER_TOKEN": c.gitea.token,
        killpoints.ENV: f"{killpoints.COURSE_AFTER_REQUEST}@{os.getpid()}"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    [pr] = c.pulls()
    assert row(c.env).update_request_url is None  # opened, not recorded
    before = c.seen()
    report = c.apply()
    assert c.seen() == before
    assert [a for a in report.actions if "request" in a.op] == []
    assert row(c.env).update_request_url == pr["html_url"] == entry(report)["request"]


def test_gitea_request_no_update_needs_is_closed_saying_why(on_gitea: GiteaCourse) -> None:
    """The lecturer keeps their version (updateStrategy keep): the request is closed with
    exlib's comment before the branch is deleted (Gitea would close it without a word)."""
    c = on_gitea
    conflict(c)
    c.apply()
    [pr] = c.pulls()
    c.spec["contents"] = calc_nodes(updateStrategy="keep")
    report = c.apply()
    assert entry(report)["state"] == "UpdateAvailable" and entry(report)["request"] is None
    [closed] = c.pulls()
    assert closed["number"] == pr["number"] and closed["state"] == "closed"
    assert not closed["merged"]
    assert any("exlib closed this request: the update of week1.calc is not waiting" in t
               and "UpdateAvailable" in t for t in c.comments(pr["number"]))
    assert [a.op for a in report.actions if "request" in a.op or "branch" in a.op] == [
        "close-request", "delete-update-branch"]
    assert row(c.env).update_request_url is None


def test_gitea_request_of_a_removed_assignment_is_closed(on_gitea: GiteaCourse) -> None:
    c = on_gitea
    conflict(c)
    c.apply()
    [pr] = c.pulls()
    c.spec["contents"] = [{"path": "week1", "type": "week", "contents": []}]
    c.apply()
    [closed] = c.pulls()
    assert closed["number"] == pr["number"] and closed["state"] == "closed"
    assert any("no longer in the course" in t for t in c.comments(pr["number"]))
    assert c.env.sql("SELECT update_request_url FROM course_content WHERE path = :p",
                     p="week1.calc")[0].update_request_url is None


def test_gitea_review_hands_a_clean_update_over_as_a_request(on_gitea: GiteaCourse) -> None:
    c = on_gitea
    publish(c.env, calc=calc())
    c.spec["contents"] = calc_nodes(updateStrategy="review")
    c.apply()
    lecturer = c.lecturer()
    text = index(lecturer.dir_files()).replace("# Calculator\n", TITLE_LECTURER + "\n")
    edited = lecturer.edit({"content/index.md": text})
    publish(c.env, calc=calc("1.1.0", **V11))
    report = c.apply()
    assert entry(report)["state"] == "UpdateReview"
    assert str(lecturer.tip("main").id) == edited  # nothing merged into the course
    [pr] = c.pulls()
    assert "calc 1.0.0 \u2192 1.1.0" in pr["title"] and "without conflicts" in pr["body"]
    assert "- `hints.md` (added)" in pr["body"]
    proposed = lecturer.files_at(lecturer.tip(BRANCH), DIR)
    assert TITLE_LECTURER in index(proposed) and TASK_V11 in index(proposed)
    assert report.counts["updateAvailable"] == 1 and report.counts["conflicts"] == 0
    c.merge(pr["number"])
    c.apply()
    assert (row(c.env).tag, row(c.env).deployment_state) == ("1.1.0", "Customized")
    assert len(c.pulls()) == 1


def test_gitea_plan_says_which_request_it_would_open_and_status_shows_it(
        on_gitea: GiteaCourse, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    c = on_gitea
    conflict(c)
    report = c.apply(dry_run=True)
    assert [a.op for a in report.actions if "request" in a.op] == ["open-request"]
    assert c.pulls() == []
    c.apply()
    [pr] = c.pulls()
    c.env.cli_manifest(monkeypatch, c.spec)  # the CLI's environment: this stack and database
    assert cli_main(["status", COURSE, "-o", "json"]) == 0
    shown = {r["path"]: r for r in json.loads(capsys.readouterr().out)["contents"]}
    assert shown[NODE]["request"] == pr["html_url"]
    monkeypatch.setattr(output.stdout, "width", 400)  # no folded cells
    assert cli_main(["status", COURSE]) == 0
    table = capsys.readouterr().out
    assert "merge request" in table and pr["html_url"] in table


def test_gitea_through_the_operator_projects_missing_scope_and_the_conflict_request(
        stack: Stack, gitea: Gitea, kubectl: Kubectl, operator: Operator,
        course_setup: dict[str, str]) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    owner = unique("prog1-")
    spec = docs[2]["spec"]
    spec.update(provider={"kind": "gitea", "url": gitea.url, "owner": owner,
                          "secretRef": {"name": "gitea"}},
                assignments={"project": "assignments"}, studentTemplate={"project": "template"},
                updateStrategy="merge")
    spec["contents"][0]["contents"][0]["version"] = "^1.0"
    res = requests.post(f"{gitea.url}/api/v1/users/{gitea.user}/tokens", timeout=30,
                        auth=(gitea.user, gitea.password),
                        json={"name": unique("read-only-"),
                              "scopes": ["read:repository", "read:organization", "read:user"]})
    assert res.ok, res.text
    limited = {**docs[2], "metadata": {"name": "limited"},
               "spec": {**spec, "course": {**spec["course"], "path": unique("uni.prog1.l")},
                        "provider": {**spec["provider"], "owner": unique("other-"),
                                     "secretRef": {"name": "limited"}}}}
    kubectl.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gitea"},
         "stringData": {"token": gitea.token}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "limited"},
         "stringData": {"token": res.json()["sha1"]}}, *docs, limited)
    course = wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    projects = course["status"]["projects"]
    assert projects["assignments"] == {"webUrl": f"{gitea.url}/{owner}/assignments",
                                       "path": f"{owner}/assignments"}
    assert projects["studentTemplate"]["path"] == f"{owner}/template"
    assert course["status"]["counts"]["deployed"] == 3
    wide = kubectl("get", "course", "prog1", "-o", "wide").stdout
    assert f"{gitea.url}/{owner}/assignments" in wide
    refused = wait_condition(kubectl, "course", "limited", "Ready", "False", operator)
    ready = condition(refused, "Ready")
    assert ready is not None and ready["reason"] == "MissingScope"
    assert "write:organization" in ready["message"] and "limited" in ready["message"]
    assert res.json()["sha1"] not in json.dumps(refused)
    # a lecturer's edit and a library version changing the same line: the operator opens a
    # pull request and shows it in the condition, the content entry and the Events
    clone = requests.get(f"{gitea.url}/api/v1/repos/{owner}/assignments", timeout=30,
                         headers={"Authorization": f"token {gitea.token}"}).json()["clone_url"]
    edit_and_publish_conflict(kubectl, gitea.token, clone, course_setup["examples"],
                              stack.git_token)
    obj = wait_condition(kubectl, "course", "prog1", "UpdateConflict", "True", operator)
    [pr] = requests.get(f"{gitea.url}/api/v1/repos/{owner}/assignments/pulls", timeout=30,
                        headers={"Authorization": f"token {gitea.token}"}).json()
    url = pr["html_url"]
    listed = {c["path"]: c for c in obj["status"]["contents"]}
    assert listed["week1.hello_world"]["request"] == url
    assert condition(obj, "UpdateConflict")["message"].endswith(f"merge request: {url}")
    events = [(e["reason"], e["message"]) for e in kubectl.events("prog1")]
    for reason, text in (("RequestOpened", url), ("UpdateConflict", url),
                         ("ProjectCreated", f"created project {owner}/assignments"),
                         ("ProjectCreated", f"created project {owner}/template")):
        assert any(r == reason and text in m for r, m in events), (reason, events)

    # deleting the CourseStructure never deletes its projects
    kubectl("delete", "course", "prog1", "--timeout=60s")
    assert requests.get(f"{gitea.url}/api/v1/repos/{owner}/assignments", timeout=30,
                        headers={"Authorization": f"token {gitea.token}"}).ok


def test_fake_gitlab_conflict_merge_request_superseded_and_merged(env: Env) -> None:
    """The same flow through the GitLab client, against the FAKE GitLab API, with the
    projects' Git repositories on the stack's real Git server (the fake has no Git). The
    projects name a secretRef of their own, so Git uses those credentials, not the API token.
    """
    repos = {"assignments": env.repo(), "template": env.repo()}
    with fake_gitlab(git_url=lambda path: repos[path.rsplit("/", 1)[-1]]) as fake:
        fake.add_token(FAKE_TOKEN)
        owner = unique("tugraz-") + "/prog1"
        spec = provider_course("gitlab", fake.url, owner, calc_nodes(updateStrategy="merge"))
        spec["exampleRepositories"] = ["lib"]
        for key in ("assignments", "studentTemplate"):
            spec[key]["secretRef"] = {"name": "git"}
        creds = CourseCredentials(env.creds, env.creds, provider_token=FAKE_TOKEN)

        def apply() -> ApplyReport:
            return apply_course(env.settings, spec, name="py101", namespace="default",
                                credentials=creds)

        gl = gitlab.Gitlab(fake.url, private_token=FAKE_TOKEN, timeout=10)
        publish(env, calc=calc())
        first = apply()
        assert first.projects["assignments"]["path"] == f"{owner}/assignments"
        project = gl.projects.get(f"{owner}/assignments")
        assert project.visibility == "private"
        assert project.description == "Programming 1 (winter 2026): assignments"
        lecturer = Lecturer(repos["assignments"], env.creds, env.tmp / unique("lecturer-"))
        text = index(lecturer.dir_files()).replace(TASK_V1, TASK_LECTURER)
        lecturer.edit({"content/index.md": text})
        publish(env, calc=calc("1.1.0", **V11))

        report = apply()
        [mr] = project.mergerequests.list(state="all", get_all=True)
        assert (mr.state, mr.source_branch, mr.target_branch) == ("opened", BRANCH, "main")
        assert mr.title == "exlib: update week1.calc (calc 1.0.0 \u2192 1.1.0)"
        assert "- `content/index.md` (changed by the lecturer" in mr.description
        assert entry(report)["request"] == mr.web_url == row(env).update_request_url
        idle = apply()
        assert [a for a in idle.actions if "request" in a.op] == []

        publish(env, calc=calc("1.2.0", code="\n# 1.2\n", task=TASK_V11 + " Now with sub.",
                               extra=V11["extra"]))
        apply()
        old, new = sorted(project.mergerequests.list(state="all", get_all=True),
                          key=lambda m: m.iid)
        assert (old.state, new.state) == ("closed", "opened")
        notes = [n.body for n in old.notes.list(get_all=True)]
        assert any("calc 1.0.0 \u2192 1.2.0" in n for n in notes)
        assert any(new.web_url in n for n in notes)

        # the lecturer resolves on the branch and merges (GitLab's merge button: a merge
        # commit on main, and the request marked merged)
        tip = lecturer.tip(BRANCH)
        assert tip is not None
        files = {f"{DIR}/{p}": d for p, d in lecturer.files_at(tip, DIR).items()}
        files[f"{DIR}/content/index.md"] = text.replace(TASK_LECTURER, "Resolved by hand.")
        fixed = lecturer.commit(tip, files, "resolve the update")
        lecturer.push_to(BRANCH, fixed)
        main = lecturer.tip("main")
        assert main is not None
        lecturer.push_to("main", lecturer.commit(main, files, f"Merge {BRANCH}", merge=fixed))
        fake.merge(f"{owner}/assignments", new.iid)
        done = apply()
        assert (row(env).tag, row(env).deployment_state) == ("1.2.0", "Customized")
        assert "resolved" in [a.op for a in done.actions]
        assert len(project.mergerequests.list(state="all", get_all=True)) == 2
        assert row(env).update_request_url is None
