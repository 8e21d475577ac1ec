"""The course pass's steps on a Git hosting provider (spec.provider): projects and requests.

- `provision` (first, before the assignments branch is fetched): each repository the spec
  names by `project` is ensured on the provider (created when missing, adopted when present,
  its branch protected; never deleted) and its clone URL becomes the Git URL of the pass.
  Planning (`exlib plan`) only looks: a missing project is planned as an empty repository.
- `hand_over` (after the rows are written and finished update branches are pruned): one
  merge request per update branch that waits for a lecturer, kept in step with the branch
  (`controller.course.requests` decides); a request that cannot be opened is a message on
  the content, never a failed pass: the branch is on the server either way.

Provider errors become `ProviderFailed` with the status reason (`MissingScope` names the
scope and the token's Secret); a timeout stays a timeout (reason `Timeout`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from controller.course import requests
from controller.course.errors import ProviderFailed
from controller.course.plan import ON_BRANCH, Action, BranchOp, Content, Op, update_branch
from controller.course.spec import CourseSpec, GitTarget, ProviderSpec
from controller.store import hosting
from controller.store.credentials import Credentials
from controller.tenancy import destination_problem, git_host, git_url_problem, redact
from controller.testing import killpoints

#: What each repository is, in the description of a project exlib creates.
PURPOSE = {"assignments": "assignments", "studentTemplate": "student template"}


@dataclass(frozen=True)
class Provisioned:
    """The spec with every project's Git URL filled in, and the projects by spec field."""

    spec: CourseSpec
    projects: Mapping[str, hosting.Project]
    actions: tuple[Action, ...] = ()


def connect(provider: ProviderSpec, token: str | None, namespace: str,
            timeout: float) -> hosting.Provider:
    """The provider's client for a course (a token is required: its Secret's `token`)."""
    if not token:
        raise ProviderFailed(f"spec.provider: no API token; put it under the key `token` of "
                             f"Secret {namespace}/{provider.secret_ref}")
    return hosting.connect(hosting.ProviderConfig(kind=provider.kind, url=provider.url,
                                                  owner=provider.owner, token=token,
                                                  timeout=timeout))


def git_credentials(target: GitTarget, given: Credentials | None, token: str | None
                    ) -> Credentials | None:
    """A provider project without a secretRef of its own is fetched and pushed with the
    provider's token (also by `exlib apply`, whose EXLIB_GIT_TOKEN is for other servers)."""
    if target.project is not None and target.secret_ref is None and token:
        return Credentials(token=token)
    return given


@contextmanager
def _provider_errors(spec: CourseSpec, namespace: str, what: str) -> Iterator[None]:
    provider = spec.provider
    assert provider is not None
    secret = f"Secret {namespace}/{provider.secret_ref}"
    try:
        yield
    except hosting.MissingScope as err:
        raise ProviderFailed(
            f"{what}: the API token in {secret} (key `token`) lacks the scope `{err.scope}`: "
            f"{err}. Give the token that scope (or put one that has it in the Secret)",
            reason="MissingScope") from err
    except hosting.HostingError as err:  # a timeout stays one through the cause: `Timeout`
        raise ProviderFailed(f"{what}: {err}") from err


def provision(spec: CourseSpec, provider: hosting.Provider, *, namespace: str,
              allowed_hosts: Sequence[str], dry_run: bool,
              say: Callable[[str], None]) -> Provisioned:
    """Ensure the projects the spec names (planning: find them) and fill in their URLs."""
    assert spec.provider is not None
    projects: dict[str, hosting.Project] = {}
    actions: list[Action] = []
    targets = dict(spec.targets)
    for key, target in spec.targets.items():
        if target.project is None:
            continue
        where = f"{spec.provider.owner}/{target.project}"
        with _provider_errors(spec, namespace, f"project {where} on {redact(spec.provider.url)}"):
            if dry_run:
                found = provider.find_project(target.project)
            else:
                found = provider.ensure_project(
                    target.project, branch=target.branch,
                    private=spec.provider.visibility == "private",
                    description=f"{spec.title}: {PURPOSE[key]}")
        if found is None:
            say(f"project {where} does not exist yet: planned as an empty repository")
            actions.append(Action(Op.CREATE_PROJECT, "", "", "",
                                  detail=f"{where} (does not exist yet)"))
            continue
        if found.created:
            say(f"created project {found.path} ({found.web_url})")
            actions.append(Action(Op.CREATE_PROJECT, "", "", "",
                                  detail=f"{found.path} ({found.web_url})"))
        _check_clone_url(found, key, allowed_hosts)
        projects[key] = found
        targets[key] = replace(target, url=found.clone_url)
    return Provisioned(replace(spec, assignments=targets["assignments"],
                               student_template=targets.get("studentTemplate")),
                       projects, tuple(actions))


def _check_clone_url(project: hosting.Project, key: str, allowed: Sequence[str]) -> None:
    """The provider's clone URL obeys the rules a URL in the spec would (it is the server's
    configuration, not the spec's, but the token is sent there all the same)."""
    what = f"spec.{key}.project: the provider's clone URL of {project.path}"
    problem = git_url_problem(project.clone_url) or destination_problem(
        *git_host(project.clone_url), allowed, "EXLIB_ALLOWED_GIT_HOSTS", f"{what}: Git")
    if problem:
        raise ProviderFailed(problem if problem.startswith(what) else f"{what}: {problem}")


@dataclass(frozen=True)
class Handed:
    """What `hand_over` did: the contents with their request URLs, the actions, and the
    problems (content path -> message) of requests that could not be opened or changed."""

    contents: tuple[Content, ...]
    actions: tuple[Action, ...]
    problems: Mapping[str, str]
    urls: Mapping[str, str | None]  # row id -> request URL to store, where it changed


def hand_over(provider: hosting.Provider, project: hosting.Project, spec: CourseSpec,
              contents: Sequence[Content], branches: Sequence[BranchOp], *, dry_run: bool,
              pushed: Callable[[Content], bool], say: Callable[[str], None],
              gone: Sequence[Content] = ()) -> Handed:
    """One request per waiting update branch; see the module doc. `pushed` tells whether a
    content's update branch is on the server (planning: whether it would be); `gone` are
    rows no longer in the course (archived), whose open request is closed too."""
    by_id = {c.id: c for c in contents}
    want: dict[str, requests.Wanted] = {}
    for op in branches:
        content = by_id.get(op.row_id)
        if content is not None and content.state in ON_BRANCH and pushed(content):
            want[op.row_id] = requests.wanted(op, content, target_branch=spec.assignments.branch,
                                              base=spec.assignments.path)
    stale = [c for c in (*contents, *gone) if c.update_request_url and c.id not in want]
    removed = {c.id for c in gone}
    actions: list[Action] = []
    problems: dict[str, str] = {}
    urls: dict[str, str | None] = {}
    for content in [by_id[i] for i in want] + stale:
        wish = want.get(content.id)
        branch = wish.branch if wish else update_branch(spec.path, content.path)
        try:
            found = provider.find_request(project, branch)
            url, done = _act(provider, project, spec, content, wish, found, dry_run,
                             removed=content.id in removed)
        except hosting.HostingError as err:
            problems[content.path] = (f"the merge request for {branch} could not be handed "
                                      f"over ({err}); exlib tries again next pass")
            say(problems[content.path])
            continue
        actions += done
        if url != content.update_request_url:
            urls[content.id] = url
    out = tuple(replace(c, update_request_url=urls[c.id]) if c.id in urls else c
                for c in contents)
    return Handed(out, tuple(actions), problems, {} if dry_run else urls)


def _act(provider: hosting.Provider, project: hosting.Project, spec: CourseSpec,
         content: Content, wish: requests.Wanted | None, found: hosting.Request | None,
         dry_run: bool, removed: bool) -> tuple[str | None, list[Action]]:
    """Carry out the decision for one branch; the request URL to keep, and the actions."""
    do = requests.decide(wish, found)

    def action(op: Op, detail: str) -> Action:
        return Action(op, content.path, content.spec_id, content.id, detail=detail)

    if do == requests.Do.NOTHING:
        return (found.url if found else None), []
    if do == requests.Do.FORGET:
        return None, []
    if do == requests.Do.CLOSE:
        assert found is not None
        if not dry_run:
            provider.close_request(project, found.number, comment=requests.close_comment(
                None if removed else content))
        return None, [action(Op.CLOSE_REQUEST, f"{found.url} (no update waits on it)")]
    assert wish is not None
    if do == requests.Do.UPDATE:
        assert found is not None
        if not dry_run:
            provider.update_request(project, found.number, title=wish.title,
                                    description=wish.description)
        return found.url, [action(Op.UPDATE_REQUEST, f"{found.url}: {wish.title}")]
    done: list[Action] = []
    if do == requests.Do.SUPERSEDE:
        assert found is not None
        if not dry_run:
            provider.close_request(project, found.number,
                                   comment=requests.supersede_comment(found, wish))
        done.append(action(Op.CLOSE_REQUEST, f"{found.url} (superseded)"))
    if dry_run:
        return None, [*done, action(Op.OPEN_REQUEST, wish.title)]
    new = provider.open_request(project, source_branch=wish.branch,
                                target_branch=spec.assignments.branch, title=wish.title,
                                description=wish.description)
    killpoints.reach(killpoints.COURSE_AFTER_REQUEST)
    if do == requests.Do.SUPERSEDE and found is not None:
        provider.close_request(project, found.number, comment=requests.link_comment(new))
    return new.url, [*done, action(Op.OPEN_REQUEST, f"{new.url}: {wish.title}")]
