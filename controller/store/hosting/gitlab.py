"""GitLab through python-gitlab: course projects, their protected branch, merge requests.

One `gitlab.Gitlab` per config, with the token in its header only (never in a URL or a
message) and `config.timeout` on every request. python-gitlab's errors become the provider
interface's: 401 `HostingError` (token refused), 403 with `insufficient_scope` `MissingScope`,
no answer in time `HostingTimeout`. Creation races with another pass (a group or project
"has already been taken", a protection that exists: 409) end in a re-read, not an error.

A project is created empty: GitLab only creates a branch at creation time with
`initialize_with_readme`, which would put a commit exlib did not make into the course's
history. The branch is protected by name before it exists (GitLab allows that) and the first
push creates it and makes it the default; until then `Project.default_branch` is `branch`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gitlab
import requests
from gitlab.const import AccessLevel
from gitlab.exceptions import GitlabAuthenticationError, GitlabError

from controller.store.hosting import (
    HostingError,
    HostingTimeout,
    MissingScope,
    Project,
    ProviderConfig,
    Request,
    RequestState,
)
from controller.tenancy import redact
from controller.timeouts import TIMEOUT_HINT, format_duration

_STATES: dict[str, RequestState] = {"opened": "open", "locked": "open", "closed": "closed",
                                    "merged": "merged"}
#: The recent requests of one source branch looked at for the latest closed or merged one.
RECENT_REQUESTS = 20
#: The latest comments looked at before commenting, so a repeated close does not comment twice.
RECENT_NOTES = 20


class GitLab:
    """The provider interface on one GitLab server and group (`config.owner`)."""

    def __init__(self, config: ProviderConfig) -> None:
        self._config = config
        self._server = f"GitLab {redact(config.url)}"
        self._gl = gitlab.Gitlab(config.url, private_token=config.token,
                                 timeout=config.timeout)

    # -- projects -------------------------------------------------------------------------

    def ensure_project(self, name: str, *, branch: str, private: bool,
                       description: str) -> Project:
        path = f"{self._config.owner}/{name}"
        created = False
        project = self._get(f"reading project {path}", lambda: self._gl.projects.get(path))
        if project is None:
            group = self._ensure_group(self._config.owner, private)
            attrs = {"name": name, "path": name, "namespace_id": group.id,
                     "visibility": "private" if private else "public",
                     "description": description, "default_branch": branch}
            project, created = self._create(f"creating project {path}",
                                            lambda: self._gl.projects.create(attrs),
                                            lambda: self._gl.projects.get(path))
        self._protect(project, path, branch)
        default = branch if project.empty_repo else project.default_branch
        return _as_project(project, default, created)

    def find_project(self, name: str) -> Project | None:
        path = f"{self._config.owner}/{name}"
        project = self._get(f"reading project {path}", lambda: self._gl.projects.get(path))
        return None if project is None else _as_project(project, project.default_branch, False)

    def _ensure_group(self, path: str, private: bool) -> Any:
        """The group at `path`, its missing ancestors created one level at a time."""
        group = self._get(f"reading group {path}", lambda: self._gl.groups.get(path))
        if group is not None:
            return group
        parent, _, leaf = path.rpartition("/")
        attrs: dict[str, Any] = {"name": leaf, "path": leaf,
                                 "visibility": "private" if private else "public"}
        if parent:
            attrs["parent_id"] = self._ensure_group(parent, private).id
        return self._create(f"creating group {path}", lambda: self._gl.groups.create(attrs),
                            lambda: self._gl.groups.get(path))[0]

    def _protect(self, project: Any, path: str, branch: str) -> None:
        """`branch` protected: no force push, push and merge for maintainers (GitLab itself
        refuses deleting a protected branch). An existing protection is kept, only a force
        push it allows is turned off."""
        what = f"protecting branch {branch} of project {path}"
        rule = self._get(what, lambda: project.protectedbranches.get(branch))
        if rule is None:
            attrs = {"name": branch, "allow_force_push": False,
                     "push_access_level": AccessLevel.MAINTAINER,
                     "merge_access_level": AccessLevel.MAINTAINER}
            rule = self._create(what, lambda: project.protectedbranches.create(attrs),
                                lambda: project.protectedbranches.get(branch))[0]
        if rule.allow_force_push:
            rule.allow_force_push = False
            with self._errors(what):
                rule.save()

    # -- merge requests -------------------------------------------------------------------

    def find_request(self, project: Project, source_branch: str) -> Request | None:
        mrs = self._handle(project).mergerequests
        with self._errors(f"listing merge requests of project {project.path}"):
            found = mrs.list(source_branch=source_branch, state="opened", per_page=1,
                             get_all=False)
            if not found:
                found = mrs.list(source_branch=source_branch, order_by="updated_at",
                                 sort="desc", per_page=RECENT_REQUESTS, get_all=False)
        return _request(found[0].attributes) if found else None

    def open_request(self, project: Project, *, source_branch: str, target_branch: str,
                     title: str, description: str) -> Request:
        attrs = {"source_branch": source_branch, "target_branch": target_branch,
                 "title": title, "description": description}
        with self._errors(f"opening a merge request from {source_branch} into "
                          f"{target_branch} in project {project.path}"):
            mr = self._handle(project).mergerequests.create(attrs)
        return _request(mr.attributes)

    def update_request(self, project: Project, number: int, *, title: str,
                       description: str) -> Request:
        with self._errors(f"updating merge request !{number} of project {project.path}"):
            data = self._handle(project).mergerequests.update(
                number, {"title": title, "description": description})
        return _request(data)

    def close_request(self, project: Project, number: int, *, comment: str) -> Request:
        with self._errors(f"closing merge request !{number} of project {project.path}"):
            mrs = self._handle(project).mergerequests
            mr = mrs.get(number)
            recent = mr.notes.list(order_by="created_at", sort="desc", per_page=RECENT_NOTES,
                                   get_all=False)
            if all(note.body != comment for note in recent):
                mr.notes.create({"body": comment})
            if mr.state != "opened":
                return _request(mr.attributes)
            return _request(mrs.update(number, {"state_event": "close"}))

    def _handle(self, project: Project) -> Any:
        """A handle on the project by its path, without a request."""
        return self._gl.projects.get(project.path, lazy=True)

    # -- errors ---------------------------------------------------------------------------

    def _get(self, what: str, fetch: Any) -> Any:
        """`fetch()`'s object, or None when GitLab answers 404."""
        try:
            with self._errors(what):
                return fetch()
        except HostingError as err:
            if _status(err.__cause__) == 404:
                return None
            raise

    def _create(self, what: str, create: Any, reread: Any) -> tuple[Any, bool]:
        """(`create()`'s object, True); when a concurrent pass created it first (GitLab
        answers "has already been taken", or 409), (the one that exists, False)."""
        try:
            with self._errors(what):
                return create(), True
        except HostingError as err:
            cause = err.__cause__
            taken = _status(cause) == 409 or (
                _status(cause) == 400 and "has already been taken" in str(cause))
            if not taken:
                raise
        with self._errors(what):
            return reread(), False

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """python-gitlab's and requests' failures as the provider interface's errors."""
        where = f"{self._server}: {what}"
        try:
            yield
        except GitlabAuthenticationError as err:
            raise HostingError(
                f"{where}: token refused (401). Check that the token in the CourseStructure's "
                "secret is a valid GitLab access token that has not expired or been "
                "revoked.") from err
        except GitlabError as err:
            scope = _missing_scope(err)
            if scope:
                raise MissingScope(
                    f"{where}: the token lacks the `{scope}` scope (403 insufficient_scope). "
                    f"Create a token with scope `{scope}` and role Maintainer or Owner of "
                    f"group {self._config.owner}, and put it in the CourseStructure's "
                    "secret.", scope) from err
            message = _message(err)
            raise HostingError(f"{where}: {err.response_code} {message}"
                               + _hint(err.response_code, message, self._config.owner)) from err
        except requests.Timeout as err:
            raise HostingTimeout(
                f"{where}: no answer within {format_duration(self._config.timeout)} "
                f"(spec.timeout); {TIMEOUT_HINT}") from err
        except requests.RequestException as err:
            raise HostingError(f"{where}: the server is unreachable ({type(err).__name__}); "
                               "check the provider URL in the CourseStructure and that the "
                               "server is up and reachable from where exlib runs") from err


def _as_project(project: Any, default_branch: str, created: bool) -> Project:
    return Project(path=project.path_with_namespace, clone_url=project.http_url_to_repo,
                   web_url=project.web_url, default_branch=default_branch,
                   private=project.visibility == "private", created=created)


def _request(data: dict[str, Any]) -> Request:
    return Request(number=data["iid"], url=data["web_url"], state=_STATES[data["state"]],
                   source_branch=data["source_branch"], target_branch=data["target_branch"],
                   title=data["title"], description=data.get("description") or "")


def _status(err: BaseException | None) -> int | None:
    return err.response_code if isinstance(err, GitlabError) else None


def _body(err: GitlabError) -> dict[str, Any]:
    try:
        data = json.loads(err.response_body or b"")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _missing_scope(err: GitlabError) -> str | None:
    """The first scope GitLab names in a 403 insufficient_scope answer (`api read_api`: a
    token with either would do; `api` always does)."""
    body = _body(err)
    if err.response_code != 403 or body.get("error") != "insufficient_scope":
        return None
    scopes = str(body.get("scope") or "api").split()
    return scopes[0] if scopes else "api"


def _message(err: GitlabError) -> str:
    """GitLab's message, flattened: it is a string, a list, or a field -> errors mapping."""
    message = err.error_message
    if isinstance(message, dict):
        return "; ".join(f"{field} {', '.join(map(str, errs)) if isinstance(errs, list) else errs}"
                         for field, errs in message.items())
    if isinstance(message, list):
        return "; ".join(map(str, message))
    return str(message)


def _hint(status: int | None, message: str, group: str) -> str:
    if "visibility_level" in message:
        return (f". GitLab allows no project more visible than its group: make group {group} "
                "public in GitLab, or the project private in the CourseStructure.")
    if status == 403:
        return (f". The token's user needs role Maintainer or Owner in group {group} (or the "
                "right to create groups, if the group does not exist yet).")
    if status == 404:
        return f". Check the provider URL and group {group} in the CourseStructure."
    return ""
