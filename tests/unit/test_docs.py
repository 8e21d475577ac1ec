"""What the docs say of the code holds: the README's command line, and the rule book
(docs/rules.md) names functions and tests that exist."""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

from controller.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def commands(parser: argparse.ArgumentParser, prefix: str = "exlib"
             ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command (`exlib examples list`, ...) and its parser."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
    for sub in subs:
        for name, child in sub.choices.items():
            yield from commands(child, f"{prefix} {name}")


def test_every_command_but_run_takes_json_output_as_the_readme_says() -> None:
    without = sorted(name for name, parser in commands(build_parser())
                     if "--output" not in parser._option_string_actions)
    assert without == ["exlib run"]
    readme = " ".join(REPO.joinpath("README.md").read_text().split())
    assert "Every command takes `-o json` for scripts, except `exlib run`" in readme


RULES = REPO / "docs" / "rules.md"
FUNCTION = re.compile(r"`(controller(?:\.\w+)+)`")
TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def resolve(dotted: str) -> object:
    """The object `controller.a.b.c` names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def rules() -> list[str]:
    """Each rule of docs/rules.md: a list item, continuation lines joined."""
    return [" ".join(item.split()) for item in
            re.findall(r"^- (.*?)(?=^- |^#|\Z)", RULES.read_text(), flags=re.M | re.S)]


def test_every_function_and_test_the_rule_book_names_exists() -> None:
    text = RULES.read_text()
    missing = []
    for dotted in sorted(set(FUNCTION.findall(text))):
        try:
            resolve(dotted)
        except (ModuleNotFoundError, AttributeError):
            missing.append(dotted)
    for path, name in sorted(set(TEST.findall(text))):
        file = REPO / path
        if not file.exists() or not re.search(rf"^(async )?def {name}\(", file.read_text(),
                                               flags=re.M):
            missing.append(f"{path}::{name}")
    assert missing == [], "docs/rules.md names what does not exist (renamed?): " + ", ".join(
        missing)


def test_every_rule_names_its_function_and_its_test() -> None:
    found = rules()
    assert len(found) > 40
    for rule in found:
        assert FUNCTION.search(rule) and TEST.search(rule), f"rule without both: {rule[:80]}"


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_into_the_rule_book_land_on_a_heading() -> None:
    anchors = {slug(h) for h in re.findall(r"^#+ (.*)$", RULES.read_text(), flags=re.M)}
    links = {(doc.name, anchor) for doc in (REPO / "docs").glob("*.md")
             for anchor in re.findall(r"\(rules\.md#([\w-]+)\)", doc.read_text())}
    assert links and all(anchor in anchors for _, anchor in links), sorted(
        link for link in links if link[1] not in anchors)


def test_every_test_the_docs_cite_exists() -> None:
    """reliability.md, security.md, ... cite tests as `test_file.py::test_name` (or
    `::test_name` after a file); a renamed test must be renamed there too."""
    files: dict[str, list[Path]] = {}
    for path in (REPO / "tests").rglob("test_*.py"):
        files.setdefault(path.name, []).append(path)
    cite = re.compile(r"`(?:tests/(?:unit|integration)/)?(test_\w+\.py)(?:::(\w+))?`|`::(\w+)`")
    missing = []
    for doc in [*(REPO / "docs").glob("*.md"), REPO / "README.md"]:
        file = None  # `::name` continues the file cited last
        for m in cite.finditer(doc.read_text()):
            file, name = (m.group(1), m.group(2)) if m.group(1) else (file, m.group(3))
            if file not in files:
                missing.append(f"{doc.name}: {file}")
            elif name and not any(re.search(rf"^(async )?def {name}\(", p.read_text(),
                                            flags=re.M) for p in files[file]):
                missing.append(f"{doc.name}: {file}::{name}")
    assert missing == []
