"""The Git hosting provider contract: the same scenarios against every provider.

Each scenario is one test, parametrised over the `provider` fixture:
- `gitea`: a real Gitea built and started by the repo (`hack/devstack up --with gitea`,
  through the session fixture `gitea`); tests make their own organisations.
- `gitlab-fake`: the FAKE GitLab REST API (tests/fakes/gitlab_server.py) driven by the real
  python-gitlab client. It hosts no Git, so scenarios that push take the `git_provider`
  fixture, parametrised only over the servers that do (HOSTS_GIT).
- `gitlab`: a real GitLab, only when EXLIB_TEST_GITLAB_URL and EXLIB_TEST_GITLAB_TOKEN are
  set (a token with scope `api` whose user may create top-level groups); otherwise every
  scenario is reported as skipped with that reason, never as passed. Each test creates
  its own group and deletes it afterwards.

A provider is added by a `Harness` subclass (what a person does on that server by hand:
create a project, look at its settings, merge a request) and an entry in HARNESSES (and in
MARKS when it needs the local stack).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import gitlab
import pygit2
import pytest
import requests

from controller.store import git
from controller.store.hosting import (
    HostingError,
    HostingTimeout,
    Kind,
    MissingScope,
    Project,
    Provider,
    ProviderConfig,
    connect,
)
from controller.timeouts import timed_out
from tests.conftest import Gitea, unique
from tests.fakes.gitlab_server import FakeGitLab
from tests.integration.test_timeouts import HangingServer, bounded

BRANCH = "main"
SOURCE = "exlib/update/week1/hello"
#: Bounds the wait for a real server's asynchronous work (a merge request's mergeability);
#: only keeps a regression from hanging the suite, not a measured duration.
SERVER_WORK_BOUND = 120.0


class Harness:
    """One provider under test, and what a person does on its server by hand."""

    kind: Kind

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    def config(self, owner: str, token: str | None = None) -> ProviderConfig:
        return ProviderConfig(kind=self.kind, url=self.url, owner=owner,
                              token=self.token if token is None else token, timeout=30)

    def connect(self, owner: str, token: str | None = None) -> Provider:
        return connect(self.config(owner, token))

    def new_owner(self) -> str:
        """A group/organisation path no other test uses (not created yet)."""
        raise NotImplementedError

    def token_without_scope(self) -> str:
        """A valid token for the same user that lacks the scope provisioning needs."""
        raise NotImplementedError

    def create_project_by_hand(self, owner: str, name: str, *, public: bool,
                               description: str) -> None:
        raise NotImplementedError

    def settings(self, project: Project) -> tuple[bool, str]:
        """(private, description) as the server has them."""
        raise NotImplementedError

    def protected(self, project: Project, branch: str) -> bool:
        """Whether `branch` is protected with force push refused."""
        raise NotImplementedError

    def owner_private(self, owner: str) -> bool:
        """Whether the group/organisation is private."""
        raise NotImplementedError

    def comments(self, project: Project, number: int) -> list[str]:
        raise NotImplementedError

    def merge_by_hand(self, project: Project, number: int) -> None:
        raise NotImplementedError

    def comment_by_hand(self, project: Project, number: int, body: str) -> None:
        raise NotImplementedError

    def credentials(self) -> git.Credentials:
        return git.Credentials(token=self.token)

    def push_branches(self, project: Project, tmp: Path) -> None:
        """BRANCH with a first commit and SOURCE one commit ahead of it, pushed with Git."""
        repo = pygit2.init_repository(str(tmp / "branches"), bare=True)
        base = _commit(repo, {"README.md": b"course\n"}, None)
        ahead = _commit(repo, {"README.md": b"course\n", "hello.py": b"print(1)\n"}, base)
        for branch, commit in ((BRANCH, base), (SOURCE, ahead)):
            git.push_branch(repo, project.clone_url, branch, commit, self.credentials(),
                            cache_dir=tmp)

    def close(self) -> None:
        """Remove what the test made on the server (never a project of someone else)."""


def _commit(repo: pygit2.Repository, files: dict[str, bytes], parent: str | None) -> str:
    tree = git.tree_from_files(repo, {p: (pygit2.GIT_FILEMODE_BLOB, d) for p, d in files.items()})
    return git.commit_tree(repo, tree, parent, "contract test")


class GitLabHarness(Harness):
    """A real GitLab: python-gitlab with the test token does what a person does by hand."""

    kind: Kind = "gitlab"

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, token)
        self.admin = gitlab.Gitlab(url, private_token=token, timeout=30)
        self._groups: list[str] = []
        self._tokens: list[int] = []

    def new_owner(self) -> str:
        owner = unique("exlib-contract-")
        self._groups.append(owner)
        return owner

    def token_without_scope(self) -> str:
        # GitLab 16.5+: a user's token may create a token for itself, of scope k8s_proxy only
        expires = (date.today() + timedelta(days=1)).isoformat()
        try:
            data: Any = self.admin.http_post("/user/personal_access_tokens", post_data={
                "name": unique("exlib-contract-"), "scopes": ["k8s_proxy"],
                "expires_at": expires})
        except gitlab.GitlabError as err:
            why = (f"this GitLab cannot make a token without scope `api` for the test "
                   f"(POST /user/personal_access_tokens: {err}); it needs GitLab 16.5+")
            pytest.skip(why)  # allowed: needs a real GitLab
        self._tokens.append(data["id"])
        return data["token"]

    def _group(self, path: str, public: bool) -> Any:
        try:
            return self.admin.groups.get(path)
        except gitlab.GitlabGetError:
            parent, _, leaf = path.rpartition("/")
            attrs = {"name": leaf, "path": leaf, "visibility": "public" if public else "private"}
            if parent:
                attrs["parent_id"] = self._group(parent, public).id
            return self.admin.groups.create(attrs)

    def create_project_by_hand(self, owner: str, name: str, *, public: bool,
                               description: str) -> None:
        self.admin.projects.create({"name": name, "path": name,
                                    "namespace_id": self._group(owner, public).id,
                                    "visibility": "public" if public else "private",
                                    "description": description})

    def settings(self, project: Project) -> tuple[bool, str]:
        found = self.admin.projects.get(project.path)
        return found.visibility == "private", found.description or ""

    def owner_private(self, owner: str) -> bool:
        return self.admin.groups.get(owner).visibility == "private"

    def protected(self, project: Project, branch: str) -> bool:
        try:
            rule = self.admin.projects.get(project.path).protectedbranches.get(branch)
        except gitlab.GitlabGetError:
            return False
        return rule.allow_force_push is False

    def comments(self, project: Project, number: int) -> list[str]:
        mr = self.admin.projects.get(project.path).mergerequests.get(number)
        return [note.body for note in mr.notes.list(get_all=True) if not note.system]

    def comment_by_hand(self, project: Project, number: int, body: str) -> None:
        self.admin.projects.get(project.path).mergerequests.get(number).notes.create(
            {"body": body})

    def merge_by_hand(self, project: Project, number: int) -> None:
        mr = self.admin.projects.get(project.path).mergerequests.get(number)
        deadline = time.monotonic() + SERVER_WORK_BOUND
        while True:  # GitLab checks mergeability in the background after opening
            try:
                mr.merge()
                return
            except gitlab.GitlabMRClosedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def close(self) -> None:
        for owner in self._groups:
            with contextlib.suppress(gitlab.GitlabGetError, gitlab.GitlabDeleteError):
                self.admin.groups.delete(owner)  # absent when a scenario failed early
        for token_id in self._tokens:
            self.admin.http_delete(f"/personal_access_tokens/{token_id}")


class FakeGitLabHarness(GitLabHarness):
    """The FAKE GitLab API: no Git, and merging is its admin helper."""

    def __init__(self) -> None:
        self.fake = FakeGitLab()
        super().__init__(self.fake.url, self.fake.add_token(unique("fake-token-")))

    def new_owner(self) -> str:
        return f"{unique('tugraz')}/prog1"

    def token_without_scope(self) -> str:
        return self.fake.add_token(unique("fake-read-repo-"), ("read_repository",))

    def push_branches(self, project: Project, tmp: Path) -> None:
        return None  # the fake does not check that a request's branches exist

    def merge_by_hand(self, project: Project, number: int) -> None:
        self.fake.merge(project.path, number)

    def close(self) -> None:
        self.fake.close()


class GiteaHarness(Harness):
    """A real Gitea: its REST API with the admin's token does what a person does by hand
    (limited tokens need the admin's password: Gitea makes tokens only for a password login).
    Its organisations stay: the stack's Gitea is deleted with the stack."""

    kind: Kind = "gitea"

    def __init__(self, server: Gitea) -> None:
        super().__init__(server.url, server.token)
        self.server = server

    def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        if "auth" not in kwargs:
            kwargs["headers"] = {"Authorization": f"token {self.token}"}
        res = requests.request(method, f"{self.url}/api/v1{path}", timeout=30, **kwargs)
        assert res.ok, f"{method} {path}: HTTP {res.status_code} {res.text[:500]}"
        return res.json() if res.content else None

    def new_owner(self) -> str:
        return unique("exlib-contract-")

    def token_without_scope(self) -> str:
        return self._api("POST", f"/users/{self.server.user}/tokens",
                         auth=(self.server.user, self.server.password),
                         json={"name": unique("read-only-"),
                               "scopes": ["read:repository", "read:organization", "read:user",
                                          "read:issue"]})["sha1"]

    def create_project_by_hand(self, owner: str, name: str, *, public: bool,
                               description: str) -> None:
        self._api("POST", "/orgs", json={"username": owner,
                                         "visibility": "public" if public else "private"})
        self._api("POST", f"/orgs/{owner}/repos", json={
            "name": name, "private": not public, "description": description,
            "auto_init": True, "default_branch": BRANCH})

    def settings(self, project: Project) -> tuple[bool, str]:
        repo = self._api("GET", f"/repos/{project.path}")
        return repo["private"], repo["description"]

    def owner_private(self, owner: str) -> bool:
        return self._api("GET", f"/orgs/{owner}")["visibility"] == "private"

    def protected(self, project: Project, branch: str) -> bool:
        rules = self._api("GET", f"/repos/{project.path}/branch_protections")
        return any(r["rule_name"] == branch and not r["enable_force_push"] for r in rules)

    def comments(self, project: Project, number: int) -> list[str]:
        return [c["body"] for c in
                self._api("GET", f"/repos/{project.path}/issues/{number}/comments")]

    def comment_by_hand(self, project: Project, number: int, body: str) -> None:
        self._api("POST", f"/repos/{project.path}/issues/{number}/comments", json={"body": body})

    def merge_by_hand(self, project: Project, number: int) -> None:
        deadline = time.monotonic() + SERVER_WORK_BOUND
        while True:  # Gitea checks mergeability in the background after opening
            res = requests.post(f"{self.url}/api/v1/repos/{project.path}/pulls/{number}/merge",
                                json={"Do": "merge"}, timeout=30,
                                headers={"Authorization": f"token {self.token}"})
            if res.ok:
                return
            assert time.monotonic() < deadline, f"merge: HTTP {res.status_code} {res.text}"
            time.sleep(0.5)


def _real_gitlab(request: pytest.FixtureRequest) -> Harness:
    url, token = (os.environ.get("EXLIB_TEST_GITLAB_URL"),
                  os.environ.get("EXLIB_TEST_GITLAB_TOKEN"))
    if not url or not token:
        why = ("no real GitLab: set EXLIB_TEST_GITLAB_URL and EXLIB_TEST_GITLAB_TOKEN "
               "(a token with scope `api`) to run the contract against one")
        pytest.skip(why)  # allowed: needs a real GitLab
    return GitLabHarness(url, token)


HARNESSES: dict[str, Callable[[pytest.FixtureRequest], Harness]] = {
    "gitea": lambda request: GiteaHarness(request.getfixturevalue("gitea")),
    "gitlab-fake": lambda request: FakeGitLabHarness(),
    "gitlab": _real_gitlab,
}
MARKS = {"gitea": (pytest.mark.stack, pytest.mark.gitea)}
#: The providers whose server hosts Git (the FAKE GitLab only answers the API): the push
#: scenarios run on these.
HOSTS_GIT = ("gitea", "gitlab")


def _params(names: Iterable[str]) -> list[Any]:
    return [pytest.param(name, marks=MARKS.get(name, ())) for name in names]


def _harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    harness = HARNESSES[request.param](request)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture(params=_params(HARNESSES))
def provider(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield from _harness(request)


@pytest.fixture(params=_params(HOSTS_GIT))
def git_provider(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield from _harness(request)


def _provision(provider: Harness, owner: str, name: str = "assignments") -> Project:
    return provider.connect(owner).ensure_project(name, branch=BRANCH, private=True,
                                                  description="Programming 1: assignments")


def test_provisioning_from_nothing(provider: Harness) -> None:
    owner = provider.new_owner()
    project = _provision(provider, owner)
    assert project.created and project.private
    assert project.path == f"{owner}/assignments"
    assert project.default_branch == BRANCH
    assert project.web_url.startswith(("http://", "https://"))
    assert project.clone_url.startswith(("http://", "https://"))
    assert provider.settings(project) == (True, "Programming 1: assignments")
    assert provider.protected(project, BRANCH)
    assert provider.owner_private(owner), "a new group/organisation is private unless asked"


def test_second_ensure_adopts_and_changes_nothing(provider: Harness) -> None:
    owner = provider.new_owner()
    first = _provision(provider, owner)
    again = provider.connect(owner).ensure_project("assignments", branch=BRANCH, private=False,
                                                   description="another title")
    assert not again.created
    assert dataclasses.replace(again, created=True) == first
    assert provider.settings(again) == (True, "Programming 1: assignments")
    assert provider.protected(again, BRANCH)
    assert provider.connect(owner).find_project("assignments") == again
    assert provider.connect(owner).find_project("nothing-here") is None


def test_adopting_a_public_project_keeps_it_public(provider: Harness) -> None:
    owner = provider.new_owner()
    provider.create_project_by_hand(owner, "template", public=True, description="by hand")
    project = _provision(provider, owner, "template")
    assert not project.created and not project.private
    assert provider.settings(project) == (False, "by hand")
    assert provider.protected(project, BRANCH)


def test_token_without_scope_is_named(provider: Harness) -> None:
    owner = provider.new_owner()
    limited = provider.connect(owner, provider.token_without_scope())
    with pytest.raises(MissingScope) as err:
        limited.ensure_project("assignments", branch=BRANCH, private=True, description="P1")
    assert err.value.scope and f"`{err.value.scope}`" in str(err.value)


def test_request_open_find_update_close_and_merged(provider: Harness, tmp_path: Path) -> None:
    owner = provider.new_owner()
    client = provider.connect(owner)
    project = _provision(provider, owner)
    provider.push_branches(project, tmp_path)
    assert client.find_request(project, SOURCE) is None

    opened = client.open_request(project, source_branch=SOURCE, target_branch=BRANCH,
                                 title="Update hello 1.0.0 -> 1.1.0", description="conflicts")
    assert opened.state == "open" and (opened.source_branch, opened.target_branch) == (
        SOURCE, BRANCH)
    assert client.find_request(project, SOURCE) == opened

    updated = client.update_request(project, opened.number, title="Update hello 1.0.0 -> 1.2.0",
                                    description="still conflicts")
    assert (updated.number, updated.title, updated.description) == (
        opened.number, "Update hello 1.0.0 -> 1.2.0", "still conflicts")
    assert client.find_request(project, SOURCE) == updated

    closed = client.close_request(project, opened.number, comment="Superseded by a newer one")
    assert closed.state == "closed"
    assert "Superseded by a newer one" in provider.comments(project, opened.number)
    found = client.find_request(project, SOURCE)
    assert found is not None and (found.number, found.state) == (opened.number, "closed")

    second = client.open_request(project, source_branch=SOURCE, target_branch=BRANCH,
                                 title="Update hello 1.0.0 -> 1.3.0", description="")
    assert second.number != opened.number
    assert client.find_request(project, SOURCE) == second, "an open request comes first"
    provider.merge_by_hand(project, second.number)
    found = client.find_request(project, SOURCE)
    assert found is not None and (found.number, found.state) == (second.number, "merged")


def test_one_open_request_per_source_branch(provider: Harness, tmp_path: Path) -> None:
    owner = provider.new_owner()
    client = provider.connect(owner)
    project = _provision(provider, owner)
    provider.push_branches(project, tmp_path)
    first = client.open_request(project, source_branch=SOURCE, target_branch=BRANCH,
                                title="Update hello", description="")
    with pytest.raises(HostingError) as err:
        client.open_request(project, source_branch=SOURCE, target_branch=BRANCH,
                            title="Update hello again", description="")
    assert project.path in str(err.value) and SOURCE in str(err.value)
    assert client.find_request(project, SOURCE) == first


def test_force_push_and_deletion_of_the_protected_branch_are_refused(
        git_provider: Harness, tmp_path: Path) -> None:
    owner = git_provider.new_owner()
    project = _provision(git_provider, owner)
    git_provider.push_branches(project, tmp_path)
    repo = pygit2.init_repository(str(tmp_path / "force"), bare=True)
    head = git.fetch_branch(repo, project.clone_url, BRANCH, git_provider.credentials(),
                            cache_dir=tmp_path)
    assert head is not None
    rewritten = _commit(repo, {"README.md": b"rewritten history\n"}, None)
    repo.references.create(f"refs/heads/{BRANCH}", rewritten, force=True)
    with pytest.raises(git.GitError):
        git.push(repo, project.clone_url, [f"+refs/heads/{BRANCH}:refs/heads/{BRANCH}"],
                 git_provider.credentials(), cache_dir=tmp_path)
    with pytest.raises(git.GitError):
        git.push(repo, project.clone_url, [f":refs/heads/{BRANCH}"], git_provider.credentials(),
                 cache_dir=tmp_path)
    again = git.fetch_branch(repo, project.clone_url, BRANCH, git_provider.credentials(),
                             cache_dir=tmp_path)
    assert again is not None and again.id == head.id


def test_a_server_that_never_answers_times_out(provider: Harness) -> None:
    hanging = HangingServer()
    try:
        base = hanging.url.split("/hang/")[0]
        config = dataclasses.replace(provider.config("tugraz/prog1"), url=base, timeout=1.5)
        err = bounded(lambda: connect(config).ensure_project(
            "assignments", branch=BRANCH, private=True, description="P1"))
    finally:
        hanging.close()
    assert isinstance(err, HostingTimeout) and timed_out(err), repr(err)
    assert base in str(err) and "1.5s" in str(err)


def test_closing_again_or_after_a_cut_short_pass_comments_once(
        provider: Harness, tmp_path: Path) -> None:
    owner = provider.new_owner()
    client = provider.connect(owner)
    project = _provision(provider, owner)
    provider.push_branches(project, tmp_path)
    request = client.open_request(project, source_branch=SOURCE, target_branch=BRANCH,
                                  title="Update hello", description="")
    provider.comment_by_hand(project, request.number, "Superseded by !9")  # the pass's 1st step

    closed = client.close_request(project, request.number, comment="Superseded by !9")
    again = client.close_request(project, request.number, comment="Superseded by !9")

    assert closed.state == again.state == "closed"
    assert provider.comments(project, request.number).count("Superseded by !9") == 1


def test_a_refused_token_is_reported_without_echoing_it(provider: Harness) -> None:
    token = "0123456789abcdef0123456789abcdef01234567"
    client = provider.connect(provider.new_owner(), token)
    with pytest.raises(HostingError) as err:
        client.ensure_project("assignments", branch=BRANCH, private=True, description="P1")
    assert not isinstance(err.value, MissingScope)
    assert "token" in str(err.value) and token not in str(err.value)
