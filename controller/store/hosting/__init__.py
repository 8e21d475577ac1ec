"""Git hosting providers (GitLab, Gitea/Forgejo): the REST control plane of course repositories.

Only what the Git protocol cannot do lives here: making sure a course's projects exist
(created or adopted, never deleted), protecting their branch, and the merge requests (GitLab)
or pull requests (Gitea) that hand a lecturer an update branch to review. Fetch and push stay
in `store/git` for every server. No business rules: which request to open, update or close is
decided by the course pass; a provider only does what it is asked and says plainly why not.

    provider = connect(ProviderConfig(kind="gitea", url=..., owner=..., token=..., timeout=60))
    project = provider.ensure_project("prog1-assignments", branch="main", private=True,
                                      description="Programming 1: assignments")
    request = provider.find_request(project, "exlib/update/...")  # open one, else None
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from controller.timeouts import TimedOut

Kind = Literal["gitlab", "gitea"]
RequestState = Literal["open", "closed", "merged"]


@dataclass(frozen=True)
class ProviderConfig:
    """Where the provider's API is and whose token to use (from the spec and its Secret)."""

    kind: Kind
    url: str  # the server's base URL, e.g. https://gitlab.example.org (no /api/v4)
    owner: str  # GitLab: the group's full path (`tugraz/prog1`); Gitea: the owner/organisation
    token: str = field(repr=False)
    timeout: float = 60.0  # of each API request (spec.timeout)


@dataclass(frozen=True)
class Project:
    """A repository on the provider, as the course pass needs it."""

    path: str  # "<owner>/<name>" as the provider spells it
    clone_url: str  # HTTP(S) URL for fetch and push (token auth)
    web_url: str  # where a person opens it in a browser
    default_branch: str
    private: bool
    created: bool = False  # this call created it (False: it existed and was adopted)


@dataclass(frozen=True)
class Request:
    """A merge request (GitLab) or pull request (Gitea) from an update branch."""

    number: int  # GitLab's iid, Gitea's index: what `!12` / `#12` names in the web UI
    url: str  # its web URL (status, Events, `exlib status`)
    state: RequestState
    source_branch: str
    target_branch: str
    title: str
    description: str


class HostingError(RuntimeError):
    """The provider refused or failed a request; the message names the server, the project
    or group, and what to do."""


class MissingScope(HostingError):
    """The token lacks a permission the operation needs; `scope` names it (e.g. `api`,
    `write:repository`, `write:organization`)."""

    def __init__(self, message: str, scope: str) -> None:
        super().__init__(message)
        self.scope = scope


class HostingTimeout(HostingError, TimedOut):
    """The provider did not answer within the configured timeout (a `TimedOut`, so the pass
    ends with reason `Timeout` like a Git or S3 timeout)."""


class Provider(Protocol):
    """One provider's control plane; every call is one or a few bounded API requests."""

    def ensure_project(self, name: str, *, branch: str, private: bool,
                       description: str) -> Project:
        """The project `name` under the configured owner: created when missing (the owner's
        group/organisation too), adopted when present (its visibility and description are
        not changed then). `branch` is protected against force push and deletion; pushing
        with the token still works. Idempotent."""
        ...

    def find_project(self, name: str) -> Project | None:
        """The project `name` under the configured owner, None when it does not exist (yet):
        what `exlib plan` asks, since planning creates nothing. Read-only."""
        ...

    def find_request(self, project: Project, source_branch: str) -> Request | None:
        """The open request from `source_branch`, else the most recent closed or merged one,
        else None."""
        ...

    def open_request(self, project: Project, *, source_branch: str, target_branch: str,
                     title: str, description: str) -> Request:
        """Open a request (the source branch must exist on the server)."""
        ...

    def update_request(self, project: Project, number: int, *, title: str,
                       description: str) -> Request:
        """Change an open request's title and description."""
        ...

    def close_request(self, project: Project, number: int, *, comment: str) -> Request:
        """Comment on a request, then close it (a closed or merged one is only commented)."""
        ...


def connect(config: ProviderConfig) -> Provider:
    """The provider client for `config.kind` (imported lazily: each pulls its own library)."""
    if config.kind == "gitlab":
        from controller.store.hosting.gitlab import GitLab

        return GitLab(config)
    if config.kind == "gitea":
        from controller.store.hosting.gitea import Gitea

        return Gitea(config)
    raise HostingError(f"unknown provider kind {config.kind!r}; use gitlab or gitea")
