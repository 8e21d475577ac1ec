"""Student template: allowlist only; tests, reference solutions and solution blocks never leak."""

from __future__ import annotations

import json

from controller.course.template import assignment_template, strip_solutions
from controller.meta.parse import parse_meta

META = b"""
slug: functions-intro
version: 1.0.0
title: Functions
properties:
  studentSubmissionFiles: [functions.py, extra/helper.py]
  additionalFiles: [data, functions.py]
  testFiles: [test_functions.py, data/expected.json]
  studentTemplates: [studentTemplates/functions.py, studentTemplates/notes.ipynb]
"""

NOTEBOOK = {"cells": [{"cell_type": "code", "source": ["x = 1\n", "# BEGIN SOLUTION\n",
                                                      "y = 42\n", "# END SOLUTION\n"],
                       "outputs": [{"text": "42"}], "execution_count": 3},
                      {"cell_type": "markdown", "source": "Explain"}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}

FILES = {
    "meta.yaml": META,
    "test.yaml": b"tests: []",
    "functions.py": b"def add(a, b):\n    return a + b  # the reference solution\n",
    "extra/helper.py": b"SECRET = 'solution helper'\n",
    "test_functions.py": b"assert add(1, 2) == 3\n",
    "localTests/test_more.py": b"secret tests\n",
    "reference/functions.py": b"reference\n",
    ".dependencies/variables-basics/variables.py": b"x = 1\n",
    "data/input.csv": b"a,b\n1,2\n",
    "data/expected.json": b"{\"sum\": 3}",
    "content/index.md": b"# Task\n",
    "content/index_de.md": b"# Aufgabe\n",
    "content/mediaFiles/plot.png": b"\x89PNG\x00\x01",
    "studentTemplates/functions.py": (b"def add(a, b):\n    # BEGIN SOLUTION\n"
                                      b"    return a + b\n    # END SOLUTION\n    pass\n"),
    "studentTemplates/notes.ipynb": json.dumps(NOTEBOOK).encode(),
}


def meta():
    parsed, issues = parse_meta(META, file="meta.yaml", directory_name="functions-intro")
    assert parsed is not None, issues
    return parsed


def test_allowlist_layout() -> None:
    out = assignment_template(FILES, meta())
    assert sorted(out) == ["README.md", "README_de.md", "data/input.csv", "extra/helper.py",
                           "functions.py", "mediaFiles/plot.png", "notes.ipynb"]
    assert out["README_de.md"] == b"# Aufgabe\n"
    assert out["mediaFiles/plot.png"] == b"\x89PNG\x00\x01"
    assert out["extra/helper.py"] == b""  # submission file without template: empty


def test_no_test_reference_solution_or_solution_block_leaks() -> None:
    out = assignment_template(FILES, meta())
    blob = b"\n".join(out.values())
    for secret in (b"reference solution", b"solution helper", b"assert add", b"secret tests",
                   b"reference\n", b"return a + b", b"42", b"BEGIN SOLUTION", b"\"sum\""):
        assert secret not in blob, secret
    assert out["functions.py"] == b"def add(a, b):\n    pass\n"
    notebook = json.loads(out["notes.ipynb"])
    assert notebook["cells"][0]["source"] == ["x = 1\n"]
    assert notebook["cells"][0]["outputs"] == []
    assert notebook["cells"][1]["source"] == "Explain"


def test_unreadable_meta_gives_task_text_only() -> None:
    out = assignment_template(FILES, None)
    assert sorted(out) == ["README.md", "README_de.md", "mediaFiles/plot.png"]


def test_template_matched_by_same_path_wins_over_basename() -> None:
    text = b"""
slug: x
title: X
properties:
  studentSubmissionFiles: [main.py]
  studentTemplates: [main.py, studentTemplates/main.py]
"""
    parsed, _ = parse_meta(text, file="meta.yaml", directory_name="x")
    out = assignment_template({"meta.yaml": text, "main.py": b"same path",
                               "studentTemplates/main.py": b"by name"}, parsed)
    assert out == {"main.py": b"same path"}


def test_strip_solutions_text_binary_and_unterminated() -> None:
    assert strip_solutions(b"a\n# BEGIN SOLUTION\nb\n# END SOLUTION\nc\n") == b"a\nc\n"
    assert strip_solutions(b"a\n# BEGIN SOLUTION\nsecret\n") == b"a\n"
    binary = b"\xff\xfeBEGIN SOLUTION"
    assert strip_solutions(binary) == binary
