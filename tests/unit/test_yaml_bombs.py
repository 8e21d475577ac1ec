"""YAML bombs in meta.yaml and in course YAML are refused quickly, with a message saying what.

Each case runs in a child process with a memory cap and a time guard, so a loader that
expands a bomb fails the test (out of memory or out of time) instead of hanging the suite.
The guard is generous (it only has to end the run); refusals take milliseconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARD_SECONDS = 30
MEMORY_CAP = 1024 * 1024 * 1024  # address space of the child: a bomb must not need more

_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
kind, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
if kind == "meta":
    from controller.meta import parse_meta
    meta, issues = parse_meta(data, file="examples/bomb/meta.yaml", directory_name="bomb")
    out = {{"accepted": meta is not None,
            "messages": [str(i) for i in issues if i.severity == "error"]}}
else:
    from controller.course.errors import SpecError
    from controller.course.spec import load_manifest, parse_spec
    try:
        parse_spec(load_manifest(data.decode("utf-8"), source="course.yaml").spec)
        out = {{"accepted": True, "messages": []}}
    except SpecError as err:
        out = {{"accepted": False, "messages": [str(p) for p in err.problems]}}
print(json.dumps(out))
"""


def run(kind: str, text: str, tmp_path: Path) -> dict[str, object]:
    """Parse `text` as meta.yaml or as a course manifest in a capped child process."""
    path = tmp_path / "input.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD.format(cap=MEMORY_CAP), kind, str(path)],
            cwd=ROOT, capture_output=True, text=True, timeout=GUARD_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"parsing the {kind} bomb did not end within {GUARD_SECONDS} s")
    assert done.returncode == 0, f"the parser crashed:\n{done.stderr[-2000:]}"
    result: dict[str, object] = json.loads(done.stdout)
    return result


def refused(kind: str, text: str, tmp_path: Path) -> str:
    """The refusal message(s), asserting the input was refused."""
    result = run(kind, text, tmp_path)
    assert result["accepted"] is False, "the bomb was accepted as valid"
    messages = result["messages"]
    assert isinstance(messages, list) and messages
    return "\n".join(messages)


# ----------------------------------------------------------------------------- the bombs


def alias_bomb(width: int = 10, levels: int = 9) -> str:
    """Billion laughs: each level is a list of `width` aliases of the one before."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb(width: int = 4, levels: int = 16, leaf: str = "{}") -> str:
    """Nested merge keys: each level merges `width` copies of the one before (no lists)."""
    lines = [f"m0: &m0 {leaf}"]
    for n in range(1, levels):
        lines.append(f"m{n}: &m{n} {{<<: [" + ", ".join([f"*m{n - 1}"] * width) + "]}")
    return "\n".join(lines) + "\n"


def deep(levels: int = 5000) -> str:
    return "[" * levels + "]" * levels


META_BOMBS = {
    "aliases": "title: T\n" + alias_bomb(),
    "merge keys of empty mappings": "title: T\n" + merge_bomb(),
    "merge keys with values": "title: T\n" + merge_bomb(leaf="{x: 1}"),
    "deep nesting": "title: T\nproperties:\n  deep: " + deep() + "\n",
    "deep nesting below the parser's own limit": "title: T\nx: " + deep(900) + "\n",
    "huge scalar": "title: T\ndescription: '" + "x" * (40 * 1024 * 1024) + "'\n",
    "many documents": "title: T\n" + "---\ntitle: T\n" * 200_000,
    "huge aliased scalar": "title: T\nbig: &b '" + "x" * 200_000 + "'\nc: ["
                           + ", ".join(["*b"] * 5000) + "]\n",
}


def names_a_limit(message: str) -> bool:
    """The refusal says which limit the file broke."""
    return any(word in message
               for word in ("too large", "too deep", "too many", "one YAML document"))


@pytest.mark.parametrize("case", sorted(META_BOMBS))
def test_meta_yaml_bomb_is_refused(case: str, tmp_path: Path) -> None:
    message = refused("meta", META_BOMBS[case], tmp_path)
    assert "examples/bomb/meta.yaml" in message
    assert names_a_limit(message)


def test_meta_yaml_refusal_names_the_line(tmp_path: Path) -> None:
    text = "title: T\ndescription: fine\n" + merge_bomb()
    message = refused("meta", text, tmp_path)
    assert "examples/bomb/meta.yaml:" in message  # file:line
    assert "alias" in message  # what to do: write values out instead of aliases


def test_meta_yaml_self_reference_is_refused(tmp_path: Path) -> None:
    message = refused("meta", "title: T\nloop: &a [1, *a]\n", tmp_path)
    assert "itself" in message


def course(properties_yaml: str) -> str:
    """A valid course manifest whose one assignment carries `properties_yaml`."""
    return textwrap.dedent("""\
        apiVersion: exlib.dev/v1alpha1
        kind: CourseStructure
        metadata: {name: c, namespace: ns}
        spec:
          course: {organization: {path: org}, family: {path: f}, path: c, title: C}
          assignments: {url: http://git.example/a.git}
          contentTypes: [{slug: a, kind: assignment}]
          contents:
          - path: hello
            type: a
            example: hello-world
            properties:
        """) + textwrap.indent(properties_yaml, "      ")


COURSE_BOMBS = {
    "aliases in properties": course(alias_bomb()),
    "merge keys in properties": course(merge_bomb()),
    "merge keys with values": course(merge_bomb(leaf="{x: 1}")),
    "deep nesting in properties": course("deep: " + deep() + "\n"),
    "deep nesting below the parser's own limit": course("deep: " + deep(900) + "\n"),
    "huge scalar": course("big: '" + "x" * (40 * 1024 * 1024) + "'\n"),
    "many documents": course("a: 1\n") + "---\n{}\n" * 200_000,
    "huge aliased scalar": course("big: &b '" + "x" * 200_000 + "'\nc: ["
                                  + ", ".join(["*b"] * 5000) + "]\n"),
}


@pytest.mark.parametrize("case", sorted(COURSE_BOMBS))
def test_course_yaml_bomb_is_refused(case: str, tmp_path: Path) -> None:
    message = refused("course", COURSE_BOMBS[case], tmp_path)
    assert "course.yaml" in message
    assert names_a_limit(message)


def test_ordinary_yaml_still_parses(tmp_path: Path) -> None:
    """The guards leave real input alone: aliases and merges in moderation, versions as
    written."""
    text = course("maxSubmissions: 5\nbase: &b {x: 1}\nmore: {<<: *b, y: 2}\n")
    text = text.replace("example: hello-world", "example: hello-world\n    version: 1.10")
    assert run("course", text, tmp_path) == {"accepted": True, "messages": []}
    meta = "title: T\nversion: 1.10\nbase: &b {x: 1}\nmore: {<<: *b, y: 2}\n"
    assert run("meta", meta, tmp_path)["accepted"] is True


def test_the_cli_refuses_a_huge_or_binary_manifest(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """`exlib plan -f` reads no more than the loader accepts, and says what is wrong."""
    from controller.cli import main as cli_main

    huge = tmp_path / "huge.yaml"
    huge.write_text("a: " + "x" * (3 * 1024 * 1024))
    assert cli_main(["plan", "-f", str(huge)]) == 2
    assert "too large" in capsys.readouterr().err
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"title: caf\xe9\n")
    assert cli_main(["plan", "-f", str(latin)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


UNREADABLE_VALUES = {
    "a 5,000-digit number": "1" * 5000,
    "a sexagesimal number of 100,000 parts": "1" + ":1" * 100_000,
    "a sexagesimal float too large for a float": "1" + ":1" * 400 + ".5",
    "a date that does not exist": "2001-02-30",
}


@pytest.mark.parametrize("case", sorted(UNREADABLE_VALUES))
def test_a_value_yaml_cannot_build_is_refused_with_its_line(case: str, tmp_path: Path
                                                            ) -> None:
    """Plain scalars PyYAML resolves as numbers or dates but cannot build (Python's
    4,300-digit limit, float overflow, 30 February) are the file's error, not a crash;
    the long sexagesimal one would cost minutes to build."""
    value = UNREADABLE_VALUES[case]
    message = refused("meta", f"title: T\nproperties:\n  n: {value}\n", tmp_path)
    assert "examples/bomb/meta.yaml:3" in message and "quote" in message
    message = refused("course", course(f"n: {value}\n"), tmp_path)
    assert "course.yaml" in message and "quote" in message
