"""GitLab client behaviour against the FAKE GitLab (tests/fakes/gitlab_server.py).

GitLab cannot run on this machine, so these tests drive the real python-gitlab client,
through `controller.store.hosting.gitlab.GitLab`, against a FAKE of GitLab's REST API. They
cover what only the GitLab client does (nested groups, creation races, tightening an existing
protection, idempotent closing); the scenarios every provider shares are in
test_hosting_contract.py, which also runs them against a real GitLab when one is configured.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import gitlab
import pytest

from controller.store.hosting import HostingError, MissingScope, ProviderConfig, connect
from controller.store.hosting.gitlab import GitLab
from tests.fakes.gitlab_server import FakeGitLab, fake_gitlab

TOKEN = "fake-gitlab-token-not-a-secret"


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    with fake_gitlab() as server:
        server.add_token(TOKEN)
        yield server


def client(fake: FakeGitLab, owner: str = "tugraz/prog1", token: str = TOKEN) -> GitLab:
    provider = connect(ProviderConfig(kind="gitlab", url=fake.url, owner=owner, token=token,
                                      timeout=10))
    assert isinstance(provider, GitLab)
    return provider


def admin(fake: FakeGitLab) -> gitlab.Gitlab:
    """python-gitlab straight at the fake: what a person does by hand in GitLab."""
    return gitlab.Gitlab(fake.url, private_token=TOKEN, timeout=10)


def test_gitlab_fake_missing_nested_groups_are_created_one_level_at_a_time(
        fake: FakeGitLab) -> None:
    gl = admin(fake)
    top = gl.groups.create({"name": "TU Graz", "path": "tugraz", "visibility": "private"})
    project = client(fake, owner="tugraz/ws26/prog1").ensure_project(
        "assignments", branch="main", private=True, description="Programming 1")
    assert project.path == "tugraz/ws26/prog1/assignments" and project.created
    ws26 = gl.groups.get("tugraz/ws26")
    assert ws26.parent_id == top.id and ws26.visibility == "private"
    assert gl.groups.get("tugraz/ws26/prog1").parent_id == ws26.id


def test_gitlab_fake_concurrent_passes_create_one_group_and_one_project(
        fake: FakeGitLab) -> None:
    results: list[object] = []

    def ensure() -> None:
        try:
            results.append(client(fake).ensure_project("assignments", branch="main",
                                                       private=True, description="P1"))
        except Exception as err:  # reported by the assertion below
            results.append(err)

    threads = [threading.Thread(target=ensure) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.created for r in results) == 1  # type: ignore[attr-defined]
    assert {r.path for r in results} == {"tugraz/prog1/assignments"}  # type: ignore[attr-defined]
    rules = admin(fake).projects.get("tugraz/prog1/assignments").protectedbranches
    assert [r.name for r in rules.list(get_all=True)] == ["main"]


def test_gitlab_fake_existing_protection_that_allows_force_push_is_tightened(
        fake: FakeGitLab) -> None:
    gl = admin(fake)
    group = gl.groups.create({"name": "prog1", "path": "prog1", "visibility": "internal"})
    existing = gl.projects.create({"name": "assignments", "namespace_id": group.id,
                                   "visibility": "internal", "description": "by hand"})
    existing.protectedbranches.create({"name": "main", "allow_force_push": True,
                                       "push_access_level": 30})
    project = client(fake, owner="prog1").ensure_project("assignments", branch="main",
                                                          private=True, description="P1")
    assert not project.created and not project.private
    rule = gl.projects.get("prog1/assignments").protectedbranches.get("main")
    assert rule.allow_force_push is False
    assert rule.push_access_levels[0]["access_level"] == 30  # the lecturer's choice stays
    assert gl.projects.get("prog1/assignments").description == "by hand"


def test_gitlab_fake_public_project_in_a_private_group_says_what_to_change(
        fake: FakeGitLab) -> None:
    gitlab_client = client(fake)
    gitlab_client.ensure_project("assignments", branch="main", private=True, description="P1")
    with pytest.raises(HostingError) as err:
        gitlab_client.ensure_project("template", branch="main", private=False,
                                     description="P1 template")
    message = str(err.value)
    assert "creating project tugraz/prog1/template" in message
    assert "public is not allowed in a private group" in message
    assert "make group tugraz/prog1 public" in message and "project private" in message


def test_gitlab_fake_refused_token_names_the_server_and_never_the_token(
        fake: FakeGitLab) -> None:
    secret = "glpat-refused-by-the-fake-gitlab"
    with pytest.raises(HostingError) as err:
        client(fake, token=secret).ensure_project("assignments", branch="main", private=True,
                                                  description="P1")
    assert "token refused" in str(err.value) and fake.url in str(err.value)
    assert "tugraz/prog1/assignments" in str(err.value)
    assert secret not in str(err.value) and secret not in repr(err.value)


def test_gitlab_fake_server_that_is_gone_is_named_unreachable(fake: FakeGitLab) -> None:
    url = fake.url
    fake.close()  # nothing listens on its port any more
    with pytest.raises(HostingError) as err:
        client(fake).find_project("assignments")
    assert "unreachable" in str(err.value) and url in str(err.value)
    assert "tugraz/prog1/assignments" in str(err.value)


def test_gitlab_fake_read_only_token_lacks_the_api_scope(fake: FakeGitLab) -> None:
    fake.add_token("read-only", ("read_api", "read_repository"))
    with pytest.raises(MissingScope) as err:
        client(fake, token="read-only").ensure_project("assignments", branch="main",
                                                       private=True, description="P1")
    assert err.value.scope == "api" and "`api`" in str(err.value)
    assert "creating group tugraz" in str(err.value)


def test_gitlab_fake_closing_twice_comments_once(fake: FakeGitLab) -> None:
    gitlab_client = client(fake)
    project = gitlab_client.ensure_project("assignments", branch="main", private=True,
                                           description="P1")
    mr = gitlab_client.open_request(project, source_branch="exlib/update/a",
                                    target_branch="main", title="t", description="d")
    for _ in range(2):  # a pass killed after closing runs again
        closed = gitlab_client.close_request(project, mr.number, comment="superseded by !2")
    assert closed.state == "closed"
    notes = admin(fake).projects.get(project.path).mergerequests.get(mr.number).notes
    assert [n.body for n in notes.list(get_all=True)] == ["superseded by !2"]


def test_gitlab_fake_find_prefers_the_open_request_over_a_newer_closed_one(
        fake: FakeGitLab) -> None:
    gitlab_client = client(fake)
    project = gitlab_client.ensure_project("assignments", branch="main", private=True,
                                           description="P1")
    first = gitlab_client.open_request(project, source_branch="exlib/update/a",
                                       target_branch="main", title="old", description="")
    gitlab_client.close_request(project, first.number, comment="superseded")
    second = gitlab_client.open_request(project, source_branch="exlib/update/a",
                                        target_branch="main", title="new", description="")
    # the closed one is touched last, so it is the most recently updated
    gitlab_client.close_request(project, first.number, comment="again")
    found = gitlab_client.find_request(project, "exlib/update/a")
    assert found is not None and found.number == second.number and found.state == "open"
