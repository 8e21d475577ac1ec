"""One reconcile pass of a CourseStructure (DESIGN §7) — what the operator and the CLI call.

    apply_course(settings, spec, name=, namespace=, credentials=)  -> ApplyReport
    plan_course(...)                                                -> ApplyReport (no changes)
    course_status(settings, reference)                              -> CourseStatus (`exlib status`)

A pass is named steps (`Step`, methods of `_Pass`), each returning its outcome to the next;
the spec is parsed once, by the caller or here:

0. provision (spec.provider only): the projects the spec names exist, their clone URLs are
   the pass's Git URLs (course/hosting.py);
1. resolve: rows and the versions the spec asks for (SpecError lists every problem);
2. deploy assignments: fetch, build the trees that must change, plan, one commit from the
   head's tree, pushed without force — on rejection fetch, re-plan on the new head and retry
   (bounded), so a lecturer's concurrent commit is kept;
3. update branches: conflicting merges (and, with `review`, clean ones) to
   `exlib/update/...`;
4. record rows: one transaction (a kill between push and rows is healed by the next pass,
   which adopts what it finds);
5. merge requests (spec.provider only): one per waiting update branch, found before it is
   opened, so a kill never leads to two (course/requests.py decides);
6. delete finished update branches;
7. student template: committed only when its tree changed;
8. status: the caller's (the operator writes what the report says happened).

Until the push nothing has happened, so a failing step raises; from the push on, the report
carries the failed step (`ApplyReport.failed`) next to what did happen, so a status never
hides a commit that landed.

Nothing is pushed that the rows cannot hold: the spec's values are checked when it is parsed,
and right before each push the pass writes its rows in a transaction that it commits once the
push landed, so anything else the database refuses stops the pass while the branch is still
untouched, and the rows are written once.

Updates of customised directories (docs/updates.md): the planner asks `deploy.BranchTrees`
for three-way merges and whether an update branch was merged; a conflicting merge is pushed
to its update branch after the pass's commit, on top of the head the pass ends with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import pygit2
import sqlalchemy as sa
from sqlalchemy.orm import Session

from controller.config import Settings
from controller.course import branches, deploy, hosting, lookup
from controller.course.errors import (
    CommitFailed,
    CourseError,
    DatabaseFailed,
    FetchFailed,
    PassRunning,
)
from controller.course.plan import (
    ON_BRANCH,
    UPDATE_BRANCH_PREFIX,
    Action,
    Content,
    Op,
    Plan,
    State,
    needs_build,
    plan,
)
from controller.course.resolution import Resolution, resolve_course
from controller.course.rows import (
    find_course,
    load_contents,
    record_template_commit,
    save_course,
    save_plan,
    save_request_urls,
)
from controller.course.spec import CourseSpec, GitTarget, parse_spec
from controller.phases import Phases
from controller.store import git
from controller.store.db import database_errors_as, session_scope, shared_engine
from controller.store.db.base import utcnow
from controller.store.db.locks import LockBusy, LockKind, advisory_lock, lock_connection
from controller.store.hosting import Provider
from controller.store.objects import object_store
from controller.tenancy import redact
from controller.testing import killpoints

MAX_PUSH_ATTEMPTS = 5
Say = Callable[[str], None]


@dataclass(frozen=True)
class CourseCredentials:
    """Git credentials per repository of a course, and the provider's API token (from the
    secrets its spec references)."""

    assignments: git.Credentials | None = None
    student_template: git.Credentials | None = None
    provider_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RepoResult:
    """One course repository after a pass: its head, and whether this pass changed it."""

    commit: str | None  # the branch head after the pass
    changed: bool  # this pass made (or, planning, would make) a commit
    landed: bool = False  # assignments: the head is a deployment exlib made (see _landed)

    def to_dict(self) -> dict[str, Any]:
        """The `exlib apply -o json` form."""
        return {"commit": self.commit, "changed": self.changed}


@dataclass(frozen=True)
class ApplyReport:
    """What one course pass did (or, planning, would do): what `exlib apply` prints and the
    operator turns into the CourseStructure's status, events and conditions."""

    course_id: str | None
    course_path: str
    assignments: RepoResult
    student_template: RepoResult | None
    actions: tuple[Action, ...]
    contents: tuple[dict[str, Any], ...]  # content_dict() of every live row, tree order
    dry_run: bool = False
    recorded: bool = False  # the rows (so `contents` and `counts`) were written
    failed: StepFailed | None = None  # the step after the push that stopped the pass
    # spec.provider: each project by spec field ({"webUrl", "path"}), and the merge requests
    # that could not be handed over (content path -> message; the pass went on)
    projects: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    request_problems: Mapping[str, str] = field(default_factory=dict)
    phases: Mapping[str, float] = field(default_factory=dict)  # seconds (controller.phases)

    @property
    def assignments_commit(self) -> str | None:
        """The assignments branch head after the pass."""
        return self.assignments.commit

    @property
    def assignments_changed(self) -> bool:
        """Whether this pass committed to the assignments branch."""
        return self.assignments.changed

    @property
    def template_commit(self) -> str | None:
        """The student-template branch head after the pass (None: the course has none)."""
        return self.student_template.commit if self.student_template else None

    @property
    def template_changed(self) -> bool:
        """Whether this pass committed to the student-template branch."""
        return bool(self.student_template and self.student_template.changed)

    @property
    def counts(self) -> dict[str, int]:
        """CourseStructure status counts (DESIGN §6), over assignments."""
        assignments = [c for c in self.contents if c["kind"] == "assignment"]
        states = [c["state"] for c in assignments]
        return {"contents": len(self.contents),
                "deployed": sum(s in (State.DEPLOYED, State.CUSTOMIZED, State.UPDATE_AVAILABLE,
                                      State.UPDATE_CONFLICT, State.UPDATE_REVIEW)
                                for s in states),
                "customized": sum(c["customized"] for c in assignments),
                "updateAvailable": states.count(State.UPDATE_AVAILABLE.value)
                + states.count(State.UPDATE_REVIEW.value),
                "conflicts": states.count(State.UPDATE_CONFLICT.value),
                "failed": states.count(State.BLOCKED.value)}

    def to_dict(self) -> dict[str, Any]:
        """The `exlib apply -o json` form."""
        return {
            "course": {"id": self.course_id, "path": self.course_path},
            "dryRun": self.dry_run,
            "assignments": self.assignments.to_dict(),
            "studentTemplate": self.student_template.to_dict() if self.student_template
            else None,
            "actions": [a.to_dict() for a in self.actions],
            "contents": list(self.contents),
            "counts": self.counts,
            "failed": {"step": str(self.failed.step), "error": type(self.failed.error).__name__,
                       "message": str(self.failed.error)} if self.failed else None,
            "projects": dict(self.projects),
            "phases": dict(self.phases),
        }


def content_dict(c: Content) -> dict[str, Any]:
    """One content as reports and `exlib status` show it.

    `version` is the deployed version, `desiredVersion` the spec's `version` as written (None:
    pinned to the version first deployed), `availableVersion` the version an update would
    move to when it is not applied (keep, or a conflict on `updateBranch`).
    """
    return {"path": c.path, "id": c.id, "kind": c.kind, "type": c.type, "title": c.title,
            "example": c.identifier, "version": c.tag, "digest": c.digest,
            "desiredVersion": c.version_spec, "availableVersion": c.pending_tag,
            "state": c.state, "customized": c.is_customized, "message": c.message,
            "updateBranch": c.update_branch if c.state in ON_BRANCH else None,
            "request": c.update_request_url}


Creds = CourseCredentials | git.Credentials | Mapping[str, git.Credentials | None] | None


def _credentials(value: Creds) -> CourseCredentials:
    """One credential for both repositories, or per repository (spec key -> credentials)."""
    if isinstance(value, git.Credentials):
        return CourseCredentials(value, value)
    if isinstance(value, Mapping):
        return CourseCredentials(value.get("assignments"), value.get("studentTemplate"))
    return value or CourseCredentials()


class _Branch:
    """A course repository's branch in the local bare cache of its CourseStructure.

    `owner` (`course/<namespace>/<name>`) keys the cache, so no other namespace's course
    (nor repository) ever opens it.
    """

    def __init__(self, settings: Settings, target: GitTarget, creds: git.Credentials | None,
                 what: str, owner: str, course_path: str = "", *, timeout: float) -> None:
        self.settings, self.target, self.creds, self.what = settings, target, creds, what
        self.timeout = timeout  # of each fetch and push (spec.timeout)
        self.repo = git.open_cache(settings.cache_dir, target.url, f"{owner}/{what}")
        self.head: pygit2.Commit | None = None
        self.owner, self.course_path = owner, course_path

    @property
    def tree(self) -> pygit2.Tree | None:
        """The head's tree (None: the branch does not exist yet)."""
        return self.head.tree if self.head is not None else None

    @property
    def head_id(self) -> str | None:
        """The head commit's id (None: the branch does not exist yet)."""
        return str(self.head.id) if self.head is not None else None

    @property
    def _updates(self) -> str:
        return f"refs/heads/{UPDATE_BRANCH_PREFIX}/{self.course_path}/"

    def fetch(self) -> None:
        """Fetch the branch and, in a course's assignments repository, the course's update
        branches (same round trip; branches deleted on the server are pruned)."""
        extra = (f"+{self._updates}*:{self._updates}*",) if self.course_path else ()
        if not self.target.url:  # planning: a provider project that does not exist yet
            self.head = None
            return
        try:
            self.head = git.fetch_branch(self.repo, self.target.url, self.target.branch,
                                         self.creds, cache_dir=self.settings.cache_dir,
                                         timeout=self.timeout, extra=extra)
        except git.GitError as err:
            raise FetchFailed(f"{self.what} repository: {err}") from err

    def commit(self, tree_id: str, message: str) -> str | None:
        """A commit of `tree_id` on the head, None when the tree is what the head has."""
        if self.tree is not None and str(self.tree.id) == tree_id:
            return None
        return git.commit_tree(self.repo, tree_id, self.head_id, message)

    def update_tip(self, name: str) -> pygit2.Commit | None:
        """The tip of an update branch as fetched with the branch (None: not on the server)."""
        ref = self.repo.references.get(f"refs/heads/{name}")
        return ref.peel(pygit2.Commit) if ref is not None else None

    def update_branches(self) -> list[str]:
        """This course's update branches on the server (as fetched with the branch)."""
        return sorted(r.removeprefix("refs/heads/") for r in self.repo.references
                      if r.startswith(self._updates))

    def push_update(self, name: str, commit: str) -> None:
        """Push an update branch (never forced; raises git.GitError)."""
        git.push_branch(self.repo, self.target.url, name, commit, self.creds,
                        cache_dir=self.settings.cache_dir, timeout=self.timeout)

    def tips(self, names: list[str]) -> dict[str, pygit2.Commit]:
        """The remote tips of the named branches, fetched (absent ones are left out)."""
        remote = git.ls_remote(self.repo, self.target.url, self.creds,
                               cache_dir=self.settings.cache_dir, timeout=self.timeout)
        present = [n for n in names if f"refs/heads/{n}" in remote]
        if present:
            git.fetch(self.repo, self.target.url, self.creds,
                      tuple(f"+refs/heads/{n}:refs/heads/{n}" for n in present),
                      cache_dir=self.settings.cache_dir, timeout=self.timeout)
        return {n: self.repo.references[f"refs/heads/{n}"].peel(pygit2.Commit)
                for n in present}

    def delete_update(self, name: str) -> None:
        """Delete an update branch on the server (raises git.GitError)."""
        if not name.startswith(f"{UPDATE_BRANCH_PREFIX}/") or name == self.target.branch:
            raise ValueError(f"refusing to delete {name}: not an update branch")
        git.delete_branch(self.repo, self.target.url, name, self.creds,
                          cache_dir=self.settings.cache_dir, timeout=self.timeout)

    def push(self, commit: str) -> bool:
        """Push a commit; False when the branch moved on (then fetched again)."""
        try:
            git.push_branch(self.repo, self.target.url, self.target.branch, commit, self.creds,
                            cache_dir=self.settings.cache_dir, timeout=self.timeout)
        except git.PushRejected:
            self.fetch()
            return False
        except git.GitError as err:
            raise CommitFailed(f"{self.what} repository: {err}") from err
        return True


class Step(StrEnum):
    """The steps after the assignments push, in order (a status names the one that failed).
    Resolving and deploying come first and raise: nothing has landed when they fail."""

    UPDATE_BRANCHES = "update branches"
    RECORD = "record rows"
    REQUESTS = "merge requests"
    PRUNE_BRANCHES = "delete finished update branches"
    STUDENT_TEMPLATE = "student template"


@dataclass(frozen=True)
class StepFailed:
    """A step after the assignments push that failed: the pass stopped there, and what the
    earlier steps did stands (a report, not an exception, so the status can show both)."""

    step: Step
    error: CourseError

    def __str__(self) -> str:
        return f"{type(self.error).__name__} in step `{self.step}`: {self.error}"


@dataclass(frozen=True)
class _Resolved:
    course_id: str | None
    moved: tuple[Action, ...]  # the course's path changed: its row moves
    recorded: str | None  # the last commit whose rows were written
    rows: list[Content]
    resolution: Resolution


@dataclass(frozen=True)
class _Deployed:
    branch: _Branch
    plan: Plan
    commit: str | None  # the commit this pass pushed (planning: would push)
    rows: _Rows | None = None  # written for `plan` and `commit`, not committed yet


class _Rows:
    """The rows of a pass in a transaction kept open across its push: the database refuses
    them before the branch changes, and when the push lands they are committed as they are
    (written once). Closing without a commit rolls them back."""

    def __init__(self, engine: sa.Engine) -> None:
        self.session = Session(engine, expire_on_commit=False)
        self._transaction = self.session.begin()
        self.course_id = ""

    def write(self, spec: CourseSpec, namespace: str, name: str, result: Plan,
              commit: str | None) -> None:
        course = save_course(self.session, spec, namespace, name)
        save_plan(self.session, course, result, commit)
        self.session.flush()
        self.course_id = str(course.id)

    def commit(self) -> str:
        self._transaction.commit()
        self.close()
        return self.course_id

    def close(self) -> None:
        self.session.close()


class _Pass:
    """One pass as named steps; each returns its outcome and the next one takes it.

    Before the assignments push nothing has happened, so a failing step raises; from the
    push on, a failing step ends the pass with a report that carries it (`StepFailed`).
    """

    def __init__(self, settings: Settings, engine: sa.Engine, spec: CourseSpec, name: str,
                 namespace: str, creds: CourseCredentials, dry_run: bool, say: Say,
                 timeout: float, phases: Phases) -> None:
        self.settings, self.engine, self.spec = settings, engine, spec
        self.name, self.namespace, self.creds = name, namespace, creds
        self.dry_run, self.say, self.timeout = dry_run, say, timeout
        self.provider: Provider | None = None  # spec.provider's client (provision)
        self.phases, self.lap = phases, phases.lap

    def run(self) -> ApplyReport:
        """The pass's steps in order: provision, resolve, deploy, record, hand over updates."""
        self.lap("lock")
        provisioned = self.provision()
        resolved = self.resolve()
        self.lap("resolve")
        deployed = self.deploy_assignments(resolved)
        result, course_id = deployed.plan, resolved.course_id
        cleaned: tuple[Action, ...] = ()
        handed: hosting.Handed | None = None
        template: RepoResult | None = None
        failed: StepFailed | None = None
        recorded = False
        step = Step.UPDATE_BRANCHES
        try:
            result = self.update_branches(deployed)
            step = Step.RECORD
            course_id = self.record_rows(deployed, result) or course_id
            recorded = not self.dry_run
            step = Step.REQUESTS
            handed = self.requests(provisioned, result, resolved.rows)
            step = Step.PRUNE_BRANCHES
            cleaned = self.prune_branches(deployed.branch, resolved.rows, result)
            self.lap("prune")
            step = Step.STUDENT_TEMPLATE
            template = self.student_template(deployed.branch, result.contents, course_id)
            if template is not None:
                self.lap("template")
        except CourseError as err:
            failed = StepFailed(step, err)
        finally:
            if deployed.rows is not None:
                deployed.rows.close()  # not committed (a step failed): rolled back
        head = deployed.commit or deployed.branch.head_id
        actions = provisioned.actions + resolved.moved + result.actions
        contents, problems = result.contents, {}
        if handed is not None:
            actions += handed.actions
            contents, problems = handed.contents, handed.problems
        actions += cleaned
        if template is not None and template.changed:
            actions += (Action(Op.STUDENT_TEMPLATE, "", "", "",
                               detail=f"commit {template.commit}"),)
        assignments = RepoResult(head, deployed.commit is not None,
                                 landed=_landed(result, head, deployed.commit))
        shown = tuple(content_dict(c) for c in contents)
        return ApplyReport(course_id, self.spec.path, assignments, template, actions,
                           tuple(c | {"message": f"{c['message']}; {problems[c['path']]}"}
                                 if c["path"] in problems else c for c in shown),
                           self.dry_run, recorded=recorded, failed=failed,
                           projects={k: {"webUrl": p.web_url, "path": p.path}
                                     for k, p in provisioned.projects.items()},
                           request_problems=problems, phases=self.phases.seconds)

    def provision(self) -> hosting.Provisioned:
        """With spec.provider: the projects the spec names exist (planning: are looked up),
        and their clone URLs are the pass's Git URLs; a project without a secretRef of its
        own is fetched and pushed with the provider's token."""
        spec = self.spec
        if spec.provider is None:
            return hosting.Provisioned(spec, {})
        token = self.creds.provider_token
        self.provider = hosting.connect(spec.provider, token, self.namespace, self.timeout)
        self.say(f"ensuring the projects on {redact(spec.provider.url)}")
        done = hosting.provision(spec, self.provider, namespace=self.namespace,
                                 allowed_hosts=self.settings.allowed_git_hosts,
                                 dry_run=self.dry_run, say=self.say)
        self.spec = done.spec
        self.lap("provision")
        self.creds = replace(self.creds, assignments=hosting.git_credentials(
            spec.assignments, self.creds.assignments, token), student_template=(
            hosting.git_credentials(spec.student_template, self.creds.student_template, token)
            if spec.student_template else self.creds.student_template))
        return done

    def requests(self, provisioned: hosting.Provisioned, result: Plan, before: list[Content]
                 ) -> hosting.Handed | None:
        """Hand each waiting update branch over as a merge request (hosting.hand_over), and
        record the request URLs that changed. Before finished branches are deleted: Gitea
        closes a pull request whose branch is deleted, without saying why; exlib closes it
        first, with a comment that does."""
        project = provisioned.projects.get("assignments")
        if self.provider is None or project is None:
            return None
        handed = hosting.hand_over(self.provider, project, self.spec, result.contents,
                                   result.branches, dry_run=self.dry_run,
                                   pushed=lambda c: self.dry_run or bool(c.update_commit),
                                   say=self.say, gone=_gone(before, result))
        self.lap("merge requests")
        if handed.urls:
            with database_errors_as(DatabaseFailed), session_scope(self.engine) as session:
                save_request_urls(session, dict(handed.urls))
        return handed

    def resolve(self) -> _Resolved:
        """The course's rows and the versions its spec asks for (SpecError lists all)."""
        spec = self.spec
        with database_errors_as(DatabaseFailed), session_scope(self.engine) as session:
            course = find_course(session, spec, self.namespace, self.name)
            course_id = str(course.id) if course else None
            moved = (Action(Op.MOVE_COURSE, spec.path, "", course_id or "",
                            from_path=course.path),
                     ) if course is not None and course.path != spec.path else ()
            rows = load_contents(session, course.id if course else None)
            resolution = resolve_course(session, spec, self.namespace, _pins(rows))
            return _Resolved(course_id, moved, course.assignments_commit if course else None,
                             rows, resolution)

    def deploy_assignments(self, resolved: _Resolved) -> _Deployed:
        """Plan on the branch head and push one commit, never forced; on rejection re-plan on
        the new head (bounded), so a lecturer's concurrent commit is kept.

        Directories this course's passes pushed after the last recorded commit without rows
        are healed (plan.py's module doc); the rows are written before the push and committed
        after it (`_Rows`), so the database refuses before the branch changes, not after.
        """
        spec, say = self.spec, self.say
        base = spec.assignments.path
        say(f"fetching {spec.assignments.url} ({spec.assignments.branch})")
        branch = _Branch(self.settings, spec.assignments, self.creds.assignments,
                         "assignments", f"course/{self.namespace}/{self.name}", spec.path,
                         timeout=self.timeout)
        branch.fetch()
        self.lap("fetch")
        versions = deploy.VersionTrees(self.settings.cache_dir,
                                       object_store(self.settings, self.timeout),
                                       self.settings.upload_workers)
        course = f"{branch.owner} {spec.path}"  # the trailer naming this course's passes
        desired, rows = resolved.resolution.desired, resolved.rows
        properties = {d.node.id: d.node.properties for d in desired}
        built: dict[str, str] = {}
        trees = deploy.BranchTrees(branch.repo, base, branch.update_tip)
        for attempt in range(1, MAX_PUSH_ATTEMPTS + 1):
            missing = [i for i in needs_build(desired, rows) if i not in built]
            if missing:
                say(f"building {len(missing)} deployed director(ies)")
                deploy.read_versions(versions, resolved.resolution.sources, missing)
                self.lap("read")
            built |= deploy.build_trees(branch.repo, resolved.resolution.sources, properties,
                                        missing, versions)
            self.lap("build")
            result = plan(desired, rows, deploy.head_lookup(branch.repo, branch.tree, base),
                          built, prune=spec.prune, trees=trees.at(branch.head),
                          course_path=spec.path,
                          orphans=deploy.unrecorded_deploys(branch.head, resolved.recorded,
                                                            course))
            if not result.dir_ops:
                self.lap("plan")
                return _Deployed(branch, result, None)
            tree = deploy.apply_dir_ops(branch.repo, branch.tree, result.dir_ops, base)
            commit = branch.commit(tree, result.commit_message(spec.path)
                                   + deploy.deployed_trailers(branch.repo, tree,
                                                              result.dir_ops, base, course))
            self.lap("plan")
            if commit is None or self.dry_run:
                return _Deployed(branch, result, commit)
            written = _Rows(self.engine)
            try:
                with database_errors_as(DatabaseFailed):
                    written.write(self.spec, self.namespace, self.name, result, commit)
                self.lap("rows")
                say(f"pushing {commit[:12]} (attempt {attempt})")
                pushed = branch.push(commit)
            except BaseException:
                written.close()
                raise
            self.lap("push")
            if pushed:
                killpoints.reach(killpoints.COURSE_AFTER_PUSH)
                branch.head = branch.repo[commit].peel(pygit2.Commit)
                return _Deployed(branch, result, commit, written)
            written.close()
            say("the branch moved on meanwhile: re-planning on the new head")
        raise _push_gave_up("assignments", spec.assignments.branch)

    def update_branches(self, deployed: _Deployed) -> Plan:
        """Push conflicting merges to their update branches, on the head the pass ends with;
        a failed push is a row message (the next pass retries), never a failed pass."""
        result, branch = deployed.plan, deployed.branch
        if not result.branches or self.dry_run:
            return result
        pushed = deploy.push_update_branches(branch.repo, branch.head,
                                             self.spec.assignments.path, result.branches,
                                             branch.update_tip, branch.push_update, self.say)
        self.lap("update branches")
        return result.with_branch_results(pushed)

    def record_rows(self, deployed: _Deployed, result: Plan) -> str | None:
        """Commit the rows written before the push, or, when update branches changed them or
        nothing was pushed, write them in one transaction; the course id (None when planning).

        A kill after the push and before this commits is healed by the next pass, which
        adopts the directories it finds (they hold what it would deploy)."""
        if self.dry_run:
            return None
        rows = deployed.rows
        if rows is not None and result is deployed.plan:
            with database_errors_as(DatabaseFailed):
                course_id = rows.commit()
        else:
            if rows is not None:
                rows.close()
            with database_errors_as(DatabaseFailed), session_scope(self.engine) as session:
                row = save_course(session, self.spec, self.namespace, self.name)
                save_plan(session, row, result, deployed.commit or deployed.branch.head_id)
                course_id = str(row.id)
        self.lap("rows")
        killpoints.reach(killpoints.COURSE_AFTER_ROWS)
        return course_id

    def prune_branches(self, branch: _Branch, before: list[Content], result: Plan
                       ) -> tuple[Action, ...]:
        """Delete update branches no conflict needs any more (after the rows, which no
        longer name them); a failed deletion is said, not raised."""
        return branches.prune(branch.repo, branch.head, self.spec.assignments.path,
                              branches.finished(before, result.contents,
                                                branch.update_branches()), branch.tips,
                              None if self.dry_run else branch.delete_update, self.say)

    def student_template(self, source: _Branch, contents: tuple[Content, ...],
                         course_id: str | None) -> RepoResult | None:
        """Commit the template built from the assignments head when its tree changed, and
        record that commit on the course row."""
        spec, target = self.spec, self.spec.student_template
        if target is None:
            return None
        branch = _Branch(self.settings, target, self.creds.student_template,
                         "student-template", source.owner, timeout=self.timeout)
        branch.fetch()
        files = deploy.student_template_files(source.repo, source.tree, contents,
                                              spec.assignments.path)
        assignments = sum(c.kind == "assignment" for c in contents)
        for _ in range(MAX_PUSH_ATTEMPTS):
            tree = git.tree_from_files(branch.repo, files)
            commit = branch.commit(tree, f"exlib: student template of {spec.path} "
                                         f"({assignments} assignments)\n\nGenerated from "
                                         f"{spec.assignments.url} at {source.head_id}.\n")
            if commit is None or self.dry_run:
                return RepoResult(branch.head_id if commit is None else commit,
                                  commit is not None)
            self.say(f"pushing student template {commit[:12]}")
            if branch.push(commit):
                assert course_id is not None, "the rows are recorded before the template"
                with database_errors_as(DatabaseFailed), session_scope(self.engine) as session:
                    record_template_commit(session, course_id, commit)
                return RepoResult(commit, True)
        raise _push_gave_up("student-template", target.branch)


def _gone(before: list[Content], result: Plan) -> list[Content]:
    """Rows of the course that are not live after the pass (removed nodes), as they were."""
    live = {c.id for c in result.contents}
    return [r for r in before if r.id not in live]


def _push_gave_up(what: str, branch: str) -> CommitFailed:
    """The branch moved on before every attempt: say so; the caller says what happens next
    (the operator retries with backoff, `exlib apply` is run again by a person)."""
    return CommitFailed(f"{what} repository: the push to branch `{branch}` was rejected "
                        f"{MAX_PUSH_ATTEMPTS} times because someone pushed to it each time; "
                        "nothing of this pass was pushed there")


def _landed(result: Plan, head: str | None, commit: str | None) -> bool:
    """The head is a deployment exlib recorded: pushed by this pass, or by one stopped before
    its status was written (its rows adopt or name the head), so it is announced once."""
    return commit is not None or (head is not None and (
        any(w.deployed for w in result.rows)
        or any(c.deployed_commit == head for c in result.contents)))


def apply_course(settings: Settings, spec: CourseSpec | Mapping[str, Any], *, name: str,
                 namespace: str, credentials: Creds = None,
                 dry_run: bool = False, progress: Say | None = None) -> ApplyReport:
    """Run one pass (or, with dry_run, compute it without changing anything anywhere).

    A `CourseSpec` the caller parsed (the operator, once per pass) is used as it is; a
    mapping is parsed here (CLI, tests)."""
    say = progress or (lambda _message: None)
    course_spec = spec if isinstance(spec, CourseSpec) else parse_spec(spec, namespace)
    timeout = course_spec.timeout
    phases = Phases()
    engine = shared_engine(settings.database_url, timeout)
    owner = f"{namespace}/{name}"
    with database_errors_as(DatabaseFailed), (nullcontext() if dry_run else
                       _one_pass(engine, course_spec.path, owner, timeout, say)):
        return _Pass(settings, engine, course_spec, name, namespace,
                     _credentials(credentials), dry_run, say, timeout, phases).run()


@contextmanager
def _one_pass(engine: sa.Engine, path: str, owner: str, wait: float, say: Say
              ) -> Iterator[None]:
    """One pass per course at a time (the operator and `exlib apply` may race); another
    pass is waited for up to the spec's timeout.

    Two locks, always in this order: the CourseStructure's (a pass that moves the course to
    a new path must not run beside one at the old path) and the path's (two objects naming
    one path must not both take it). Both on one connection: a pass holds one for its locks
    and one for its transactions."""
    with lock_connection(engine) as conn, _held(
            conn, LockKind.COURSE_OWNER, owner, f"a pass of CourseStructure {owner}", wait,
            say), _held(conn, LockKind.COURSE, path, f"a pass of course {path}", wait, say):
        yield


@contextmanager
def _held(conn: sa.Connection, kind: LockKind, key: str, what: str, wait: float,
          say: Say) -> Iterator[None]:
    running = f"{what} is running (another `exlib apply` or the operator)"
    try:
        with advisory_lock(conn, kind, key, wait=wait,
                           on_wait=lambda: say(f"{running}; waiting up to {wait:g} s")):
            yield
    except LockBusy as err:
        raise PassRunning(f"{running} and did not finish within {wait:g} s; nothing was "
                          "changed") from err


def _pins(rows: list[Content]) -> dict[str, tuple[str, str]]:
    """Spec id -> (example id, version id) deployed: where an omitted `version` stays.

    A live row first; else the newest archived one, so a node removed and put back keeps the
    version it was first deployed with (rows come live first, then newest archive first).
    """
    pins: dict[str, tuple[str, str]] = {}
    for r in rows:
        if r.example_id and r.version_id:
            pins.setdefault(r.spec_id, (r.example_id, r.version_id))
    return pins


def plan_course(settings: Settings, spec: Mapping[str, Any], *, name: str, namespace: str,
                credentials: Creds = None,
                progress: Say | None = None) -> ApplyReport:
    """What `apply_course` would do, changing nothing (no push, no row)."""
    return apply_course(settings, spec, name=name, namespace=namespace, credentials=credentials,
                        dry_run=True, progress=progress)


def archive_course(settings: Settings, spec: Mapping[str, Any], *, namespace: str,
                   name: str) -> int:
    """The CourseStructure is gone: archive its live rows (never delete); Git stays as is."""
    course_spec = parse_spec(spec, namespace)
    engine = shared_engine(settings.database_url)
    with database_errors_as(DatabaseFailed), session_scope(engine) as session:
        course = find_course(session, course_spec, namespace, name)
        if course is None:
            return 0
        rows = load_contents(session, course.id, archived=False)
        result = plan([], rows, lambda _path: None, {}, prune=True)
        save_plan(session, course, result, None)
        course.archived_at = utcnow()  # a new CourseStructure may take its name
        return len(result.rows)


@dataclass(frozen=True)
class CourseStatus:
    """A course's live contents as `exlib status` shows them, and which course that is."""

    path: str
    namespace: str
    name: str
    archived: bool
    contents: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The `exlib status -o json` form."""
        return {"course": self.path, "courseStructure": f"{self.namespace}/{self.name}",
                "archived": self.archived, "contents": self.contents}


def course_status(settings: Settings, reference: str) -> CourseStatus:
    """Every live content of the course `reference` names (a course path or its
    CourseStructure's `[namespace/]name`, see `lookup.course_for`); LookupError if there is
    none, ValueError if `reference` cannot name a course."""
    lookup.parse_reference(reference)  # a malformed one is refused before any connection
    engine = shared_engine(settings.database_url)
    with database_errors_as(DatabaseFailed), session_scope(engine) as session:
        course = lookup.course_for(session, reference)
        rows = load_contents(session, course.id, archived=False)
        return CourseStatus(course.path, course.namespace, course.name,
                            course.archived_at is not None,
                            [content_dict(c) | {"updateAvailable": c.pending_tag is not None}
                             for c in rows])

