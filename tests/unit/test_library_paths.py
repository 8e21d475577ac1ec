"""The pure rules for an example's tree: names, symlinks resolved as a checkout would."""

from __future__ import annotations

import pytest

from controller.library.paths import judge_links, name_problem, shortened, shown


@pytest.mark.parametrize("name", [
    "caf\udce9.txt",  # b"caf\xe9.txt" read with surrogateescape
    "bell\x07", "new\nline", "nul\x00", "",
    ".", "..", "a/b", "a\\b", "x" * 256,
    ".git", ".GIT", ".Git", ".git.", ".git ", "git~1", ".g\u200cit", ".git::$INDEX_ALLOCATION",
    ".gitmodules", ".GitModules", "gitmod~1",
])
def test_names_git_or_a_checkout_refuses(name: str) -> None:
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", [
    "main.py", ".gitignore", ".gitattributes", ".github", "git", ".gitx", "café.txt",
    "x" * 255, "…", "日本語.md", "a b", "-rf",
])
def test_ordinary_names_pass(name: str) -> None:
    assert name_problem(name) is None


def test_git_special_files_may_not_be_symlinks() -> None:
    assert name_problem(".gitattributes", link=True) is not None
    assert name_problem(".gitignore", link=True) is not None
    assert name_problem("data.csv", link=True) is None


def test_shown_escapes_what_a_terminal_or_json_cannot_carry() -> None:
    assert shown("caf\udce9.txt") == "caf\\xe9.txt"
    assert shown("a\x1b[31mred") == "a\\x1b[31mred"
    assert shown("日本語") == "日本語"
    shown("caf\udce9\x00").encode()  # always valid UTF-8


def test_shortened_keeps_both_ends_of_a_deep_path() -> None:
    deep = "/".join(["d"] * 1500)
    assert shortened(deep) == "d/d/d/… 1496 more …/d"
    assert shortened("a/b/c") == "a/b/c"


def verdicts(links: dict[str, str], files: tuple[str, ...] = ("meta.yaml", "data/x.csv")
             ) -> dict[str, tuple[str, str | None]]:
    out = {}
    for path, v in judge_links(links, files).items():
        kind = "error" if v.error else "warning" if v.warning else "ok"
        out[path] = (kind, v.resolved)
    return out


def test_links_inside_the_example_pass_with_where_they_resolve() -> None:
    assert verdicts({"x": "data/x.csv", "sub/y": "../data/x.csv", "d": "data",
                     "via": "d/x.csv", "chain": "via"}) == {
        "x": ("ok", "data/x.csv"), "sub/y": ("ok", "data/x.csv"), "d": ("ok", "data"),
        "via": ("ok", "data/x.csv"), "chain": ("ok", "data/x.csv")}


def test_a_chain_that_climbs_out_is_caught_though_its_text_stays_inside() -> None:
    # Lexically `sub/b/../..` is `.`; really `sub/b` is the example root, so it is `../..`.
    found = judge_links({"sub/b": "..", "a": "sub/b/../.."}, ("meta.yaml",))
    assert found["a"].error is not None and "outside the example" in found["a"].error


@pytest.mark.parametrize("links,bad", [
    ({"out": "/etc/passwd"}, "out"),
    ({"out": "../other/meta.yaml"}, "out"),
    ({"sub/out": "../../x"}, "sub/out"),
    ({"a": "b", "b": "a"}, "a"),  # a loop of links
    ({"self": "self"}, "self"),
    ({"up": "."}, "up"),  # the link's own directory: a checkout holding itself
    ({"data/up": ".."}, "data/up"),  # a parent directory
    ({"data/up": "../data"}, "data/up"),
    ({"l": "m", "m": "/abs"}, "l"),  # through a link to an absolute path
    ({"empty": ""}, "empty"),
    ({"odd": "caf\udce9"}, "odd"),  # not UTF-8
    ({"esc": "a\x1b[2J"}, "esc"),
])
def test_links_that_leave_or_loop_are_errors(links: dict[str, str], bad: str) -> None:
    assert judge_links(links, ("meta.yaml", "data/x.csv"))[bad].error is not None


def test_a_long_chain_of_links_ends_as_a_loop() -> None:
    links = {f"l{i}": f"l{i + 1}" for i in range(60)}
    links["l60"] = "meta.yaml"
    assert judge_links(links, ("meta.yaml",))["l0"].error is not None
    assert judge_links(links, ("meta.yaml",))["l30"].error is None


def test_a_link_to_nothing_is_a_warning() -> None:
    assert verdicts({"gone": "missing.txt", "nodir": "meta.yaml/x"}) == {
        "gone": ("warning", "missing.txt"), "nodir": ("warning", None)}
    assert verdicts({"ghost": "missing/../../out"})["ghost"][0] == "error"


def test_directory_links_that_lead_into_each_other_are_a_loop() -> None:
    files = ("meta.yaml", "a/x.txt", "b/y.txt", "c/z.txt")
    found = judge_links({"a/to_b": "../b", "b/to_a": "../a", "c/to_a": "../a"}, files)
    assert found["a/to_b"].error and found["b/to_a"].error and "loop" in found["a/to_b"].error
    assert found["c/to_a"].error is None  # leads into the loop, is not part of it
    ring = {f"d{i}/next": f"../d{(i + 1) % 500}" for i in range(500)}
    assert all(v.error for v in judge_links(ring, [f"d{i}/f" for i in range(500)]).values())


def test_a_target_longer_than_a_checkout_can_create_is_an_error() -> None:
    """Linux refuses symlink targets of PATH_MAX (4096) bytes or more, so such a link could
    never be checked out; saying so also keeps resolving any one link cheap."""
    target = "a/" * 2048
    verdict = judge_links({"l": target}, ["a"])["l"]
    assert verdict.error and "4,095 bytes" in verdict.error
    assert judge_links({"l": "a/" * 2047 + "a"}, ["a"])["l"].error is None


def test_messages_about_a_long_target_quote_only_its_ends() -> None:
    """A status message stays short however long the target (here through 40 links)."""
    links = {f"l{i}": f"l{i + 1}/" + "x/" * 2000 for i in range(39)} | {"l39": "nothing"}
    for verdict in judge_links(links, ["f"]).values():
        message = verdict.error or verdict.warning or ""
        assert "points at nothing" in message and len(message) < 400
