"""The tenancy rules: which Git URLs exlib uses, where it connects, who may use a repository."""

from __future__ import annotations

import re

import pytest

from controller import jsonschemas
from controller.tenancy import (
    GIT_URL_PATTERN,
    PROVIDER_URL_PATTERN,
    S3_ENDPOINT_PATTERN,
    Visibility,
    destination_problem,
    endpoint_host,
    git_host,
    git_url_problem,
    parse_globs,
    redact,
    same_server,
    use_problem,
)

GOOD = [
    "https://git.example.edu/group/repo.git",
    "http://127.0.0.1:8080/repos/abc.git",
    "https://[::1]:8443/x",
    "ssh://git@git.example.edu:2222/group/repo.git",
    "ssh://git.example.edu/srv/repo.git",
    "git@github.com:group/repo.git",
    "deploy_user@git.example.edu:/srv/repo.git",
    "https://git.example.edu:65535/x",
    "https://[2001:db8::7]/x",
    "https://[::ffff:192.0.2.1]/x",
    "git@[2001:db8::7]:g/r.git",
    "https://xn--bcher-kva.example/x",
]
TOKEN = "glpat-Zx81ksLmQ0aBcDeFgHiJ"
BAD = {
    "/tmp/cache/git/0a1b2c.git": "local path",
    "file:///var/cache/exlib/git/0a1b2c.git": "local path",
    "./victim.git": "local path",
    "../x": "local path",
    "C:/repos/x.git": "local path",
    "ftp://host/x": "ftp://",
    "git://host/x": "git://",
    f"https://{TOKEN}@git.example.edu/g/r.git": "user name",
    f"https://oauth2:{TOKEN}@git.example.edu/g/r.git": "password or token",
    f"ssh://git:{TOKEN}@git.example.edu/g/r.git": "password or token",
    f"https://git.example.edu/g/r.git?private_token={TOKEN}": "query",
    f"https://git.example.edu/g/r.git#{TOKEN}": "query or fragment",
    f"{TOKEN}@git.example.edu:g/r.git": "login name",
    f"ssh://{TOKEN}@git.example.edu/g/r.git": "login name",
    "https://git.example.edu/a b": "not a Git URL",
    "https://host/x\n": "not a Git URL",
    "HTTPS://host/x": "not a Git URL",
    " https://host/x": "does not allow",
    "https://host:65536/x": "not a Git URL",
    "https://host:0/x": "not a Git URL",
    "https://[:]/x": "not a Git URL",
    "https://[1.2.3.4]/x": "not a Git URL",
    "https://[1::2::3]/x": "not a Git URL",
    "ssh://-oProxyCommand/x": "not a Git URL",
    "git@-oProxyCommand:x": "not a Git URL",
    "https://bücher.example/x": "not a Git URL",
    "http://git.example.edu@evil.example.com/x": "user name",
    "http://evil.example.com#@git.example.edu/x": "query or fragment",
    "http://u%40git.example.edu@evil.example.com/x": "user name",
}


@pytest.mark.parametrize("url", GOOD)
def test_server_urls_are_accepted(url: str) -> None:
    assert git_url_problem(url) is None
    assert re.fullmatch(GIT_URL_PATTERN, url)


@pytest.mark.parametrize("url", GOOD)
def test_every_accepted_url_has_a_host_and_port(url: str) -> None:
    """A URL the rule accepts never makes the host check raise (no raw traceback)."""
    host, port = git_host(url)
    assert host and not host.startswith("[") and (port is None or 0 < port < 65536)


@pytest.mark.parametrize(("url", "says"), BAD.items())
def test_local_paths_other_schemes_and_credentials_are_refused(url: str, says: str) -> None:
    problem = git_url_problem(url)
    assert problem is not None and says in problem
    assert not re.fullmatch(GIT_URL_PATTERN, url), "the schema must refuse what the rule refuses"
    assert TOKEN not in problem, "a credential must never be echoed"
    assert "Secret" in problem or "https://host/path" in problem  # says what to do


def test_redact_keeps_host_and_path_only() -> None:
    assert redact(f"https://a:{TOKEN}@h:1/p?t={TOKEN}") == "https://***@h:1/p"
    assert redact(f"{TOKEN}@h:g/r.git") == "***@h:g/r.git"
    assert redact("https://h/p") == "https://h/p"


def test_every_git_url_field_in_the_schemas_uses_the_rule() -> None:
    """ExampleRepository git.url, CourseStructure assignments.url and studentTemplate.url."""
    repo = jsonschemas.load(jsonschemas.EXAMPLE_REPOSITORY)
    course = jsonschemas.load(jsonschemas.COURSE_STRUCTURE)
    assert repo["properties"]["git"]["properties"]["url"]["pattern"] == GIT_URL_PATTERN
    for key in ("assignments", "studentTemplate"):
        assert course["properties"][key]["properties"]["url"]["pattern"] == GIT_URL_PATTERN
    assert course["properties"]["provider"]["properties"]["url"]["pattern"] == (
        PROVIDER_URL_PATTERN)
    s3 = repo["properties"]["s3"]["properties"]["endpoint"]["pattern"]
    assert s3 == S3_ENDPOINT_PATTERN
    assert re.fullmatch(s3, "minio.example.edu:9000") and re.fullmatch(s3, "[::1]:9000")
    for bad in ("user:secret@minio:9000", "https://minio:9000", "/var/cache"):
        assert not re.fullmatch(s3, bad)


def test_hosts_of_urls_and_endpoints() -> None:
    assert git_host("https://Git.Example.edu:8443/x") == ("git.example.edu", 8443)
    assert git_host("git@git.example.edu:g/r.git") == ("git.example.edu", None)
    assert git_host("ssh://git@h.example.edu/r") == ("h.example.edu", None)
    assert git_host("git@[2001:DB8::7]:g/r.git") == git_host("ssh://[2001:db8::7]/g/r.git")
    assert endpoint_host("minio.example.edu:9000") == ("minio.example.edu", 9000)
    assert endpoint_host("https://s3.amazonaws.com") == ("s3.amazonaws.com", None)


def test_same_server_is_host_and_port() -> None:
    assert same_server("http://git.example.edu/a.git", "https://git.example.edu/a.git")
    assert same_server("git@git.example.edu:a.git", "ssh://git@git.example.edu/a.git")
    assert not same_server("http://127.0.0.1:8080/a.git", "http://localhost:8080/a.git")
    assert not same_server("https://git.example.edu/a", "https://git.example.edu:8443/a")
    # a redirect to a URL Python cannot parse (it comes from the server, unchecked) is
    # another server, not a crash inside the credentials callback
    assert not same_server("http://[1.2.3.4]/a.git", "http://git.example.edu/a.git")
    assert not same_server("http://git.example.edu:99999/a", "http://git.example.edu/a")


def test_allowed_destinations_are_globs_and_empty_allows_any() -> None:
    allowed = parse_globs(" *.example.edu , minio.local:9000,")
    assert allowed == ("*.example.edu", "minio.local:9000")
    assert destination_problem("git.example.edu", None, allowed, "EXLIB_X", "Git") is None
    assert destination_problem("minio.local", 9000, allowed, "EXLIB_X", "S3") is None
    refused = destination_problem("minio.local", 9001, allowed, "EXLIB_X", "S3")
    assert refused and "EXLIB_X" in refused and "minio.local" in refused
    assert destination_problem("evil.example.com", None, allowed, "EXLIB_X", "Git")
    assert destination_problem("anything", None, (), "EXLIB_X", "Git") is None


@pytest.mark.parametrize(("visibility", "namespace", "allowed"), [
    (Visibility.of("private"), "owner", True),
    (Visibility.of("private"), "other", False),
    (Visibility.of("restricted", ["b", "a"]), "a", True),
    (Visibility.of("restricted", ["a"]), "other", False),
    (Visibility.of("restricted"), "other", False),
    (Visibility.of("public"), "other", True),
    (Visibility.of("something-else"), "other", False),
])
def test_one_rule_decides_who_may_use_a_repository(visibility: Visibility, namespace: str,
                                                   allowed: bool) -> None:
    problem = use_problem(namespace, "owner/basics", visibility)
    assert (problem is None) is allowed
    if problem:
        assert "owner/basics" in problem and namespace in problem


def test_allowed_namespaces_only_count_when_restricted() -> None:
    assert Visibility.of("public", ["x"]) == Visibility("public", ())
    assert Visibility.of("restricted", ["b", "a", "b"]).allowed == ("a", "b")


def test_provider_url_host_is_checked_against_the_allowed_git_hosts() -> None:
    from controller.config import Settings
    from controller.operator.inputs import destination_problems

    allowed = Settings("postgresql://db/x", "s3:9000", "a", "s", "b",
                       allowed_git_hosts=("git.example.edu",))
    spec = {"assignments": {"project": "p"},
            "provider": {"url": "https://gitea.elsewhere.org"}}
    found = destination_problems(spec, allowed)
    assert found and found[0].startswith("spec.provider.url: provider host "
                                         "`gitea.elsewhere.org` is not allowed by the operator "
                                         "setting EXLIB_ALLOWED_GIT_HOSTS")
    spec["provider"]["url"] = "https://git.example.edu"
    assert destination_problems(spec, allowed) == []


def test_a_providers_clone_url_obeys_the_rules_of_a_url_in_the_spec() -> None:
    """The provider's configuration names the clone URL, but the token is sent there: a
    local path or a host the administrator did not allow stops the pass before any fetch."""
    from dataclasses import replace

    from controller.course.errors import ProviderFailed
    from controller.course.hosting import _check_clone_url
    from controller.store.hosting import Project

    project = Project("o/p", "file:///var/cache/exlib/git/x.git", "https://web/o/p", "main",
                      True)
    with pytest.raises(ProviderFailed, match=r"^spec.assignments.project: the provider's "
                                             r"clone URL of o/p: .*local path"):
        _check_clone_url(project, "assignments", ())
    elsewhere = replace(project, clone_url="https://git.elsewhere.org/o/p.git")
    with pytest.raises(ProviderFailed, match="EXLIB_ALLOWED_GIT_HOSTS"):
        _check_clone_url(elsewhere, "studentTemplate", ("git.example.edu",))
    _check_clone_url(replace(project, clone_url="https://git.example.edu/o/p.git"),
                     "assignments", ("git.example.edu",))
