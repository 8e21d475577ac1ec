"""Who may make exlib read or send what (pure): every tenancy rule in one home.

One operator serves every namespace, so three rules keep a namespace's data its own:

- **Git URLs** (`git_url_problem`): only `https://`, `http://`, `ssh://` and scp-like
  `user@host:path`, so no spec can point at a local path or `file://` (such as the operator's
  cache of another namespace's repository). No credentials in a URL: for http(s) no user
  information at all (a lone user name is how tokens are usually written into URLs, and the
  user name belongs in the Secret's `username`), no query or fragment (`?private_token=`), and
  for SSH only a conventional login name (`git`, `deploy`; lower case, at most 32
  characters), never a password. The same rule is `GIT_URL_PATTERN` in the JSON Schemas, so
  the API server refuses such URLs at `kubectl apply`; a unit test keeps the two in step.
- **Destinations** (`destination_problem`): an administrator may limit the hosts the operator
  connects to (and sends Secrets to) with globs; empty means any.
- **Visibility** (`use_problem`): `private` (its own namespace), `restricted` (also the
  namespaces in `allowedNamespaces`), `public` (every namespace).

Messages never repeat a URL's user information, query or fragment (`redact`), so a token
that was written into a URL does not end up in a status, an event, a log or the database.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from controller import jsonschemas

_LABEL = r"[A-Za-z0-9][A-Za-z0-9-]*"  # never `-…`: no host may read as an ssh option
_H16 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LS32 = rf"({_H16}:{_H16}|{_OCTET}(\.{_OCTET}){{3}})"
#: RFC 3986 IPv6address, so every bracketed host the pattern admits is one Python's (and
#: libgit2's) URL parser accepts too.
_IPV6 = "|".join(
    [rf"({_H16}:){{6}}{_LS32}", rf"::({_H16}:){{5}}{_LS32}"]
    + [rf"(({_H16}:){{0,{n}}}{_H16})?::({_H16}:){{{4 - n}}}{_LS32}" for n in range(5)]
    + [rf"(({_H16}:){{0,5}}{_H16})?::{_H16}", rf"(({_H16}:){{0,6}}{_H16})?::"])
_HOST = rf"({_LABEL}(\.{_LABEL})*|\[({_IPV6})\])"
#: 1..65535: a port Python's URL parser would refuse must not pass the schema.
_PORT = (r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
         r"|[1-9][0-9]{0,3}))?")
_USER = r"[a-z_][a-z0-9_.-]{0,31}"
_PATH = r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]"
#: The whole rule as one regular expression (RE2- and Python-compatible), used verbatim by
#: the JSON Schemas for every Git URL field.
GIT_URL_PATTERN = (rf"^(https?://{_HOST}{_PORT}(/{_PATH}*)?"
                   rf"|ssh://({_USER}@)?{_HOST}{_PORT}/{_PATH}*"
                   rf"|{_USER}@{_HOST}:{_PATH}+)$")
_GIT_URL = re.compile(GIT_URL_PATTERN)
#: A Git hosting provider's base URL (spec.provider.url): http(s) only, same host rules.
PROVIDER_URL_PATTERN = rf"^https?://{_HOST}{_PORT}(/{_PATH}*)?$"
_PROVIDER_URL = re.compile(PROVIDER_URL_PATTERN)
#: An S3 endpoint is `host[:port]` (no scheme, no user information), in the schema too.
S3_ENDPOINT_PATTERN = rf"^{_HOST}{_PORT}$"
_SCP = re.compile(r"^(?P<user>[^@/:]+)@(?P<host>\[[^\]/@]*\]|[^@/:]+):(?P<path>.*)$")
_ACCEPTED = ("write it as https://host/path, ssh://git@host/path or git@host:path")
_CREDENTIALS_HINT = ("remove it from the URL and put the token or password in the Secret "
                     "named by secretRef (keys token, or username and password)")


def redact(url: str) -> str:
    """`url` without user information, query and fragment: safe to show anywhere."""
    scp = _SCP.match(url)
    if "://" not in url and scp:
        return f"***@{scp['host']}:{scp['path'].split('?')[0].split('#')[0]}"
    head, sep, rest = url.partition("://")
    if not sep:
        return url.split("?")[0].split("#")[0]
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return f"{head}://{authority}{slash}{path}".split("?")[0].split("#")[0]


def _credentials_problem(url: str) -> str | None:
    """What in `url` is (or may be) a credential; None when nothing is."""
    if "?" in url or "#" in url:
        return ("has a query or fragment (`?…` / `#…`), where tokens are often written "
                f"(`?private_token=`); Git URLs need neither: {_CREDENTIALS_HINT}")
    scheme, sep, rest = url.partition("://")
    scp = _SCP.match(url) if not sep else None
    if sep:
        authority = rest.split("/", 1)[0]
        user = authority.rsplit("@", 1)[0] if "@" in authority else None
    else:
        user = scp["user"] if scp else None
    if user is None:
        return None
    if ":" in user:
        return f"contains a password or token (user:password@); {_CREDENTIALS_HINT}"
    if scheme.lower() in ("http", "https"):
        return ("has a user name (`name@`) in an http(s) URL, which is where tokens are "
                f"usually written; {_CREDENTIALS_HINT}")
    if not re.fullmatch(_USER, user):
        return ("has an SSH user name that is not a conventional login name (lower case "
                "letters, digits, `_.-`, at most 32 characters), so it may be a token; use "
                "e.g. git@host:path and put credentials in the Secret named by secretRef")
    return None


def git_url_problem(url: str) -> str | None:
    """None when exlib may fetch from / push to `url`; else what is wrong and what to do.

    The message starts with the redacted URL (never a credential), ready to follow a field
    name such as `spec.git.url: `.
    """
    shown = f"`{_shown(url)}`"
    credentials = _credentials_problem(url)
    if credentials:
        return f"{shown} {credentials}"
    if _GIT_URL.fullmatch(url):  # `$` alone would let a trailing newline through
        return None
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "file" or (not scheme and not _SCP.match(url)):
        return (f"{shown} is a local path or file:// URL; exlib only reads Git repositories "
                f"from a server: {_ACCEPTED}")
    if scheme and scheme not in ("http", "https", "ssh"):
        return f"{shown} uses `{scheme}://`, which exlib does not allow; {_ACCEPTED}"
    return (f"{shown} is not a Git URL exlib accepts (check the host name, port and path "
            f"characters); {_ACCEPTED}")


def provider_url_problem(url: str) -> str | None:
    """None when exlib may call a Git hosting provider's API at `url`; else what is wrong.

    The same host rules as Git URLs, but only http(s) (the API is a web API), and no
    credentials: the token belongs in the Secret named by spec.provider.secretRef."""
    shown = f"`{_shown(url)}`"
    credentials = _credentials_problem(url)
    if credentials:
        return f"{shown} {credentials}"
    if _PROVIDER_URL.fullmatch(url):
        return None
    return (f"{shown} is not a provider address exlib accepts: write the server's base URL "
            "with https:// or http://, e.g. https://gitlab.example.org")


def _shown(url: str) -> str:
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in redact(url))
    return safe[:200]


def explain_schema_error(err: Any) -> str:
    """A JSON Schema finding's message; for a Git URL field, the rule's own message.

    The validator's default text would quote the value, credentials and all.
    """
    if getattr(err, "validator", None) == "pattern" and err.validator_value == GIT_URL_PATTERN:
        return git_url_problem(str(err.instance)) or str(err.message)
    if getattr(err, "validator", None) == "pattern" and (
            err.validator_value == PROVIDER_URL_PATTERN):
        return provider_url_problem(str(err.instance)) or str(err.message)
    return str(err.message)


def spec_url_problems(spec: Any) -> dict[str, str]:
    """`field -> problem` for the Git URLs of an ExampleRepository or CourseStructure spec."""
    out = {}
    for key in ("git", "assignments", "studentTemplate"):
        part = spec.get(key) if isinstance(spec, dict) else None
        url = part.get("url") if isinstance(part, dict) else None
        problem = git_url_problem(url) if isinstance(url, str) else None
        if problem:
            out[f"{key}.url"] = problem
    provider = spec.get("provider") if isinstance(spec, dict) else None
    url = provider.get("url") if isinstance(provider, dict) else None
    problem = provider_url_problem(url) if isinstance(url, str) else None
    if problem:
        out["provider.url"] = problem
    return out


def git_host(url: str) -> tuple[str, int | None]:
    """(host, port) a valid Git URL connects to; the host in lower case."""
    scp = _SCP.match(url) if "://" not in url else None
    if scp:
        return scp["host"].strip("[]").lower(), None
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port


def same_server(url: str, other: str) -> bool:
    """Both URLs name one host and port (an omitted port counts as the scheme's default, so
    an http -> https upgrade on the same host is the same server). A URL Python cannot parse
    (a server's redirect target is not checked by the URL rule) is never the same server."""
    try:
        return git_host(url) == git_host(other)
    except ValueError:
        return False


def endpoint_host(endpoint: str) -> tuple[str, int | None]:
    """(host, port) of an S3 endpoint written `host:port` or as a URL."""
    parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    return (parts.hostname or "").lower(), parts.port


def parse_globs(text: str | None) -> tuple[str, ...]:
    """Comma-separated host globs of an operator setting; empty means no limit."""
    return tuple(p.strip().lower() for p in (text or "").split(",") if p.strip())


def destination_problem(host: str, port: int | None, allowed: Sequence[str],
                        setting: str, what: str) -> str | None:
    """None when `allowed` (globs; empty = any) admits host or host:port; else why not.

    A glob with a port (`minio.example.edu:9000`) admits only that port.
    """
    if not allowed:
        return None
    names = [host] + ([f"{host}:{port}"] if port is not None else [])
    if any(fnmatch.fnmatchcase(n, g) for g in allowed for n in names):
        return None
    return (f"{what} host `{host}` is not allowed by the operator setting {setting} "
            f"({', '.join(allowed)}); use a host the administrator allows, or ask them to "
            f"add this one")


VisibilityKind = Literal["public", "private", "restricted"]
#: A repository's visibility when its spec names none (the schema's default).
DEFAULT_VISIBILITY: VisibilityKind = jsonschemas.default(jsonschemas.EXAMPLE_REPOSITORY,
                                                         "visibility")


@dataclass(frozen=True)
class Visibility:
    """Which namespaces' courses may use a repository's examples."""

    kind: VisibilityKind = DEFAULT_VISIBILITY
    allowed: tuple[str, ...] = ()

    @classmethod
    def of(cls, kind: str | None, allowed: Iterable[str] | None = None) -> Visibility:
        """From a spec or row; unknown kinds read as private (the safe side)."""
        if kind not in ("public", "restricted"):
            return cls("private", ())
        return cls(kind, tuple(sorted(set(allowed or ()))) if kind == "restricted" else ())


def use_problem(namespace: str, repository: str, visibility: Visibility) -> str | None:
    """None when a course in `namespace` may use `repository` ("namespace/name"); else why."""
    owner = repository.split("/", 1)[0]
    if owner == namespace or visibility.kind == "public":
        return None
    if visibility.kind == "restricted":
        if namespace in visibility.allowed:
            return None
        listed = ", ".join(visibility.allowed) or "none"
        return (f"repository {repository} is restricted (allowedNamespaces: {listed}) and "
                f"does not allow namespace {namespace}; ask its owners to add {namespace} to "
                "spec.allowedNamespaces")
    return (f"repository {repository} is private to namespace {owner}; ask its owners to make "
            f"it restricted with {namespace} in spec.allowedNamespaces, or public")
