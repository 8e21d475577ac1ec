"""The student template of one assignment (DESIGN §7.7): an allowlist, never a blocklist.

Pure: a directory's files ({relative path: bytes}) and its parsed meta.yaml in, the files the
students get out. Only named things are copied — task text, media, `additionalFiles`, and the
submission files filled from `studentTemplates` (or left empty) — so a reference solution, a
test or the vendored dependencies cannot leak by being forgotten in a list. Text between
`BEGIN SOLUTION` and `END SOLUTION` lines (markers included) is cut from every text file.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from collections.abc import Iterable, Mapping

from controller.meta.model import ExampleMeta

_INDEX = re.compile(r"^content/index(?P<suffix>[^/]*)\.md$")
_MEDIA = "content/mediaFiles/"
_TEMPLATE_DIR = "studentTemplates/"
#: Never copied, whatever the lists say: tests, solutions, exlib's own files.
_NEVER_PREFIXES = ("localTests/", "reference/", ".dependencies/")
_NEVER_NAMES = frozenset({"meta.yaml", "test.yaml"})


def _matches(path: str, entries: Iterable[str]) -> bool:
    """`path` is an entry, lies below a directory entry, or matches a glob entry."""
    for entry in entries:
        entry = entry.strip("/")
        if path == entry or path.startswith(entry + "/") or (
                any(c in entry for c in "*?[") and fnmatch.fnmatchcase(path, entry)):
            return True
    return False


def _forbidden(path: str, meta: ExampleMeta | None) -> bool:
    return (path in _NEVER_NAMES or path.startswith(_NEVER_PREFIXES)
            or (meta is not None and _matches(path, meta.test_files)))


def strip_solutions(data: bytes, name: str = "") -> bytes:
    """Cut solution blocks from a text file; binary files come back unchanged."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    if "BEGIN SOLUTION" not in text:
        return data
    if name.endswith(".ipynb"):
        stripped = _strip_notebook(text)
        if stripped is not None:
            return stripped.encode("utf-8")
    return _strip_lines(text).encode("utf-8")


def _strip_lines(text: str) -> str:
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        if not inside and "BEGIN SOLUTION" in line:
            inside = True
        elif inside and "END SOLUTION" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "".join(out)


def _strip_notebook(text: str) -> str | None:
    """Strip inside each cell (keeps the JSON valid); outputs of such cells are cleared."""
    try:
        nb = json.loads(text)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError):
        return None
    for cell in cells:
        source = cell.get("source", "")
        joined = "".join(source) if isinstance(source, list) else str(source)
        if "BEGIN SOLUTION" not in joined:
            continue
        kept = _strip_lines(joined)
        cell["source"] = kept.splitlines(keepends=True) if isinstance(source, list) else kept
        if "outputs" in cell:
            cell["outputs"] = []
            cell["execution_count"] = None
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _template_for(entry: str, templates: list[str]) -> str | None:
    """The template filling a submission file: same path first, else same file name."""
    if entry in templates:
        return entry
    name = posixpath.basename(entry)
    return next((t for t in templates if posixpath.basename(t) == name), None)


def assignment_template(files: Mapping[str, bytes], meta: ExampleMeta | None) -> dict[str, bytes]:
    """The student-facing files of one assignment directory (paths relative to it).

    With no readable meta.yaml only the task text and media are copied.
    """
    out: dict[str, bytes] = {}

    def add(dest: str, source: str | None) -> None:
        if dest in _NEVER_NAMES or dest.startswith(_NEVER_PREFIXES):
            return
        data = files[source] if source is not None else b""
        out[dest] = strip_solutions(data, dest)

    for path in sorted(files):
        if _forbidden(path, meta):
            continue
        index = _INDEX.match(path)
        if index:
            add(f"README{index.group('suffix')}.md", path)
        elif path.startswith(_MEDIA):
            add("mediaFiles/" + path[len(_MEDIA):], path)
    if meta is None:
        return out
    submissions = [s.strip("/") for s in meta.student_submission_files]
    templates = [t.strip("/") for t in meta.student_templates
                 if t.strip("/") in files and not _forbidden(t.strip("/"), meta)]
    for path in sorted(files):
        if (_matches(path, meta.additional_files) and not _forbidden(path, meta)
                and not _matches(path, submissions)):
            add(path, path)
    used: set[str] = set()
    for entry in submissions:
        source = _template_for(entry, templates)
        if source is not None:
            used.add(source)
        add(entry, source)
    for source in templates:
        dest = source.removeprefix(_TEMPLATE_DIR)
        if source not in used and dest not in out:
            add(dest, source)
    return out
