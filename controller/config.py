"""One settings object for every process (CLI, operator, tests), read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from controller.store.credentials import Credentials, S3Credentials
from controller.tenancy import parse_globs


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the message names the variable."""


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigError(
            f"environment variable {name} is not set; run `eval \"$(hack/devstack env)\"` "
            "for the local stack, or set it in the operator's configuration Secret"
        )
    return value


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in allowed:
        raise ConfigError(f"environment variable {name} is `{value}`; use one of "
                          + ", ".join(allowed))
    return value


def _positive(name: str, default: int) -> int:
    raw = (os.environ.get(name) or str(default)).strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"environment variable {name} is `{raw}`; use a whole number of "
                          "at least 1")
    return int(raw)


@dataclass(frozen=True)
class ExampleLimits:
    """What one example may hold; beyond it the example is invalid, the sync goes on
    (docs/operations.md). Part of every example's fingerprint: changing one re-reads all."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_files: int = 50_000  # files, links and directories of one example
    max_depth: int = 64  # directories nested inside one example
    max_bytes: int = 1024 * 1024 * 1024  # all files of one example

    @classmethod
    def from_env(cls) -> ExampleLimits:
        """The limits as the environment sets them (EXLIB_MAX_*), each a positive whole number."""
        return cls(max_file_bytes=_positive("EXLIB_MAX_FILE_BYTES", cls.max_file_bytes),
                   max_files=_positive("EXLIB_MAX_EXAMPLE_FILES", cls.max_files),
                   max_depth=_positive("EXLIB_MAX_EXAMPLE_DEPTH", cls.max_depth),
                   max_bytes=_positive("EXLIB_MAX_EXAMPLE_BYTES", cls.max_bytes))


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to reach the library (PostgreSQL, the bucket) and the
    operator's bounds; built once per process by `from_env` and passed down."""

    database_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    s3_secure: bool = False
    s3_region: str | None = None
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "exlib")
    limits: ExampleLimits = field(default_factory=ExampleLimits)
    upload_workers: int = 8
    #: "auto": store many small objects per request when the library's store is MinIO
    #: (snowball auto-extract); "on" / "off" force it (off: one PUT per object).
    s3_batch_uploads: str = "auto"
    #: Where the operator may connect (and send Secrets): host globs, empty = anywhere.
    allowed_git_hosts: tuple[str, ...] = ()
    allowed_s3_endpoints: tuple[str, ...] = ()
    #: Operator: passes of one namespace running at once (of 8 pass threads), so a namespace
    #: whose remotes hang cannot hold every thread.
    passes_per_namespace: int = 2

    @classmethod
    def from_env(cls) -> Settings:
        """The settings from the environment; ConfigError names the variable that is missing or
        malformed."""
        return cls(
            database_url=_env("DATABASE_URL"),
            s3_endpoint=_env("EXLIB_S3_ENDPOINT"),
            s3_access_key=_env("EXLIB_S3_ACCESS_KEY"),
            s3_secret_key=_env("EXLIB_S3_SECRET_KEY"),
            s3_bucket=_env("EXLIB_S3_BUCKET", "exlib"),
            s3_secure=_flag("EXLIB_S3_SECURE", False),
            s3_region=os.environ.get("EXLIB_S3_REGION") or None,
            cache_dir=Path(_env("EXLIB_CACHE_DIR", str(Path.home() / ".cache" / "exlib"))),
            limits=ExampleLimits.from_env(),
            upload_workers=_positive("EXLIB_UPLOAD_WORKERS", 8),
            s3_batch_uploads=_choice("EXLIB_S3_BATCH_UPLOADS", ("auto", "on", "off"), "auto"),
            allowed_git_hosts=parse_globs(os.environ.get("EXLIB_ALLOWED_GIT_HOSTS")),
            allowed_s3_endpoints=parse_globs(os.environ.get("EXLIB_ALLOWED_S3_ENDPOINTS")),
            passes_per_namespace=_positive("EXLIB_PASSES_PER_NAMESPACE", 2),
        )


# The CLI's own environment: read here too, so every variable exlib reads is in this module
# (docs/operations.md lists them).


def database_url() -> str:
    """DATABASE_URL alone: `exlib db upgrade` needs nothing else."""
    return _env("DATABASE_URL")


def git_credentials(token_env: str = "EXLIB_GIT_TOKEN", username: str | None = None
                    ) -> Credentials:
    """The CLI's Git credentials: a token from `token_env`, a password from
    EXLIB_GIT_PASSWORD, the user name given or EXLIB_GIT_USERNAME (all optional)."""
    return Credentials(token=os.environ.get(token_env) or None,
                       username=username or os.environ.get("EXLIB_GIT_USERNAME") or None,
                       password=os.environ.get("EXLIB_GIT_PASSWORD") or None)


def provider_token() -> str | None:
    """The CLI's API token for a course's spec.provider (EXLIB_PROVIDER_TOKEN)."""
    return os.environ.get("EXLIB_PROVIDER_TOKEN") or None


@dataclass(frozen=True)
class S3Source:
    """Where `exlib sync --s3` reads: the endpoint, its keys and whether to use TLS."""

    endpoint: str
    credentials: S3Credentials
    secure: bool


def s3_source(endpoint: str | None) -> S3Source:
    """The S3 source of `exlib sync --s3`: `endpoint` or EXLIB_S3_ENDPOINT, keys from
    EXLIB_SOURCE_S3_* falling back to the library's EXLIB_S3_*, TLS as EXLIB_S3_SECURE."""
    endpoint = endpoint or os.environ.get("EXLIB_S3_ENDPOINT")
    if not endpoint:
        raise ConfigError("give --s3-endpoint or set EXLIB_S3_ENDPOINT")
    env = os.environ.get
    keys = S3Credentials(env("EXLIB_SOURCE_S3_ACCESS_KEY") or env("EXLIB_S3_ACCESS_KEY"),
                         env("EXLIB_SOURCE_S3_SECRET_KEY") or env("EXLIB_S3_SECRET_KEY"))
    return S3Source(endpoint, keys, _flag("EXLIB_S3_SECURE", False))
