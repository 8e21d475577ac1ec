"""`exlib run` says which objects it serves: namespaces or all of them, and a shard label."""

from __future__ import annotations

import pytest

from controller.cli import main
from controller.operator.scope import FINALIZER, SHARD_LABEL, ScopeError, parse_scope


@pytest.mark.parametrize("argv, says", [
    ([], "say which namespaces this operator serves"),
    (["--namespace", "a", "--all-namespaces"], "exclude each other"),
    (["-A", "--shard", "Physics"], "--shard `Physics` is not a shard name"),
    (["-n", "courses-*,,!x"], "`(empty)` is not a namespace name"),
    (["-n", "Courses"], "--namespace `Courses`: `Courses` is not a namespace name"),
])
def test_run_refuses_an_unclear_scope_naming_the_option(
        argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--metrics-port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_kopf_namespace_patterns_are_accepted_as_written() -> None:
    scope = parse_scope(["courses-*, !courses-test", "lab?"], False, None)
    assert scope.namespaces == ("courses-*, !courses-test", "lab?")
    assert "objects without a exlib.dev/shard label" in scope.describe()


def test_each_shard_has_its_own_finalizer_and_the_unsharded_keeps_the_old_one() -> None:
    """Kopf strips its finalizer from objects its handlers do not match: shards sharing one
    would remove each other's, so only the unsharded operator keeps the original name."""
    unsharded, a, b = (parse_scope([], True, s) for s in (None, "a", "b"))
    assert unsharded.finalizer == FINALIZER
    assert len({unsharded.finalizer, a.finalizer, b.finalizer}) == 3
    longest = parse_scope([], True, "x" * 40).finalizer
    assert len(longest.split("/", 1)[1]) <= 63  # a qualified name's part after the slash
    assert f"{SHARD_LABEL}=b in all namespaces" in b.describe()


def test_a_shard_name_longer_than_a_finalizer_allows_is_refused() -> None:
    with pytest.raises(ScopeError, match="1 to 40 lowercase"):
        parse_scope([], True, "x" * 41)
