"""How `exlib status COURSE` reads its argument (pure): a course path, `[namespace/]name`,
or both readings of a bare word; anything else is refused in words."""

from __future__ import annotations

import pytest

from controller.course.lookup import CourseReference, parse_reference


@pytest.mark.parametrize(("text", "reading"), [
    ("tugraz.prog1.ws2026", CourseReference("tugraz.prog1.ws2026", path="tugraz.prog1.ws2026",
                                            name="tugraz.prog1.ws2026")),
    ("prog1_2026", CourseReference("prog1_2026", path="prog1_2026")),  # `_`: no object name
    ("prog1-2026", CourseReference("prog1-2026", name="prog1-2026")),  # `-`: no path label
    ("exlib-demo/prog1-2026", CourseReference("exlib-demo/prog1-2026", namespace="exlib-demo",
                                              name="prog1-2026")),
])
def test_each_form_is_read_as_what_it_can_be(text: str, reading: CourseReference) -> None:
    assert parse_reference(text) == reading


@pytest.mark.parametrize(("text", "message"), [
    ("", "no course given"),
    ("Polyglot 101", "is neither a course path"),
    ("a/b/c", "with one `/`"),
    ("/x", "with one `/`"),
    ("Default/x", "`Default` is not a namespace name"),
    ("ns/X_1", "`X_1` is not a CourseStructure name"),
    ("n" * 64 + "/x", "at most 63 characters"),
])
def test_what_can_name_no_course_is_refused_with_what_to_type(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        parse_reference(text)
    assert "[namespace/]name" in str(refused.value)
