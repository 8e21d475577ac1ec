"""A FAKE of GitLab's REST API v4, for tests only: GitLab itself cannot run on this machine.

It is a test double, not GitLab. It lets the real python-gitlab client, through exlib's
`controller.store.hosting.gitlab.GitLab`, talk HTTP to a stateful server on 127.0.0.1, so the
requests, status codes and response bodies our client handles are exercised. Whether GitLab
really behaves so is checked only by the contract suite against a real GitLab
(tests/integration/test_hosting_contract.py with EXLIB_TEST_GITLAB_URL/_TOKEN).

What it models:
- Auth by the `PRIVATE-TOKEN` header with per-token scopes: no or an unknown token -> 401
  `{"message": "401 Unauthorized"}`; a token without `api` -> 403
  `{"error": "insufficient_scope", "error_description": ..., "scope": "api"}` on writes (GETs
  also pass with `read_api`; then `scope` is `"api read_api"`), the body GitLab sends (as
  quoted in GitLab's issue tracker).
- Groups: GET by id or URL-encoded full path, POST with `name`, `path`, `parent_id`,
  `visibility`; a taken path -> 400 `Failed to save group {:path=>["has already been taken"]}`.
- Projects: GET by id or URL-encoded `group/name`, POST with `name`, `path`, `namespace_id`,
  `visibility`, `description`, `default_branch`, `initialize_with_readme`; a taken path -> 400
  `{"message": {"name": [...], "path": ["has already been taken"]}}`; a project more visible
  than its group -> 400 `{"message": {"visibility_level": ["public is not allowed in a
  private group."]}}`. Responses carry `path_with_namespace`, `web_url`,
  `http_url_to_repo`, `default_branch`, `empty_repo`.
- Protected branches: list, GET by name, POST (`allow_force_push`, push/merge access levels)
  -> 409 `Protected branch '<name>' already exists` on a duplicate, PATCH `allow_force_push`.
- Merge requests: list filtered by `source_branch`, `target_branch` and `state` (`opened`,
  `closed`, `merged`, `all`), `order_by` created_at/updated_at, `sort`, `page`/`per_page` with
  GitLab's pagination headers (X-Page, X-Per-Page, X-Total, X-Total-Pages, X-Next-Page,
  X-Prev-Page, Link; notes too); POST -> 409 `["Another open merge request already exists
  for this source branch: !<iid>"]` when one is open from the same source into the same
  target; GET;
  PUT `title`, `description`, `state_event` (close/reopen). Notes: POST and list.
- `FakeGitLab.merge()`: what a person merging the request in the web UI does to its state.
- `git_url`: a test may give each new project a real Git repository elsewhere (the stack's
  Git server) as its `http_url_to_repo`, so a course pass can fetch and push; the fake still
  knows nothing of what is in it (a merge by hand is a Git merge plus `merge()`).

What it does not model (so tests must not rely on it): Git itself (no repositories, pushes or
branches: a merge request's source branch is not checked to exist, `empty_repo` stays true
unless created with a README), roles and membership (every token's user may do everything),
visibility rules between a group and its subgroups, users, rate limits, and every field of a
response that exlib's client does not read.

Guessed, not found in GitLab's documentation: the 404 body for a missing parent group on
group creation (`404 Parent group Not Found`; GitLab documents only `404 Group Not Found`),
the 404 body of a missing protected branch or merge request (`404 Not found`), the 400 body
for an empty project name, and that an empty project reports the requested `default_branch`
(else `main`) as its default branch. exlib's client reads only the status of these.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

API = "/api/v4"
_OPENNESS = ("private", "internal", "public")
SCOPE_DENIED = "The request requires higher privileges than provided by the access token."


class Reply(Exception):
    """An HTTP answer other than 2xx, raised from a route."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _not_found(what: str) -> Reply:
    return Reply(404, {"message": f"404 {what} Not Found"})


@dataclass
class _State:
    base_url: str = ""
    git_url: Callable[[str], str] | None = None  # project full path -> a real clone URL
    tokens: dict[str, set[str]] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)
    protected: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    mrs: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    notes: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    clock: Iterator[int] = field(default_factory=lambda: itertools.count(1))


def _now(state: _State) -> str:
    # a strictly increasing timestamp, so ordering by time is stable within one second
    tick = next(state.clock)
    return datetime.fromtimestamp(1_700_000_000 + tick, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeGitLab:
    """The FAKE GitLab server on 127.0.0.1 (an ephemeral port), with its admin helpers."""

    def __init__(self, git_url: Callable[[str], str] | None = None) -> None:
        self._state = _State(git_url=git_url)
        self._lock = threading.Lock()
        state, lock = self._state, self._lock

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_PUT(self) -> None:
                self._serve()

            def do_PATCH(self) -> None:
                self._serve()

            def _serve(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size) if size else b""
                body = json.loads(raw) if raw else {}
                headers: dict[str, str] = {}
                try:
                    with lock:
                        _authorize(state, self.headers.get("PRIVATE-TOKEN"), self.command)
                        status, data = _route(state, self.command, url.path, query, body,
                                              headers)
                except Reply as reply:
                    status, data = reply.status, reply.body
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        state.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)  # a short poll: quick teardown
        self._thread.start()

    @property
    def url(self) -> str:
        return self._state.base_url

    def add_token(self, token: str, scopes: tuple[str, ...] = ("api",)) -> str:
        with self._lock:
            self._state.tokens[token] = set(scopes)
        return token

    def merge(self, project_path: str, iid: int) -> None:
        """Merge request `iid` merged, as by a person in the web UI."""
        with self._lock:
            mr = _mr(self._state, _project(self._state, project_path)["id"], iid)
            mr.update(state="merged", updated_at=_now(self._state),
                      merged_at=_now(self._state))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def fake_gitlab(git_url: Callable[[str], str] | None = None) -> Iterator[FakeGitLab]:
    server = FakeGitLab(git_url)
    try:
        yield server
    finally:
        server.close()


def _authorize(state: _State, token: str | None, method: str) -> None:
    scopes = state.tokens.get(token or "")
    if scopes is None:
        raise Reply(401, {"message": "401 Unauthorized"})
    if "api" in scopes or (method == "GET" and "read_api" in scopes):
        return
    raise Reply(403, {"error": "insufficient_scope", "error_description": SCOPE_DENIED,
                      "scope": "api read_api" if method == "GET" else "api"})


def _route(state: _State, method: str, path: str, query: dict[str, str], body: dict[str, Any],
           headers: dict[str, str]) -> tuple[int, Any]:
    if not path.startswith(API + "/"):
        raise Reply(404, {"error": "404 Not Found"})
    parts = [unquote(p) for p in path[len(API) + 1:].split("/")]
    args = {**query, **body}
    match method, parts:
        case "GET", ["groups", ref]:
            return 200, _group(state, ref)
        case "POST", ["groups"]:
            return 201, _create_group(state, args)
        case "GET", ["projects", ref]:
            return 200, _project(state, ref)
        case "POST", ["projects"]:
            return 201, _create_project(state, args)
        case "GET", ["projects", ref, "protected_branches"]:
            return 200, list(state.protected[_project(state, ref)["id"]].values())
        case "GET", ["projects", ref, "protected_branches", name]:
            return 200, _rule(state, ref, name)
        case "POST", ["projects", ref, "protected_branches"]:
            return 201, _protect(state, _project(state, ref)["id"], args)
        case "PATCH", ["projects", ref, "protected_branches", name]:
            rule = _rule(state, ref, name)
            if "allow_force_push" in args:
                rule["allow_force_push"] = _bool(args["allow_force_push"])
            return 200, rule
        case "GET", ["projects", ref, "merge_requests"]:
            return 200, _list_mrs(state, _project(state, ref), query, headers)
        case "POST", ["projects", ref, "merge_requests"]:
            return 201, _create_mr(state, _project(state, ref), args)
        case "GET", ["projects", ref, "merge_requests", iid]:
            return 200, _mr(state, _project(state, ref)["id"], int(iid))
        case "PUT", ["projects", ref, "merge_requests", iid]:
            return 200, _update_mr(state, _mr(state, _project(state, ref)["id"], int(iid)),
                                   args)
        case "GET", ["projects", ref, "merge_requests", iid, "notes"]:
            return 200, _list_notes(state, ref, int(iid), query, headers)
        case "POST", ["projects", ref, "merge_requests", iid, "notes"]:
            return 201, _create_note(state, ref, int(iid), args)
    raise Reply(404, {"error": "404 Not Found"})


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _lookup(items: dict[int, dict[str, Any]], ref: str, key: str) -> dict[str, Any] | None:
    if ref.isdigit():
        return items.get(int(ref))
    return next((item for item in items.values() if item[key] == ref), None)


def _group(state: _State, ref: str) -> dict[str, Any]:
    group = _lookup(state.groups, ref, "full_path")
    if group is None:
        raise _not_found("Group")
    return group


def _create_group(state: _State, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("name") or not args.get("path"):
        raise Reply(400, {"error": "name is missing, path is missing"})
    parent = None
    if args.get("parent_id"):
        parent = state.groups.get(int(args["parent_id"]))
        if parent is None:
            raise _not_found("Parent group")  # guessed body
    full_path = f"{parent['full_path']}/{args['path']}" if parent else args["path"]
    if _lookup(state.groups, full_path, "full_path"):
        raise Reply(400, {"message": 'Failed to save group {:path=>["has already been taken"]}'})
    gid = next(state.ids)
    state.groups[gid] = {
        "id": gid, "name": args["name"], "path": args["path"], "full_path": full_path,
        "full_name": f"{parent['full_name']} / {args['name']}" if parent else args["name"],
        "parent_id": parent["id"] if parent else None,
        "visibility": args.get("visibility", "private"), "description": "",
        "web_url": f"{state.base_url}/groups/{full_path}",
    }
    return state.groups[gid]


def _project(state: _State, ref: str) -> dict[str, Any]:
    project = _lookup(state.projects, ref, "path_with_namespace")
    if project is None:
        raise _not_found("Project")
    return project


def _create_project(state: _State, args: dict[str, Any]) -> dict[str, Any]:
    name, path = args.get("name") or args.get("path"), args.get("path") or args.get("name")
    if not name:
        raise Reply(400, {"message": "name or path is missing"})  # guessed body
    group = state.groups.get(int(args.get("namespace_id") or 0))
    if group is None:
        raise _not_found("Namespace")
    full_path = f"{group['full_path']}/{path}"
    visibility = args.get("visibility", "private")
    if _OPENNESS.index(visibility) > _OPENNESS.index(group["visibility"]):
        raise Reply(400, {"message": {"visibility_level": [
            f"{visibility} is not allowed in a {group['visibility']} group."]}})
    if _lookup(state.projects, full_path, "path_with_namespace"):
        taken = ["has already been taken"]
        raise Reply(400, {"message": {"name": taken, "path": taken,
                                      "project_namespace.name": taken}})
    pid = next(state.ids)
    readme = _bool(args.get("initialize_with_readme", False))
    state.projects[pid] = {
        "id": pid, "name": name, "path": path, "path_with_namespace": full_path,
        "name_with_namespace": f"{group['full_name']} / {name}",
        "namespace": {"id": group["id"], "name": group["name"], "path": group["path"],
                      "kind": "group", "full_path": group["full_path"]},
        "description": args.get("description") or "",
        "visibility": visibility,
        "default_branch": args.get("default_branch") or "main",
        "empty_repo": not readme,
        "web_url": f"{state.base_url}/{full_path}",
        "http_url_to_repo": (state.git_url(full_path) if state.git_url
                             else f"{state.base_url}/{full_path}.git"),
        "ssh_url_to_repo": f"git@127.0.0.1:{full_path}.git",
        "created_at": _now(state),
    }
    state.protected[pid] = {}
    state.mrs[pid] = {}
    return state.projects[pid]


def _level(value: Any) -> list[dict[str, Any]]:
    level = int(value)
    names = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
    return [{"id": 1, "access_level": level, "access_level_description": names.get(level, "")}]


def _rule(state: _State, ref: str, name: str) -> dict[str, Any]:
    rule = state.protected[_project(state, ref)["id"]].get(name)
    if rule is None:
        raise Reply(404, {"message": "404 Not found"})
    return rule


def _protect(state: _State, pid: int, args: dict[str, Any]) -> dict[str, Any]:
    name = args["name"]
    if name in state.protected[pid]:
        raise Reply(409, {"message": f"Protected branch '{name}' already exists"})
    state.protected[pid][name] = {
        "id": next(state.ids), "name": name,
        "push_access_levels": _level(args.get("push_access_level", 40)),
        "merge_access_levels": _level(args.get("merge_access_level", 40)),
        "allow_force_push": _bool(args.get("allow_force_push", False)),
        "code_owner_approval_required": False,
    }
    return state.protected[pid][name]


def _mr(state: _State, pid: int, iid: int) -> dict[str, Any]:
    mr = state.mrs[pid].get(iid)
    if mr is None:
        raise Reply(404, {"message": "404 Not found"})
    return mr


def _page(state: _State, path: str, items: list[dict[str, Any]], query: dict[str, str],
          headers: dict[str, str]) -> list[dict[str, Any]]:
    """One page of `items` sorted as asked, with GitLab's offset pagination headers."""
    items = sorted(items, key=lambda item: item[query.get("order_by", "created_at")],
                   reverse=query.get("sort", "desc") == "desc")
    page, per_page = int(query.get("page", 1)), min(int(query.get("per_page", 20)), 100)
    pages = max(1, -(-len(items) // per_page))
    headers.update({"X-Page": str(page), "X-Per-Page": str(per_page),
                    "X-Total": str(len(items)), "X-Total-Pages": str(pages),
                    "X-Next-Page": str(page + 1) if page < pages else "",
                    "X-Prev-Page": str(page - 1) if page > 1 else ""})
    rels = [(page + 1, "next")] if page < pages else []
    rels += [(1, "first"), (pages, "last")]
    others = {k: v for k, v in query.items() if k != "page"}
    headers["Link"] = ", ".join(
        f'<{state.base_url}{API}{path}?{urlencode({**others, "page": p})}>; rel="{rel}"'
        for p, rel in rels)
    return items[(page - 1) * per_page:page * per_page]


def _list_mrs(state: _State, project: dict[str, Any], query: dict[str, str],
              headers: dict[str, str]) -> list[dict[str, Any]]:
    items = list(state.mrs[project["id"]].values())
    for key in ("source_branch", "target_branch"):
        if key in query:
            items = [mr for mr in items if mr[key] == query[key]]
    if query.get("state", "all") != "all":
        items = [mr for mr in items if mr["state"] == query["state"]]
    return _page(state, f"/projects/{project['id']}/merge_requests", items, query, headers)


def _create_mr(state: _State, project: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("source_branch", "target_branch", "title") if not args.get(k)]
    if missing:
        raise Reply(400, {"error": ", ".join(f"{k} is missing" for k in missing)})
    pid = project["id"]
    for mr in state.mrs[pid].values():
        if (mr["state"] == "opened" and mr["source_branch"] == args["source_branch"]
                and mr["target_branch"] == args["target_branch"]):
            raise Reply(409, {"message": ["Another open merge request already exists for "
                                          f"this source branch: !{mr['iid']}"]})
    iid = len(state.mrs[pid]) + 1
    now = _now(state)
    state.mrs[pid][iid] = {
        "id": next(state.ids), "iid": iid, "project_id": pid, "title": args["title"],
        "description": args.get("description") or "", "state": "opened",
        "source_branch": args["source_branch"], "target_branch": args["target_branch"],
        "source_project_id": pid, "target_project_id": pid,
        "created_at": now, "updated_at": now, "merged_at": None, "closed_at": None,
        "web_url": f"{project['web_url']}/-/merge_requests/{iid}",
        "references": {"short": f"!{iid}", "full": f"{project['path_with_namespace']}!{iid}"},
    }
    state.notes[(pid, iid)] = []
    return state.mrs[pid][iid]


def _update_mr(state: _State, mr: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    for key in ("title", "description"):
        if key in args:
            mr[key] = args[key]
    event = args.get("state_event")
    if event == "close" and mr["state"] == "opened":
        mr.update(state="closed", closed_at=_now(state))
    elif event == "reopen" and mr["state"] == "closed":
        mr.update(state="opened", closed_at=None)
    mr["updated_at"] = _now(state)
    return mr


def _list_notes(state: _State, ref: str, iid: int, query: dict[str, str],
                headers: dict[str, str]) -> list[dict[str, Any]]:
    pid = _project(state, ref)["id"]
    _mr(state, pid, iid)
    return _page(state, f"/projects/{pid}/merge_requests/{iid}/notes", state.notes[(pid, iid)],
                 query, headers)


def _create_note(state: _State, ref: str, iid: int, args: dict[str, Any]) -> dict[str, Any]:
    pid = _project(state, ref)["id"]
    mr = _mr(state, pid, iid)
    if not args.get("body"):
        raise Reply(400, {"error": "body is missing"})
    now = _now(state)
    note = {"id": next(state.ids), "body": args["body"], "system": False, "created_at": now,
            "updated_at": now, "noteable_type": "MergeRequest", "noteable_iid": iid}
    state.notes[(pid, iid)].append(note)
    mr["updated_at"] = now
    return note
