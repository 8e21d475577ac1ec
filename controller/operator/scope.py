"""Which objects one operator serves (pure): its namespaces and its shard.

Several operators split a cluster on Kubernetes' own terms (docs/operations.md#sharding):
each serves a set of namespaces (Kopf's patterns: globs, `!` negations, comma-separated) or
all of them, and either the objects labelled `exlib.dev/shard=<its shard>` or, without a
shard, the objects carrying no shard label at all. So every object has exactly one operator,
whatever mix of sharded and unsharded operators runs, as long as namespace sets of operators
of the same shard do not overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHARD_LABEL = "exlib.dev/shard"
FINALIZER = "exlib.dev/finalizer"
# A label value that also fits in a finalizer name (`exlib.dev/finalizer-<shard>`, whose part
# after the slash may hold 63 characters).
_SHARD = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")
_GLOB = re.compile(r"^!?[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?$")
_EXAMPLE = "`--namespace 'courses-*,!courses-test'`"


class ScopeError(ValueError):
    """The operator's namespaces or shard are not usable; the message says what to pass."""


@dataclass(frozen=True)
class Scope:
    """Namespaces (empty: all) and shard (None: objects without a shard label)."""

    namespaces: tuple[str, ...]
    shard: str | None

    @property
    def finalizer(self) -> str:
        """Each shard its own finalizer: Kopf removes a finalizer of its name from every object
        its handlers do not match, so shards sharing one would strip each other's."""
        return FINALIZER if self.shard is None else f"{FINALIZER}-{self.shard}"

    def describe(self) -> str:
        """What this operator serves, in words for its start-up log line."""
        where = ("all namespaces" if not self.namespaces
                 else "namespaces " + "; ".join(self.namespaces))
        which = (f"objects labelled {SHARD_LABEL}={self.shard}" if self.shard
                 else f"objects without a {SHARD_LABEL} label")
        return f"{which} in {where}"


def parse_scope(namespaces: list[str], all_namespaces: bool, shard: str | None) -> Scope:
    """The scope `exlib run` was given, or a ScopeError naming the option to fix."""
    if namespaces and all_namespaces:
        raise ScopeError("--namespace and --all-namespaces exclude each other: pass "
                         f"--namespace patterns for a namespace shard ({_EXAMPLE}), or "
                         "--all-namespaces alone")
    if not namespaces and not all_namespaces:
        raise ScopeError("say which namespaces this operator serves: --all-namespaces, or "
                         f"--namespace PATTERN (repeatable; globs and !negations, e.g. "
                         f"{_EXAMPLE})")
    for pattern in namespaces:
        parts = [p.strip() for p in pattern.split(",")]
        bad = [p for p in parts if not _GLOB.match(p)]
        if bad:
            raise ScopeError(
                f"--namespace `{pattern}`: `{bad[0] or '(empty)'}` is not a namespace name or "
                "glob: lowercase letters, digits, `-`, the wildcards `*` and `?`, at most 63 "
                f"characters, optionally preceded by `!` to exclude (e.g. {_EXAMPLE})")
    if shard is not None and not _SHARD.match(shard):
        raise ScopeError(
            f"--shard `{shard}` is not a shard name: 1 to 40 lowercase letters, digits and "
            "`-`, starting and ending with a letter or digit (it is the value of the "
            f"{SHARD_LABEL} label of the objects this operator serves)")
    return Scope(tuple(namespaces), shard)
