"""Secret material for a Git remote or an S3 source, as plain values (no client loaded).

Specs, Secrets and the CLI build these long before anything connects, and the pure layers
(a source's description, the sync planner) carry them; only `store.git` uses them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, repr=False)
class Credentials:
    """Secret material for one remote; `repr` never shows it."""

    token: str | None = None
    username: str | None = None
    password: str | None = None
    ssh_private_key: str | None = None
    ssh_public_key: str | None = None
    ssh_passphrase: str | None = None
    known_hosts: str | None = None

    def __repr__(self) -> str:
        kinds = [k for k in ("token", "password", "ssh_private_key") if getattr(self, k)]
        return f"Credentials({', '.join(kinds) or 'none'})"


@dataclass(frozen=True)
class S3Credentials:
    """Access keys of an S3 source (or the library bucket); `repr` never shows them."""

    access_key: str | None = None
    secret_key: str | None = None

    def __repr__(self) -> str:
        return "S3Credentials(***)" if self.secret_key else "S3Credentials(none)"
