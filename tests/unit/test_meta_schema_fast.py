"""meta.yaml's fast schema check (fastjsonschema) answers valid/invalid exactly as jsonschema.

The parser asks jsonschema for the errors only when the fast check says invalid, so a file
the fast check passed that jsonschema would refuse would sync without its error. Both are run
over the real course data, the unit tests' samples and thousands of mutations of them.
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from controller import yamltext
from controller.meta.parse import _valid, _validator
from tests.unit.test_meta_parse import NEW_FORMAT, OLD_FORMAT, REAL_META_FILES

#: Values put in place of each field in turn: every JSON type, and strings the schema's
#: pattern, minLength and identifier rules treat differently.
REPLACEMENTS: tuple[Any, ...] = (
    None, True, False, 0, 1, -1, 2.5, 1.0, -0.5, "", " ", "x", "a/b", "bad id", "week1\n",
    "1.0", ".hidden", "ok_id-1.2", [], [None], ["x"], [1], [{"x": 1}], ["a", "a"],
    {}, {"name": "n"}, {"identifier": "x"}, {"slug": 1}, {"x": [1]}, {"url": None},
    list(range(300)),
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*path, i))


def _replaced(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = _replaced(data[path[0]], path[1:], new)
    return copy


def _deleted(data: Any, path: tuple[Any, ...]) -> Any:
    copy = dict(data) if isinstance(data, dict) else list(data)
    if len(path) == 1:
        del copy[path[0]]
    else:
        copy[path[0]] = _deleted(data[path[0]], path[1:])
    return copy


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _mutations(data: Any) -> Iterator[Any]:
    """`data` with each field replaced by each of REPLACEMENTS, deleted, or given a key."""
    for path in _paths(data):
        for new in REPLACEMENTS:
            yield _replaced(data, path, new)
        if path:
            yield _deleted(data, path)
        value = _at(data, path)
        if isinstance(value, dict):
            yield _replaced(data, path, {**value, "extra": 1})


def _documents() -> list[Any]:
    texts = [textwrap.dedent(OLD_FORMAT), textwrap.dedent(NEW_FORMAT)]
    texts += [p.read_text(encoding="utf-8") for p in REAL_META_FILES]
    return [yamltext.load(t, yamltext.META_LIMITS) for t in texts]


def _agree(data: Any) -> tuple[bool, bool]:
    return _valid()(data), not any(True for _ in _validator().iter_errors(data))


def test_real_and_sample_documents_are_valid_for_both() -> None:
    documents = _documents()
    assert len(documents) == 72
    assert {_agree(d) for d in documents} == {(True, True)}


@pytest.mark.parametrize("sample", [OLD_FORMAT, NEW_FORMAT], ids=["old", "new"])
def test_every_mutation_of_the_samples_gets_the_same_answer(sample: str) -> None:
    data = yamltext.load(textwrap.dedent(sample), yamltext.META_LIMITS)
    answers = [(_agree(m), m) for m in _mutations(data)]
    assert len(answers) > 1000
    assert [m for (fast, full), m in answers if fast != full] == []
    assert {fast for (fast, _), _m in answers} == {True, False}  # both answers were exercised


def test_random_mutations_of_the_real_files_get_the_same_answer() -> None:
    rng = random.Random(12)
    disagree = []
    for data in _documents()[2:]:
        for mutated in rng.sample(list(_mutations(data)), 25):
            fast, full = _agree(mutated)
            if fast != full:
                disagree.append(mutated)
    assert disagree == []
