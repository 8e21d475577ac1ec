"""meta.yaml parsing: both real-world formats, the real course data, and every kind of bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from controller.meta import (
    Dependency,
    ExampleMeta,
    Issue,
    check_file_lists,
    load_schema,
    parse_meta,
)
from tests.conftest import SHARED_DATA

REAL_EXAMPLES = SHARED_DATA / "data-science-python" / "examples" / "python"
REAL_META_FILES = sorted(REAL_EXAMPLES.glob("*/meta.yaml"))
FILE = "examples/python/demo/meta.yaml"


def parse(text: str, directory_name: str = "demo") -> tuple[ExampleMeta | None, list[Issue]]:
    """Parse a dedented YAML snippet as if it were examples/python/<directory_name>/meta.yaml."""
    return parse_meta(textwrap.dedent(text), file=FILE, directory_name=directory_name)


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


def warnings(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "warning"]


def only(issues: list[Issue], field: str) -> Issue:
    """The single issue about `field` (fails with all issues shown otherwise)."""
    found = [i for i in issues if i.field == field]
    assert len(found) == 1, [str(i) for i in issues]
    return found[0]


OLD_FORMAT = """\
    slug: itpcp.pgph.py.demo
    version: 1.0.1
    title: Demo
    description: Learn things.
    language: de
    license: MIT
    authors:
    - name: Ada Lovelace
      email: ada@example.org
      affiliation: TU Graz
    maintainers:
    - name: Alan Turing
    links:
    - description: python-abc
      url: https://docs.python.org/3/library/abc.html
    supportingMaterial:
    - description: numpy.sqrt
      url: https://numpy.org/doc/stable/reference/generated/numpy.sqrt.html
    keywords:
    - Python
    - NumPy
    properties:
      studentSubmissionFiles:
      - demo.py
      additionalFiles:
      - data/input.txt
      testFiles:
      - test_demo.py
      studentTemplates:
      - studentTemplates/demo.py
      executionBackend:
        slug: itpcp.exec.py
        version: 3.11
        settings:
          anything: goes
      testDependencies:
      - itpcp.pgph.py.basis1
      - slug: itpcp.pgph.py.basis2
        version: ^1.0
    """

NEW_FORMAT = """\
    identifier: itpcp.pgph.c.hello_world
    version: "2.1"
    title: Hello World in C
    description: Print a greeting.
    license: CC-BY-4.0
    authors:
    - name: Grace Hopper
    courseMaterials:
    - name: mat2str
      url: https://example.org/mat2str
    supportingMaterials:
    - name: wiki-ASCII
      url: https://en.wikipedia.org/wiki/ASCII
    content:
      types: [programming]
      disciplines: [computer_science]
      topics: [c.basics]
      tools: [gcc]
      tags: [C, Beginner]
    properties:
      studentSubmissionFiles: [hello.c]
      testFiles: [test.yaml]
      executionBackend:
        slug: itpcp.exec.c
        version: "13"
        settings:
          timeout: 60
          compileTimeout: 10.5
          memoryLimitMB: 256
          cpuLimit: 2
          maxProcesses: 4
          env: {LANG: C.UTF-8}
          compiler: gcc
          flags: ["-Wall", "-Wextra"]
      testDependencies: [itpcp.pgph.c.basics]
    """


# --------------------------------------------------------------------------- real data


def test_real_data_is_present() -> None:
    assert len(REAL_META_FILES) == 70, f"expected the 70 real examples under {REAL_EXAMPLES}"


@pytest.mark.parametrize("path", REAL_META_FILES, ids=lambda p: p.parent.name)
def test_real_meta_files_parse_without_errors(path: Path) -> None:
    text = path.read_bytes()
    meta, issues = parse_meta(
        text, file=f"examples/python/{path.parent.name}/meta.yaml", directory_name="renamed-dir"
    )
    assert errors(issues) == []
    assert meta is not None
    slug = next(
        line.split(":", 1)[1].strip()
        for line in text.decode().splitlines()
        if line.startswith("slug:")
    )
    assert meta.identifier == slug
    assert meta.version is not None and meta.version_raw is not None
    assert meta.title
    assert "python" in meta.tags


# --------------------------------------------------------------------------- both formats


def test_old_format_fields() -> None:
    meta, issues = parse(OLD_FORMAT)
    assert issues == []
    assert meta is not None
    assert meta.identifier == "itpcp.pgph.py.demo"
    assert (meta.version_raw, meta.version) == ("1.0.1", "1.0.1")
    assert meta.title == "Demo"
    assert meta.description == "Learn things."
    assert meta.language == "de"
    assert meta.tags == ("numpy", "python")
    assert meta.student_submission_files == ("demo.py",)
    assert meta.additional_files == ("data/input.txt",)
    assert meta.test_files == ("test_demo.py",)
    assert meta.student_templates == ("studentTemplates/demo.py",)
    assert meta.file_lists() == {
        "studentSubmissionFiles": ("demo.py",),
        "additionalFiles": ("data/input.txt",),
        "testFiles": ("test_demo.py",),
        "studentTemplates": ("studentTemplates/demo.py",),
    }
    assert meta.dependencies == (
        Dependency("itpcp.pgph.py.basis1", None),
        Dependency("itpcp.pgph.py.basis2", "^1.0"),
    )
    # the execution backend version is text as written, not the float 3.11
    assert meta.data["properties"]["executionBackend"]["version"] == "3.11"
    assert meta.data["authors"][0]["email"] == "ada@example.org"


def test_new_format_fields() -> None:
    meta, issues = parse(NEW_FORMAT)
    assert issues == []
    assert meta is not None
    assert meta.identifier == "itpcp.pgph.c.hello_world"
    assert (meta.version_raw, meta.version) == ("2.1", "2.1.0")
    assert meta.language is None
    assert meta.tags == ("beginner", "c")
    assert meta.dependencies == (Dependency("itpcp.pgph.c.basics", None),)
    settings = meta.data["properties"]["executionBackend"]["settings"]
    assert settings["flags"] == ["-Wall", "-Wextra"]
    assert settings["compileTimeout"] == 10.5
    assert meta.data["properties"]["executionBackend"]["version"] == "13"


def test_data_is_json_compatible() -> None:
    meta, _ = parse(OLD_FORMAT + "released: 2024-03-01\n")
    assert meta is not None
    assert json.loads(json.dumps(meta.data))["released"] == "2024-03-01"


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("line", "raw", "normalised"),
    [
        ("version: 1.10", "1.10", "1.10.0"),
        ("version: 1.0", "1.0", "1.0.0"),
        ("version: 1", "1", "1.0.0"),
        ("version: '1.10'", "1.10", "1.10.0"),
        ("version: 1.2.3-rc1", "1.2.3-rc1", "1.2.3-rc1"),
        ("version: v2.3", "v2.3", "2.3.0"),
    ],
)
def test_version_kept_as_written(line: str, raw: str, normalised: str) -> None:
    meta, issues = parse(f"title: T\n{line}\n")
    assert errors(issues) == []
    assert meta is not None
    assert (meta.version_raw, meta.version) == (raw, normalised)
    assert meta.data["version"] == raw


def test_missing_version_is_untagged() -> None:
    meta, issues = parse("title: T\n")
    assert issues == []
    assert meta is not None
    assert meta.version is None and meta.version_raw is None
    assert "version" not in meta.data


def test_unreadable_version_is_an_error_with_line() -> None:
    meta, issues = parse("title: T\nversion: 1.0.0.1\n")
    assert meta is None
    issue = only(errors(issues), "version")
    assert issue.line == 2
    assert "1.0.0.1" in issue.message


def test_empty_version_is_an_error() -> None:
    meta, issues = parse("title: T\nversion:\n")
    assert meta is None
    assert only(errors(issues), "version").line == 2


# --------------------------------------------------------------------------- identifiers


def test_identifier_beats_slug_beats_directory() -> None:
    both, issues = parse("identifier: a.new\nslug: a.old\ntitle: T\n", "dir_name")
    assert both is not None and both.identifier == "a.new"
    assert "identifier" in only(warnings(issues), "slug").message

    slug_only, _ = parse("slug: a.old\ntitle: T\n", "dir_name")
    assert slug_only is not None and slug_only.identifier == "a.old"

    neither, _ = parse("title: T\n", "dir_name")
    assert neither is not None and neither.identifier == "dir_name"


@pytest.mark.parametrize("name", ["hello_world", "hello-world", "Hello.World_2-b"])
def test_identifier_is_verbatim(name: str) -> None:
    from_yaml, _ = parse(f"identifier: {name}\ntitle: T\n")
    from_dir, _ = parse("title: T\n", name)
    assert from_yaml is not None and from_yaml.identifier == name
    assert from_dir is not None and from_dir.identifier == name


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ("title: T\nidentifier: hello world\n", "identifier", 2),
        ("title: T\nslug: .hidden\n", "slug", 2),
        ("title: T\nidentifier: ''\n", "identifier", 2),
        ("title: T\nidentifier: a/b\n", "identifier", 2),
    ],
)
def test_bad_identifier_is_an_error(text: str, field: str, line: int) -> None:
    meta, issues = parse(text)
    assert meta is None
    assert only(errors(issues), field).line == line


def test_bad_directory_name_without_identifier_is_an_error() -> None:
    meta, issues = parse("title: T\n", "my example")
    assert meta is None
    issue = only(errors(issues), "")
    assert "my example" in issue.message and "identifier" in issue.message


# --------------------------------------------------------------------------- bad YAML


def test_invalid_yaml_is_an_error_with_line() -> None:
    meta, issues = parse("title: T\nkeywords: [python\nversion: 1.0\n")
    assert meta is None
    assert len(issues) == 1
    assert issues[0].severity == "error"
    assert issues[0].line is not None and issues[0].line >= 2
    assert "YAML" in issues[0].message
    assert str(issues[0]).startswith(f"{FILE}:{issues[0].line}: ")


def test_tab_indentation_gets_a_hint() -> None:
    meta, issues = parse("title: T\nproperties:\n\ttestFiles: []\n")
    assert meta is None
    assert "tabs" in only(issues, "").message


@pytest.mark.parametrize(
    ("text", "kind"),
    [("- a\n- b\n", "list"), ("just some text\n", "single value")],
)
def test_non_mapping_document_is_an_error(text: str, kind: str) -> None:
    meta, issues = parse(text)
    assert meta is None
    issue = only(errors(issues), "")
    assert kind in issue.message and issue.line == 1


@pytest.mark.parametrize("text", ["", "# only a comment\n", b""])
def test_empty_document_is_an_error(text: str | bytes) -> None:
    meta, issues = parse_meta(text, file=FILE, directory_name="demo")
    assert meta is None
    assert "empty" in only(errors(issues), "").message


def test_two_documents_is_an_error() -> None:
    meta, issues = parse("title: T\n---\ntitle: U\n")
    assert meta is None
    issue = only(errors(issues), "")
    assert "one YAML document" in issue.message and issue.line == 2


def test_duplicate_key_is_an_error_naming_key_and_line() -> None:
    meta, issues = parse(
        "title: A\nversion: 1.0\nproperties:\n  testFiles: [a]\n  testFiles: [b]\n"
    )
    assert meta is None
    issue = only(errors(issues), "properties.testFiles")
    assert issue.line == 5
    assert "`testFiles`" in issue.message and "line 4" in issue.message


def test_invalid_utf8_is_an_error() -> None:
    meta, issues = parse_meta(b"title: \xff\xfe bad\n", file=FILE, directory_name="demo")
    assert meta is None
    assert "UTF-8" in only(errors(issues), "").message


def test_alias_bomb_is_an_error_not_a_hang() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 7):
        refs = ", ".join([f"*a{n - 1}"] * 10)
        levels.append(f"a{n}: &a{n} [{refs}]")
    meta, issues = parse("\n".join(levels) + "\n")
    assert meta is None
    assert "too many" in only(errors(issues), "").message


def test_yaml_merge_keys_are_applied() -> None:
    meta, issues = parse(
        """\
        title: T
        base: &base {name: Ada, email: ada@example.org}
        authors:
        - <<: *base
          affiliation: TU Graz
        """
    )
    assert meta is not None, issues
    assert meta.data["authors"][0] == {
        "name": "Ada",
        "email": "ada@example.org",
        "affiliation": "TU Graz",
    }


# --------------------------------------------------------------------------- schema errors


@pytest.mark.parametrize(
    ("text", "field", "line", "words"),
    [
        ("title: 1984\n", "title", 1, "quotes"),
        ("title: T\nproperties:\n  testFiles: test.py\n", "properties.testFiles", 3, "list"),
        (
            "title: T\nproperties:\n  testFiles:\n  - a.py\n  - 3\n",
            "properties.testFiles[1]",
            5,
            "text",
        ),
        ("title: T\nauthors:\n- name: [A, B]\n", "authors[0].name", 3, "text"),
        ("title: T\nlinks:\n- description: x\n", "links[0]", 3, "`url`"),
        ("title: T\nkeywords: python\n", "keywords", 2, "list"),
        ("title: T\nproperties: [a]\n", "properties", 2, "mapping"),
        (
            "title: T\nproperties:\n  executionBackend: {version: '1'}\n",
            "properties.executionBackend",
            3,
            "`slug`",
        ),
        (
            "title: T\nproperties:\n  executionBackend:\n    slug: c\n    settings:\n"
            "      timeout: fast\n",
            "properties.executionBackend.settings.timeout",
            6,
            "number",
        ),
        (
            "title: T\nproperties:\n  executionBackend:\n    slug: c\n    settings:\n"
            "      memoryLimitMB: -1\n",
            "properties.executionBackend.settings.memoryLimitMB",
            6,
            "at least",
        ),
        (
            "title: T\nproperties:\n  executionBackend:\n    slug: c\n    settings:\n"
            "      env: {DEBUG: 1}\n",
            "properties.executionBackend.settings.env.DEBUG",
            6,
            "quotes",
        ),
        (
            "title: T\nproperties:\n  executionBackend:\n    slug: c\n    settings:\n"
            "      flags: -O2\n",
            "properties.executionBackend.settings.flags",
            6,
            "list",
        ),
        ("title: T\ncontent:\n  tags: c\n", "content.tags", 3, "list"),
    ],
)
def test_wrong_type_names_field_and_line(text: str, field: str, line: int, words: str) -> None:
    meta, issues = parse(text)
    assert meta is None
    issue = only(errors(issues), field)
    assert issue.line == line
    assert words in issue.message
    assert str(issue) == f"{FILE}:{line}: {field}: {issue.message}"


def test_all_schema_errors_reported_at_once() -> None:
    meta, issues = parse("title: 5\nkeywords: python\nversion: x.y\n")
    assert meta is None
    assert {i.field for i in errors(issues)} == {"title", "keywords", "version"}


# --------------------------------------------------------------------------- warnings


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("title: T\nkind: assignment\n", "kind"),
        ("title: T\ntype: assignment\n", "type"),
        ("title: T\nproperties:\n  maxTestRuns: 10\n", "properties.maxTestRuns"),
        ("title: T\nproperties:\n  maxSubmissions: 3\n", "properties.maxSubmissions"),
        ("title: T\nproperties:\n  maxGroupSize: 2\n", "properties.maxGroupSize"),
        ("title: T\nproperties:\n  executionBackendSlug: py\n", "properties.executionBackendSlug"),
        ("title: T\nmaxTestRuns: 10\n", "maxTestRuns"),
    ],
)
def test_legacy_keys_are_warnings(text: str, field: str) -> None:
    meta, issues = parse(text)
    assert meta is not None
    issue = only(issues, field)
    assert issue.severity == "warning"
    assert "legacy" in issue.message


@pytest.mark.parametrize(
    ("text", "field", "suggestion"),
    [
        ("titel: T\n", "titel", "title"),
        ("title: T\nauthors:\n- name: A\n  mail: a@b\n", "authors[0].mail", "email"),
        ("title: T\nproperties:\n  testfiles: [a]\n", "properties.testfiles", "testFiles"),
        ("title: T\ncontent:\n  tag: [a]\n", "content.tag", "tags"),
    ],
)
def test_unknown_keys_are_warnings(text: str, field: str, suggestion: str) -> None:
    meta, issues = parse(text)
    assert meta is not None
    issue = only(warnings(issues), field)
    assert "unknown" in issue.message and f"`{suggestion}`" in issue.message


def test_backend_specific_settings_are_not_warned() -> None:
    meta, issues = parse(
        "title: T\nproperties:\n  executionBackend:\n    slug: s\n    settings: {image: x}\n"
    )
    assert meta is not None
    assert issues == []


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ("title: T\nauthors:\n- name: A\n  email: <email>\n", "authors[0].email", 4),
        (
            "title: T\nproperties:\n  executionBackend:\n    slug: py\n"
            "    version: <eb_py_version>\n",
            "properties.executionBackend.version",
            5,
        ),
    ],
)
def test_placeholders_are_warnings(text: str, field: str, line: int) -> None:
    meta, issues = parse(text)
    assert meta is not None
    issue = only(warnings(issues), field)
    assert issue.line == line and "placeholder" in issue.message


def test_missing_title_is_a_warning() -> None:
    meta, issues = parse("version: 1.0\n")
    assert meta is not None and meta.title == ""
    assert only(warnings(issues), "title")


# --------------------------------------------------------------------------- file lists


@pytest.mark.parametrize(
    ("entry", "words"),
    [  # YAML scalars as written in the file
        ("../secret.py", "`..`"),
        ("tests/../../x.py", "`..`"),
        ("'..\\x.py'", "`..`"),
        ("/etc/passwd", "absolute"),
        ("'C:\\tests\\x.py'", "absolute"),
        ("''", "empty"),
        ("'  '", "empty"),
        (".", "whole example"),
    ],
)
def test_unsafe_file_list_entry_is_an_error(entry: str, words: str) -> None:
    meta, issues = parse(f"title: T\nproperties:\n  testFiles:\n  - ok.py\n  - {entry}\n")
    assert meta is None
    issue = only(errors(issues), "properties.testFiles[1]")
    assert issue.line == 5 and words in issue.message


def test_dots_inside_a_file_name_are_fine() -> None:
    meta, issues = parse("title: T\nproperties:\n  testFiles: [a..b.py, ./sub//c.py]\n")
    assert meta is not None, issues
    assert meta.test_files == ("a..b.py", "sub/c.py")


def test_missing_listed_file_is_a_warning_with_line() -> None:
    meta, _ = parse(
        """\
        title: T
        properties:
          studentSubmissionFiles: [main.py]
          additionalFiles: [data]
          testFiles:
          - test_main.py
          - tests/test_extra.py
          studentTemplates: [studentTemplates/main.py, "*.txt"]
        """
    )
    assert meta is not None
    existing = ["main.py", "test_main.py", "data/in.csv", "studentTemplates/main.py", "a.txt"]
    issues = check_file_lists(meta, existing, file=FILE)
    assert [(i.severity, i.field, i.line) for i in issues] == [
        ("warning", "properties.testFiles[1]", 7)
    ]
    assert "tests/test_extra.py" in issues[0].message
    assert str(issues[0]).startswith(f"{FILE}:7: properties.testFiles[1]: ")


def test_missing_file_suggests_near_match() -> None:
    meta, _ = parse("title: T\nproperties:\n  studentTemplates: [templates/planet.py]\n")
    assert meta is not None
    issues = check_file_lists(meta, ["templates/planets.py"], file=FILE)
    assert "`templates/planets.py`" in only(issues, "properties.studentTemplates[0]").message


def test_all_listed_files_present_gives_no_warnings() -> None:
    meta, _ = parse(OLD_FORMAT)
    assert meta is not None
    existing = [
        "meta.yaml",
        "demo.py",
        "data/input.txt",
        "test_demo.py",
        "studentTemplates/demo.py",
    ]
    assert check_file_lists(meta, existing, file=FILE) == []
    assert len(check_file_lists(meta, existing[:-1], file=FILE)) == 1


# --------------------------------------------------------------------------- tags


def test_tags_union_lowercased_deduplicated_sorted() -> None:
    meta, issues = parse(
        """\
        title: T
        keywords: [Python, numpy, ' Plot ']
        tags: [PYTHON, extra]
        content:
          tags: [NumPy, beginner]
          tools: [ignored-tool]
        """
    )
    assert meta is not None, issues
    assert meta.tags == ("beginner", "extra", "numpy", "plot", "python")


# --------------------------------------------------------------------------- dependencies


def test_test_dependencies_string_and_object_forms() -> None:
    meta, issues = parse(
        """\
        identifier: course.me
        title: T
        properties:
          testDependencies:
          - course.plain
          - slug: course.old_style
            version: 1.10
          - identifier: course.new-style
            version: '>=1.0,<2'
          - {slug: course.any}
        """
    )
    assert meta is not None, issues
    assert meta.dependencies == (
        Dependency("course.plain", None),
        Dependency("course.old_style", "1.10"),
        Dependency("course.new-style", ">=1.0,<2"),
        Dependency("course.any", None),
    )


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ("- ../hello_world", "properties.testDependencies[0]", "path"),
        ("- {version: '1.0'}", "properties.testDependencies[0]", "`identifier` or `slug`"),
        ("- {slug: a.b, version: 'banana'}", "properties.testDependencies[0].version", "banana"),
        ("- 42", "properties.testDependencies[0]", "text or a mapping"),
        ("- course.me", "properties.testDependencies[0]", "itself"),
    ],
)
def test_bad_test_dependency_is_an_error(entry: str, field: str, words: str) -> None:
    meta, issues = parse(
        f"identifier: course.me\ntitle: T\nproperties:\n  testDependencies:\n  {entry}\n"
    )
    assert meta is None
    issue = only(errors(issues), field)
    assert issue.line == 5 and words in issue.message


def test_same_dependency_with_two_constraints_is_an_error() -> None:
    meta, issues = parse(
        "title: T\nproperties:\n  testDependencies:\n  - {slug: a.b, version: ^1}\n"
        "  - {slug: a.b, version: ^2}\n"
    )
    assert meta is None
    assert "twice" in only(errors(issues), "properties.testDependencies[1]").message


# --------------------------------------------------------------------------- Issue


def test_issue_str_omits_missing_parts() -> None:
    assert str(Issue("error", "m.yaml", "title", "bad", 3)) == "m.yaml:3: title: bad"
    assert str(Issue("warning", "m.yaml", "", "bad", 3)) == "m.yaml:3: bad"
    assert str(Issue("warning", "m.yaml", "title", "bad")) == "m.yaml: title: bad"
    assert str(Issue("warning", "", "", "bad")) == "bad"


def test_never_raises_on_odd_input() -> None:
    odd = [
        "a: &a\n  b: *a\n",
        "title: !python/object:os.system x\n",
        "? [complex, key]\n: value\n",
        "[" * 5000,
        "\x00\x01",
        "title: T\nproperties:\n  testDependencies: {a: b}\n",
        "title: T\nproperties:\n  executionBackend: []\n  testFiles: ~\n",
    ]
    for text in odd:
        meta, issues = parse(text)
        if meta is None:
            assert errors(issues), text


def test_an_identifier_with_a_trailing_newline_is_refused() -> None:
    """The schema's `$` must not let `hello\\n` through (Python's `$` matches before a final
    newline): such an identifier would never match the one a course names."""
    meta, issues = parse('title: T\nidentifier: "hello\\n"\n')
    assert meta is None and any("identifier" in str(i) for i in issues)


def test_versions_keep_their_text_by_the_same_rule_as_the_course_pass() -> None:
    """meta.yaml's parser and yamltext.load (which the deployed meta.yaml is rewritten with)
    keep every numeric `version:` as written, at any depth."""
    from controller import yamltext
    text = ("title: T\nversion: 1.10\nproperties:\n  executionBackend: {slug: py, version: 3.10}\n"
            "  testDependencies: [{identifier: a, version: 1.20}]\n")
    meta, _ = parse(text)
    assert meta is not None
    backend = meta.data["properties"]["executionBackend"]["version"]
    assert (meta.version_raw, backend, meta.dependencies[0].constraint) == ("1.10", "3.10", "1.20")
    loaded = yamltext.load(text, yamltext.META_LIMITS)
    assert loaded["version"] == "1.10" and loaded["properties"]["executionBackend"]["version"] \
        == "3.10"
