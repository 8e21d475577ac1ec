"""Tenancy: nothing one namespace writes can read another namespace's data (issue 9, part 1).

Real Git server, PostgreSQL, MinIO, kube-apiserver and the real operator process: an attacker
namespace tries the operator's mirror cache as a Git URL, a token written into a URL, hosts
the administrator did not allow, and a repository restricted to other namespaces.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygit2
import pytest
import sqlalchemy as sa
import yaml

from controller.config import Settings
from controller.library.errors import SourceUnreachable
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.store import git
from controller.store.db import upgrade
from controller.store.git import Credentials
from tests.conftest import Stack
from tests.integration.library_support import exlib
from tests.integration.operator_harness import (
    Kubectl,
    Operator,
    condition,
    start_operator,
    wait_condition,
)
from tests.integration.test_operator_e2e import manifests


def operator_env(stack: Stack, database_url: str, cache: Path, **settings: str
                 ) -> dict[str, str]:
    upgrade(database_url)
    return {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(cache),
            **settings}


@pytest.fixture
def operator(stack: Stack, database_url: str, kubectl: Kubectl,
             tmp_path: Path) -> Iterator[Operator]:
    op = start_operator(operator_env(stack, database_url, tmp_path / "cache"),
                        kubectl.namespace, tmp_path / "operator.log")
    yield op
    kubectl("delete", "coursestructures,examplerepositories", "--all", "--timeout=60s",
            check=False)
    op.stop()


def refused(kubectl: Kubectl, doc: dict[str, Any]) -> str:
    """kubectl apply of `doc` fails; the API server's message."""
    res = kubectl("apply", "-f", "-", input=yaml.safe_dump(doc), check=False)
    assert res.returncode != 0, f"the API server accepted {doc['kind']} {doc['spec']}"
    return res.stderr


def test_the_operators_cache_is_refused_as_a_git_url_at_kubectl_apply(
        stack: Stack, kubectl: Kubectl, course_setup: dict[str, str]) -> None:
    """The attack of issue 9: point a repository or a course at another namespace's mirror."""
    key = hashlib.sha256(course_setup["examples"].encode()).hexdigest()[:24]
    cache = f"/var/cache/exlib/git/{key}.git"
    _, repo, course = manifests(stack, course_setup["examples"], course_setup["assignments"],
                                     course_setup["template"])
    for url in (cache, f"file://{cache}", "../../git/victim.git"):
        repo["spec"]["git"]["url"] = url
        assert "spec.git.url" in refused(kubectl, repo)
        course["spec"]["assignments"]["url"] = url
        assert "spec.assignments.url" in refused(kubectl, course)
    course["spec"]["assignments"]["url"] = course_setup["assignments"]
    course["spec"]["studentTemplate"]["url"] = f"file://{cache}"
    assert "spec.studentTemplate.url" in refused(kubectl, course)
    listed = kubectl("get", "exrepo,course", "-o", "name").stdout
    assert listed.strip() == ""


def test_the_api_server_refuses_hosts_and_ports_the_operator_cannot_parse(
        stack: Stack, kubectl: Kubectl, course_setup: dict[str, str]) -> None:
    """Go's RE2 reads the schema's pattern as Python does: a port above 65535, a bracketed
    host that is no IPv6 address, and a host that reads as an ssh option are refused at
    apply, so none reaches the operator's host check; real IPv6 literals still pass."""
    _, repo, _ = manifests(stack, course_setup["examples"], course_setup["assignments"],
                           course_setup["template"])
    for url in ("https://git.example.edu:65536/x", "https://[1.2.3.4]/x", "https://[:]/x",
                "ssh://-oProxyCommand/x", "git@-oProxyCommand:x"):
        repo["spec"]["git"]["url"] = url
        assert "spec.git.url" in refused(kubectl, repo)
    for url in ("https://[2001:db8::7]:8443/x", "git@[::ffff:192.0.2.1]:g/r.git"):
        repo["spec"]["git"]["url"] = url
        res = kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(repo),
                      check=False)
        assert res.returncode == 0, res.stderr


def test_mirror_caches_are_per_namespace_and_repository(
        stack: Stack, settings: Settings, course_setup: dict[str, str]) -> None:
    """Same URL, two namespaces: the attacker's repository never opens the victim's mirror."""
    victim = SourceSpec("git", course_setup["examples"], path="examples",
                        credentials=Credentials(token=stack.git_token))
    report = sync_repository(settings, victim, name="basics", namespace="victim")
    attacker = SourceSpec("git", course_setup["examples"], path="examples",
                          credentials=Credentials(token="guessed"))
    with pytest.raises(SourceUnreachable):
        sync_repository(settings, attacker, name="basics", namespace="attacker")
    mirrors = sorted((settings.cache_dir / "git").glob("*.git"))
    holding = [m for m in mirrors if report.revision in pygit2.Repository(str(m))]
    assert len(mirrors) == 2 and len(holding) == 1, (
        "the victim's commit must be only in the victim's own mirror")


def test_a_token_in_a_url_is_refused_and_never_stored_or_shown(
        stack: Stack, kubectl: Kubectl, course_setup: dict[str, str],
        database_url: str, tmp_path: Path) -> None:
    token = stack.git_token
    scheme, rest = course_setup["examples"].split("://", 1)
    with_user = f"{scheme}://{token}@{rest}"
    with_password = f"{scheme}://oauth2:{token}@{rest}"
    with_query = f"{course_setup['examples']}?private_token={token}"
    _, repo, course = manifests(stack, course_setup["examples"], course_setup["assignments"],
                                     course_setup["template"])
    for url in (with_user, with_password, with_query):
        repo["spec"]["git"]["url"] = url
        assert "spec.git.url" in refused(kubectl, repo)
        course["spec"]["studentTemplate"]["url"] = url
        assert "spec.studentTemplate.url" in refused(kubectl, course)

    upgrade(database_url)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "c"),
           "EXLIB_GIT_TOKEN": ""}
    for url in (with_user, with_password, with_query):
        res = exlib("sync", "--name", "basics", "--git", url, "--path", "examples", env=env)
        assert res.returncode != 0
        assert "Secret" in res.stderr, res.stderr  # says where the token belongs
        assert token not in res.stdout + res.stderr
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT source_url FROM example_repository")).scalars()
        assert not [u for u in stored if token in u]
    engine.dispose()


def test_hosts_the_administrator_did_not_allow_are_stalled_before_any_fetch(
        stack: Stack, kubectl: Kubectl, course_setup: dict[str, str],
        database_url: str, tmp_path: Path) -> None:
    secret, repo, course = manifests(stack, course_setup["examples"], course_setup["assignments"],
                                     course_setup["template"])
    s3 = {"apiVersion": "exlib.dev/v1alpha1", "kind": "ExampleRepository",
          "metadata": {"name": "from-s3"},
          "spec": {"s3": {"endpoint": stack.env["EXLIB_S3_ENDPOINT"], "bucket": "examples",
                          "insecure": True, "secretRef": {"name": "s3"}}, "interval": "1h"}}
    s3_secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s3"},
                 "stringData": {"accesskey": stack.env["EXLIB_S3_ACCESS_KEY"],
                                "secretkey": stack.env["EXLIB_S3_SECRET_KEY"]}}
    limits = {"EXLIB_ALLOWED_GIT_HOSTS": "*.example.edu",
              "EXLIB_ALLOWED_S3_ENDPOINTS": "s3.example.edu:9000"}
    op = start_operator(operator_env(stack, database_url, tmp_path / "cache", **limits),
                        kubectl.namespace, tmp_path / "op.log")
    try:
        kubectl.apply(secret, s3_secret, repo, s3, course)
        for kind, name, setting in (("exrepo", "basics", "EXLIB_ALLOWED_GIT_HOSTS"),
                                    ("exrepo", "from-s3", "EXLIB_ALLOWED_S3_ENDPOINTS"),
                                    ("course", "prog1", "EXLIB_ALLOWED_GIT_HOSTS")):
            obj = wait_condition(kubectl, kind, name, "Stalled", "True", op)
            ready = condition(obj, "Ready")
            assert ready["status"] == "False" and ready["reason"] == "DestinationNotAllowed"
            assert setting in ready["message"], ready["message"]
        assert not (tmp_path / "cache" / "git").exists() or not any(
            (tmp_path / "cache" / "git").glob("*.git")), "nothing may be fetched"
    finally:
        kubectl("delete", "coursestructures,examplerepositories", "--all",
                "--timeout=60s", check=False)
        op.stop()
    host = course_setup["examples"].split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    op = start_operator(operator_env(stack, database_url, tmp_path / "cache",
                                     EXLIB_ALLOWED_GIT_HOSTS=f"*.example.edu, {host}"),
                        kubectl.namespace, tmp_path / "op2.log")
    try:
        kubectl.apply(repo)
        wait_condition(kubectl, "exrepo", "basics", "Ready", "True", op)
    finally:
        kubectl("delete", "examplerepositories", "--all", "--timeout=60s", check=False)
        op.stop()


def plan(stack: Stack, database_url: str, manifest: Path, namespace: str
         ) -> tuple[int, str, str]:
    """`exlib plan --namespace`: exit code, stdout, stderr."""
    env = {**stack.env, "DATABASE_URL": database_url}
    res = exlib("plan", "-f", str(manifest), "--namespace", namespace, "-o", "json", env=env)
    return res.returncode, res.stdout, res.stderr


def test_a_restricted_repository_is_refused_by_the_cli_as_by_the_operator(
        stack: Stack, kubectl: Kubectl, operator: Operator,
        course_setup: dict[str, str], database_url: str, tmp_path: Path) -> None:
    owner = kubectl.namespace
    secret, repo, course = manifests(stack, course_setup["examples"], course_setup["assignments"],
                                     course_setup["template"])
    repo["spec"].update(visibility="restricted", allowedNamespaces=["friends"])
    kubectl.apply(secret, repo)
    wait_condition(kubectl, "exrepo", "basics", "Ready", "True", operator)
    course["spec"]["exampleRepositories"] = [f"{owner}/basics"]
    manifest = tmp_path / "course.yaml"
    manifest.write_text(yaml.safe_dump(course))

    rc, out, err = plan(stack, database_url, manifest, "attacker")
    assert rc == 2, out + err
    assert f"{owner}/basics is restricted" in err and "namespace attacker" in err
    rc, out, err = plan(stack, database_url, manifest, "friends")
    assert rc == 0, err
    assert json.loads(out)["dryRun"] is True

    # `exlib sync` without --visibility keeps what the operator recorded
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "c")}
    res = exlib("sync", "--name", "basics", "--namespace", owner, "--git", course_setup["examples"],
                "--path", "examples", env=env)
    assert res.returncode == 0, res.stderr
    assert plan(stack, database_url, manifest, "attacker")[0] == 2
    assert plan(stack, database_url, manifest, "friends")[0] == 0
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT visibility, allowed_namespaces FROM "
                                   "example_repository WHERE name = 'basics'")).one()
    engine.dispose()
    assert (row.visibility, list(row.allowed_namespaces)) == ("restricted", ["friends"])


@pytest.fixture
def redirector(stack: Stack, git_repo: str) -> Iterator[tuple[str, str]]:
    """A Git URL on 127.0.0.1 whose server redirects to the real repository on `localhost`."""
    target = git_repo.replace("://127.0.0.1:", "://localhost:")

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target + self.path.split(".git", 1)[-1])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/examples.git", target
    server.shutdown()
    thread.join(10)


def test_credentials_never_follow_a_redirect_to_another_host(
        stack: Stack, redirector: tuple[str, str], tmp_path: Path) -> None:
    """An allowed host that redirects elsewhere must not receive the Secret there."""
    url, target = redirector
    repo = git.open_cache(tmp_path, url, "test")
    with pytest.raises(git.GitAuthError) as refused:
        git.ls_remote(repo, url, Credentials(token=stack.git_token), cache_dir=tmp_path)
    assert "localhost" in str(refused.value) and "redirect" in str(refused.value)
    assert stack.git_token not in str(refused.value)
    # the same server, named directly, gets the credentials
    assert git.ls_remote(repo, target, Credentials(token=stack.git_token), cache_dir=tmp_path) \
        is not None


@pytest.mark.parametrize("url", ["https://alice:s3cr3t-token@127.0.0.1:1/x.git",
                                 "https://127.0.0.1:1/x.git?private_token=s3cr3t-token"])
def test_git_errors_never_show_a_credential_even_when_a_url_slipped_through(
        tmp_path: Path, url: str) -> None:
    """Every entry point refuses such URLs first; the store's own messages are safe on their
    own too, so a missed check still cannot echo a token into a status or an Event."""
    repo = git.open_cache(tmp_path, url, "repository/ns/name")
    for op in (lambda: git.fetch(repo, url, None, cache_dir=tmp_path, timeout=10),
               lambda: git.ls_remote(repo, url, None, cache_dir=tmp_path, timeout=10)):
        with pytest.raises(git.GitError) as err:
            op()
        assert "s3cr3t-token" not in str(err.value)
        assert "127.0.0.1" in str(err.value)  # still says where
