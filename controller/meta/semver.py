"""Version tags and dependency constraints.

Lecturers write versions the way they think of them (`1`, `1.0`, `1.10`, `v1.2`); exlib stores
and orders them as semver so that `1.10.0` is newer than `1.9.0`, and resolves
`testDependencies` constraints (npm/cargo-style `^`, `~`, comparisons, comma-combined) to the
newest satisfying version.

Partial versions in comparisons are padded with zeros: `>=1.0` is `>=1.0.0`, `<2` is `<2.0.0`,
`>1` is `>1.0.0`, and a bare `1.0` means exactly `1.0.0`. Only `^`, `~` and wildcards
(`1.x`, `1.*`) turn a partial version into a range.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import semver

__all__ = [
    "Constraint",
    "VersionError",
    "newest_matching",
    "normalise_version",
    "parse_constraint",
    "version_key",
]


class VersionError(ValueError):
    """A version or constraint that cannot be understood; the message says how to write it."""


_IDENT = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION_RE = re.compile(
    rf"^[vV]?(?P<nums>\d+(?:\.\d+)*)(?:-(?P<pre>{_IDENT}))?(?:\+(?P<build>{_IDENT}))?$"
)
_PEP440_LIKE_RE = re.compile(r"^[vV]?\d+(?:\.\d+)*(?P<suffix>[A-Za-z][0-9A-Za-z.]*)$")
_WILDCARD_RE = re.compile(r"^[vV]?(?P<nums>\d+(?:\.\d+)?)\.[xX*]$")
_OPERATORS = (">=", "<=", "==", "!=", ">", "<", "=", "^", "~")
_TOKEN_RE = re.compile(r"^(?P<op>>=|<=|==|!=|>|<|=|\^|~)?(?P<ver>.+)$")
_ANY = frozenset({"", "*", "x", "X", "latest"})


def _split_version(raw: str) -> tuple[list[int], str | None, str | None]:
    """Split a (possibly partial) version into numbers, prerelease and build, or raise."""
    text = raw.strip()
    if not text:
        raise VersionError("the version is empty; write it like `1.0.0`")
    match = _VERSION_RE.match(text)
    if match is None:
        pep = _PEP440_LIKE_RE.match(text)
        if pep is not None:
            suffix = pep.group("suffix")
            fixed = text[: -len(suffix)] + "-" + suffix
            raise VersionError(
                f"version `{raw}` is not a semantic version; separate the pre-release part "
                f"with a hyphen, e.g. `{fixed}`"
            )
        raise VersionError(
            f"version `{raw}` is not a semantic version; write it as MAJOR.MINOR.PATCH, "
            "e.g. `1.0.0` (`1` and `1.2` are accepted too, a pre-release like `1.2.3-rc1` "
            "as well)"
        )
    parts = match.group("nums").split(".")
    if len(parts) > 3:
        raise VersionError(
            f"version `{raw}` has {len(parts)} numbers; a semantic version has at most three "
            "(MAJOR.MINOR.PATCH)"
        )
    for part in parts:
        if len(part) > 1 and part.startswith("0"):
            raise VersionError(
                f"version `{raw}` has a leading zero in `{part}`; write `{int(part)}` instead "
                "(`1.01` and `1.1` would otherwise be the same version)"
            )
    return [int(p) for p in parts], match.group("pre"), match.group("build")


def _to_semver(raw: str) -> semver.Version:
    """Parse a full or partial version into a semver.Version (missing numbers are zero)."""
    nums, pre, build = _split_version(raw)
    nums += [0] * (3 - len(nums))
    try:
        return semver.Version(nums[0], nums[1], nums[2], pre, build)
    except ValueError as exc:  # e.g. a numeric pre-release identifier with a leading zero
        raise VersionError(f"version `{raw}` is not a semantic version: {exc}") from exc


def normalise_version(raw: str) -> str:
    """Return the semver form of a version as written: `1` -> `1.0.0`, `v1.2` -> `1.2.0`.

    Raises VersionError (with a message for the lecturer) when it cannot be read as semver.
    """
    if not isinstance(raw, str):
        raise VersionError(f"version must be text like `1.0.0`, not {raw!r}")
    return str(_to_semver(raw))


def _prerelease_key(pre: str | None) -> tuple[tuple[int, int, str], ...]:
    """Semver precedence for pre-release identifiers (numeric < alphanumeric, by field)."""
    if pre is None:
        return ()
    key: list[tuple[int, int, str]] = []
    for ident in pre.split("."):
        if ident.isdigit():
            key.append((0, int(ident), ""))
        else:
            key.append((1, 0, ident))
    return tuple(key)


def version_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...], str]:
    """A sort key giving semver precedence (`1.10.0` > `1.9.0`, `1.0.0-rc1` < `1.0.0`).

    Build metadata does not change precedence; it only breaks ties so sorting is stable.
    """
    v = _to_semver(version)
    release_rank = 1 if v.prerelease is None else 0
    return (v.major, v.minor, v.patch, release_rank, _prerelease_key(v.prerelease), v.build or "")


def _upper_caret(nums: list[int]) -> semver.Version:
    """Exclusive upper bound of `^nums` (npm/cargo: the left-most non-zero part may not change)."""
    padded = nums + [0] * (3 - len(nums))
    major, minor, patch = padded
    if major > 0 or len(nums) == 1:
        return semver.Version(major + 1, 0, 0)
    if minor > 0 or len(nums) == 2:
        return semver.Version(0, minor + 1, 0)
    return semver.Version(0, 0, patch + 1)


def _upper_tilde(nums: list[int]) -> semver.Version:
    """Exclusive upper bound of `~nums`: patch changes allowed, or minor when only major given."""
    if len(nums) == 1:
        return semver.Version(nums[0] + 1, 0, 0)
    return semver.Version(nums[0], nums[1] + 1, 0)


Clause = tuple[str, semver.Version]


def _parse_token(token: str, whole: str) -> list[Clause]:
    """Turn one comparator token (`^1.2`, `>=1.0`, `1.x`) into (operator, version) clauses."""
    bare = token[2:] if token.startswith("==") else token.removeprefix("=")
    wild = _WILDCARD_RE.match(bare)
    if wild is not None:
        nums = [int(p) for p in wild.group("nums").split(".")]
        low = semver.Version(*(nums + [0] * (3 - len(nums))))
        return [(">=", low), ("<", _upper_tilde(nums))]
    match = _TOKEN_RE.match(token)
    if match is None:  # pragma: no cover - the pattern accepts any non-empty token
        raise VersionError(f"cannot read `{token}` in version constraint `{whole}`")
    op = match.group("op") or "=="
    ver_text = match.group("ver")
    if ver_text.startswith(_OPERATORS):
        raise VersionError(
            f"version constraint `{whole}` has a doubled operator in `{token}`; write e.g. `>=1.0`"
        )
    try:
        nums, pre, build = _split_version(ver_text)
    except VersionError as exc:
        raise VersionError(
            f"version constraint `{whole}` is not understood at `{token}`: {exc}. Write an exact "
            "version (`1.0.0`), `^1.2`, `~1.2`, `>=1.0`, `<2`, or several joined by commas "
            "(`>=1.0,<2`)"
        ) from exc
    padded = nums + [0] * (3 - len(nums))
    low = semver.Version(padded[0], padded[1], padded[2], pre, build)
    if op == "^":
        return [(">=", low), ("<", _upper_caret(nums))]
    if op == "~":
        return [(">=", low), ("<", _upper_tilde(nums))]
    if op == "=":
        op = "=="
    return [(op, low)]


def _tokens(text: str) -> list[str]:
    """Split a constraint on commas and whitespace, keeping `>= 1.0` together."""
    glued = re.sub(r"(>=|<=|==|!=|>|<|=|\^|~)\s+", r"\1", text.strip())
    tokens: list[str] = []
    for part in glued.split(","):
        words = part.split()
        if not words:
            raise VersionError(
                f"version constraint `{text}` has an empty part between commas; "
                "write e.g. `>=1.0,<2`"
            )
        tokens.extend(words)
    return tokens


@dataclass(frozen=True)
class Constraint:
    """A parsed version constraint; `text` is kept as written for messages and storage.

    Constructing one parses `text` and raises VersionError when it is not understood.
    """

    text: str
    clauses: tuple[Clause, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Parse once so that `allows` is cheap when resolving many candidate versions."""
        text = self.text.strip()
        clauses: list[Clause] = []
        if text not in _ANY:
            if "||" in text:
                raise VersionError(
                    f"version constraint `{self.text}`: alternatives with `||` are not "
                    "supported; use one range such as `>=1.0,<3`"
                )
            for token in _tokens(text):
                clauses.extend(_parse_token(token, self.text))
        object.__setattr__(self, "clauses", tuple(clauses))

    @property
    def is_any(self) -> bool:
        """True when every (release) version satisfies the constraint."""
        return not self.clauses

    @property
    def is_exact(self) -> bool:
        """True for a single exact version (`1.0`, `==1.0.0`)."""
        return len(self.clauses) == 1 and self.clauses[0][0] == "=="

    @property
    def names_prerelease(self) -> bool:
        """True when the constraint itself mentions a pre-release version."""
        return any(v.prerelease is not None for _, v in self.clauses)

    def allows(self, version: str) -> bool:
        """Whether `version` satisfies the constraint.

        Pre-releases only satisfy constraints that name a pre-release or are exact, so that
        `^1.0` never silently resolves to `1.1.0-rc1`. Unreadable versions never satisfy.
        """
        try:
            candidate = _to_semver(version)
        except VersionError:
            return False
        if candidate.prerelease is not None and not self.is_exact and not self.names_prerelease:
            return False
        for op, bound in self.clauses:
            cmp = candidate.compare(bound)
            ok = {
                "==": cmp == 0,
                "!=": cmp != 0,
                ">=": cmp >= 0,
                "<=": cmp <= 0,
                ">": cmp > 0,
                "<": cmp < 0,
            }[op]
            if not ok:
                return False
        return True

    def __str__(self) -> str:
        """The constraint as written (or `*` for any version)."""
        return self.text.strip() or "*"


def parse_constraint(text: str | None) -> Constraint:
    """Parse a `testDependencies` version constraint; None, "" and "*" mean any version."""
    if text is None:
        return Constraint("*")
    if not isinstance(text, str):
        raise VersionError(f"version constraint must be text like `^1.2`, not {text!r}")
    return Constraint(text.strip() or "*")


def newest_matching(constraint: Constraint, versions: Iterable[str]) -> str | None:
    """The newest (semver order) of `versions` that satisfies `constraint`, as given; else None."""
    best: str | None = None
    best_key: tuple[object, ...] | None = None
    for version in versions:
        if not constraint.allows(version):
            continue
        key = version_key(version)
        if best_key is None or key > best_key:
            best, best_key = version, key
    return best
