"""Gitea and Forgejo (which speaks Gitea's API) through their REST API `/api/v1`, with requests.

Every request carries the token in the `Authorization` header (never in a URL or a message),
has the configured timeout for connecting and for each read (and its body must arrive within
it too), and reads at most `MAX_RESPONSE` bytes; list requests read bounded pages. A 403
caused by a token scope becomes `MissingScope` naming the scope Gitea asked for.

Repositories are created empty (no auto-init): Gitea keeps the requested default branch for
the first push, and its branch protection is a rule by name that may precede the branch, so
the course's first commit is exlib's own and no README appears that nobody asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from typing import Any, NoReturn
from urllib.parse import quote

import requests
from urllib3.exceptions import ReadTimeoutError

from controller.store.hosting import (
    HostingError,
    HostingTimeout,
    MissingScope,
    Project,
    ProviderConfig,
    Request,
)
from controller.tenancy import redact
from controller.timeouts import TIMEOUT_HINT, format_duration

#: The most one answer may hold (a page of 50 pull requests is well below it).
MAX_RESPONSE = 8 * 1024 * 1024
#: Page size of list requests (Gitea's default MAX_RESPONSE_ITEMS) and how many pages a
#: lookup reads at most: a repository with more open pull requests than this is not a course.
PAGE = 50
MAX_PAGES = 20
#: Gitea records a push in the background (a queue): for a moment after a push the API may
#: not know the pushed branch, so opening a request retries "not found" for this long.
PUSH_SETTLE = 15.0
#: How far before a request's last change `close_request` looks for its own comment.
RECENT = dt.timedelta(hours=1)
#: What exlib's token needs (read:user only when the owner is the token's own user).
NEEDED_SCOPES = "`write:repository`, `write:organization` and `write:issue`"

_SCOPE = re.compile(r"required scope\(s\)(?:, required=|: )\[([^\]]*)\]")


class Gitea:
    """The `Provider` for one Gitea/Forgejo server and owner (a user or an organisation)."""

    def __init__(self, config: ProviderConfig) -> None:
        self._config = config
        self._base = config.url.rstrip("/")
        self._where = f"Gitea at {redact(self._base)}"
        self._session = requests.Session()
        self._session.headers.update({"Authorization": f"token {config.token}",
                                      "Accept": "application/json"})

    # ------------------------------------------------------------------ projects

    def ensure_project(self, name: str, *, branch: str, private: bool,
                       description: str) -> Project:
        repo, created = self._repo(name), False
        if repo is None:
            repo, created = self._create_repo(name, branch=branch, private=private,
                                              description=description)
        self._protect(repo["full_name"], branch)
        return _project(repo, created)

    def find_project(self, name: str) -> Project | None:
        repo = self._repo(name)
        return None if repo is None else _project(repo, False)

    def _repo(self, name: str) -> dict[str, Any] | None:
        owner = self._config.owner
        return self._call("GET", f"/repos/{_q(owner)}/{_q(name)}",
                          f"look up the repository {owner}/{name}", missing_ok=True)

    def _create_repo(self, name: str, *, branch: str, private: bool,
                     description: str) -> tuple[dict[str, Any], bool]:
        """Create `name` under the owner: in the organisation (created first when missing),
        or the token's own user's; (repository, created). Another caller creating it
        meanwhile means adoption."""
        owner = self._config.owner
        what = f"create the repository {owner}/{name}"
        path = f"/orgs/{_q(owner)}/repos" if self._ensure_org(private) else "/user/repos"
        try:
            return self._call("POST", path, what, payload={
                "name": name, "description": description, "private": private,
                "default_branch": branch, "auto_init": False}), True
        except _Conflict as err:
            repo = self._repo(name)
            if repo is None:
                raise HostingError(f"{self._where}: cannot {what}: {err}") from None
            return repo, False

    def _ensure_org(self, private: bool) -> bool:
        """Whether the owner is an organisation (now); False when it is the token's user."""
        owner = self._config.owner
        if self._call("GET", f"/orgs/{_q(owner)}", f"look up the organisation {owner}",
                      missing_ok=True) is not None:
            return True
        try:
            self._call("POST", "/orgs", f"create the organisation {owner}", payload={
                "username": owner, "visibility": "private" if private else "public"})
            return True
        except _Conflict as err:  # a user of that name, an organisation made meanwhile, ...
            refused = str(err)
        if self._call("GET", f"/orgs/{_q(owner)}", f"look up the organisation {owner}",
                      missing_ok=True) is not None:
            return True
        me = self._call("GET", "/user", "look up the token's user")["login"]
        if me.lower() != owner.lower():
            raise HostingError(
                f"{self._where}: cannot create the organisation {owner!r} (Gitea says: "
                f"{refused}), and the token belongs to {me!r}, not to {owner!r}. Set the "
                f"provider's owner to an organisation {me!r} may create repositories in (or "
                f"to {me!r} itself), or use a token of {owner!r}.")
        return False

    def _protect(self, full_name: str, branch: str) -> None:
        """A protection rule for `branch`: no force push (and Gitea refuses to delete a
        protected branch); pushing stays open to everyone with write access, the token's user
        too. An existing rule is kept; only a force push it allowed is switched off."""
        path = f"/repos/{_q_path(full_name)}/branch_protections"
        what = f"protect the branch {branch!r} of {full_name}"
        rule = self._call("GET", f"{path}/{_q(branch)}", what, missing_ok=True)
        if rule is None:
            try:
                self._call("POST", path, what, payload={
                    "rule_name": branch, "enable_push": True, "enable_push_whitelist": False,
                    "enable_force_push": False})
                return
            except HostingError:  # Gitea answers 403 when another pass created it meanwhile
                rule = self._call("GET", f"{path}/{_q(branch)}", what, missing_ok=True)
                if rule is None:
                    raise
        if rule.get("enable_force_push"):
            self._call("PATCH", f"{path}/{_q(branch)}", what,
                       payload={"enable_force_push": False})

    # ------------------------------------------------------------------ requests

    def find_request(self, project: Project, source_branch: str) -> Request | None:
        for state, sort in (("open", "recentupdate"), ("closed", "recentclose")):
            for pr in self._pulls(project, state, sort):
                head = pr.get("head") or {}
                if head.get("ref") == source_branch and \
                        head.get("repo_id") == (pr.get("base") or {}).get("repo_id"):
                    return _request(pr)
        return None

    def _pulls(self, project: Project, state: str, sort: str) -> Iterator[dict[str, Any]]:
        """Pull requests of `project` in `state`, newest first, at most MAX_PAGES pages."""
        what = f"list the pull requests of {project.path}"
        for page in range(1, MAX_PAGES + 1):
            items = self._call("GET", f"/repos/{_q_path(project.path)}/pulls", what,
                               params={"state": state, "sort": sort, "page": page,
                                       "limit": PAGE}, missing_ok=True)
            if items is None:  # an empty repository (Gitea may not have seen a push yet)
                self._call("GET", f"/repos/{_q_path(project.path)}", what)  # else: gone
                return
            yield from items
            if len(items) < PAGE:
                return

    def open_request(self, project: Project, *, source_branch: str, target_branch: str,
                     title: str, description: str) -> Request:
        what = (f"open a pull request from {source_branch!r} into {target_branch!r} of "
                f"{project.path}")
        payload = {"head": source_branch, "base": target_branch, "title": title,
                   "body": description}
        deadline = time.monotonic() + PUSH_SETTLE
        while True:
            try:
                pr = self._call("POST", f"/repos/{_q_path(project.path)}/pulls", what,
                                payload=payload, missing_ok=True)
            except _Conflict as err:
                raise HostingError(f"{self._where}: cannot {what}: {err}") from None
            if pr is not None:
                return _request(pr)
            if time.monotonic() > deadline:
                raise HostingError(
                    f"{self._where}: cannot {what}: Gitea knows no branch {source_branch!r} "
                    f"or {target_branch!r} there (HTTP 404); push both branches first.")
            time.sleep(0.5)

    def update_request(self, project: Project, number: int, *, title: str,
                       description: str) -> Request:
        return _request(self._call(
            "PATCH", f"/repos/{_q_path(project.path)}/pulls/{number}",
            f"update pull request #{number} of {project.path}",
            payload={"title": title, "body": description}))

    def close_request(self, project: Project, number: int, *, comment: str) -> Request:
        """Comment, then close. The comment is not repeated when the request got it in the
        hour before it last changed, so a pass cut short between the two steps, or a second
        close, does not comment twice (Gitea does not page comments: `since` bounds them)."""
        repo = _q_path(project.path)
        what = f"close pull request #{number} of {project.path}"
        pr = self._call("GET", f"/repos/{repo}/pulls/{number}", what)
        since = dt.datetime.fromisoformat(pr["updated_at"]) - RECENT
        recent = self._call("GET", f"/repos/{repo}/issues/{number}/comments", what,
                            params={"since": since.isoformat()})
        if not any(c.get("body") == comment for c in recent):
            self._call("POST", f"/repos/{repo}/issues/{number}/comments", what,
                       payload={"body": comment})
        if pr["state"] != "open":
            return _request(pr)
        return _request(self._call("PATCH", f"/repos/{repo}/pulls/{number}", what,
                                   payload={"state": "closed"}))

    # ------------------------------------------------------------------ HTTP

    def _call(self, method: str, path: str, what: str, *, payload: Any = None,
              params: dict[str, Any] | None = None, missing_ok: bool = False) -> Any:
        """One API request; its decoded JSON answer (None: 404 with `missing_ok`, or no
        content). Raises `_Conflict` for 409/422 so callers can adopt what exists."""
        timeout = self._config.timeout
        url = f"{self._base}/api/v1{path}"
        try:
            with self._session.request(method, url, json=payload, params=params, stream=True,
                                       timeout=(timeout, timeout),
                                       allow_redirects=False) as resp:
                body = self._read(resp, what)
        except requests.Timeout:
            raise self._timeout(what) from None
        except requests.ConnectionError as err:
            if any(isinstance(a, ReadTimeoutError) for a in err.args):
                raise self._timeout(what) from None
            raise HostingError(
                f"{self._where} cannot be reached to {what}: {type(err).__name__}. Check the "
                "provider's URL and that the server is up and reachable from where exlib "
                "runs.") from None
        except requests.RequestException as err:
            raise HostingError(f"{self._where}: cannot {what}: {err}") from None
        status = resp.status_code
        if status == 404 and missing_ok:
            return None
        if 300 <= status < 400:
            raise HostingError(
                f"{self._where} redirected to {redact(resp.headers.get('Location', '?'))} when "
                f"asked to {what} (HTTP {status}); exlib sends the token only to the URL it "
                "was given, so write the server's own URL (https?) as the provider URL.")
        if not 200 <= status < 300:
            self._fail(status, _message(body), what)
        try:
            return json.loads(body) if body else None
        except ValueError:
            raise HostingError(
                f"{self._where} answered with something that is not JSON when asked to "
                f"{what}; that is not Gitea's API: check the provider URL (the server's base "
                "URL, without /api/v1).") from None

    def _read(self, resp: requests.Response, what: str) -> bytes:
        deadline = time.monotonic() + self._config.timeout
        data = bytearray()
        for chunk in resp.iter_content(64 * 1024):
            data += chunk
            if len(data) > MAX_RESPONSE:
                raise HostingError(
                    f"{self._where} answered more than {MAX_RESPONSE // 2**20} MiB when asked "
                    f"to {what}; that is not a Gitea API answer: check the provider's URL.")
            if time.monotonic() > deadline:
                raise self._timeout(what)
        return bytes(data)

    def _timeout(self, what: str) -> HostingTimeout:
        return HostingTimeout(
            f"{self._where} did not answer within "
            f"{format_duration(self._config.timeout)} (spec.timeout) when asked to {what}; "
            f"{TIMEOUT_HINT}")

    def _fail(self, status: int, message: str, what: str) -> NoReturn:
        said = f" (Gitea says: {message})" if message else ""
        if status in (409, 422):
            raise _Conflict(message or f"HTTP {status}")
        if status == 401:
            raise HostingError(
                f"{self._where} refused the token when asked to {what} (HTTP 401){said}. "
                "Check that the token in the CourseStructure's secret is a valid Gitea access "
                f"token (scopes {NEEDED_SCOPES}) that has not expired or been revoked.")
        if status == 403 and (m := _SCOPE.search(message)):
            scopes = m.group(1).split()
            scope = " or ".join(scopes)
            raise MissingScope(
                f"{self._where}: the token lacks the `{scope}` scope needed to {what}. Create "
                f"a token with scopes {NEEDED_SCOPES} and put it in the CourseStructure's "
                "secret.", scope=scope)
        if status == 403:
            raise HostingError(
                f"{self._where}: the token's user may not {what} (HTTP 403){said}. Give the "
                "user the rights it needs (owner of the organisation, or admin of the "
                "repository) or use another user's token.")
        if status == 404:
            raise HostingError(
                f"{self._where}: not found when asked to {what} (HTTP 404){said}. Check the "
                "provider's owner and the project names, and that the token's user can see "
                "them.")
        raise HostingError(f"{self._where} failed to {what} (HTTP {status}){said}; if it "
                           "persists, check the server's health and log.")


class _Conflict(HostingError):
    """409/422: the thing exists already (or the input was refused)."""


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _q_path(full_name: str) -> str:
    owner, _, name = full_name.partition("/")
    return f"{_q(owner)}/{_q(name)}"


def _message(body: bytes) -> str:
    """Gitea's error message (`{"message": ...}`), short; the raw start of anything else."""
    try:
        message = str(json.loads(body).get("message") or "")
    except (ValueError, AttributeError):
        message = body[:300].decode(errors="replace")
    return " ".join(message.split())[:300]


def _project(repo: dict[str, Any], created: bool) -> Project:
    return Project(path=repo["full_name"], clone_url=repo["clone_url"],
                   web_url=repo["html_url"], default_branch=repo["default_branch"],
                   private=bool(repo["private"]), created=created)


def _request(pr: dict[str, Any]) -> Request:
    return Request(number=pr["number"], url=pr["html_url"],
                   state="merged" if pr.get("merged") else pr["state"],
                   source_branch=pr["head"]["ref"], target_branch=pr["base"]["ref"],
                   title=pr["title"], description=pr.get("body") or "")
