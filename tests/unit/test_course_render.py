"""Deployed meta.yaml: course properties and resolved dependencies; a stable deploy key."""

from __future__ import annotations

import yaml

from controller.course.render import ResolvedDependency, deploy_key, rewrite_meta

META = b"""slug: functions-intro
version: 1.10
title: Functions
properties:
  testFiles: [test_functions.py]
  testDependencies:
  - slug: variables-basics
    version: ^1.0
"""
DEP = ResolvedDependency("variables-basics", "e-1", "v-1", "1.2.0", "ab" * 32)


def test_meta_rewritten_with_course_properties_and_resolved_dependencies() -> None:
    meta = yaml.safe_load(rewrite_meta(META, {"maxSubmissions": 5}, [DEP]))
    assert meta["version"] == "1.10"  # kept as written
    assert meta["properties"]["maxSubmissions"] == 5
    assert meta["properties"]["testFiles"] == ["test_functions.py"]
    assert meta["properties"]["testDependencies"] == [
        {"identifier": "variables-basics", "id": "e-1", "version": "1.2.0"}]
    untagged = ResolvedDependency("x", "e-2", "v-2", None, "cd" * 32)
    assert untagged.version_label == "sha256:" + "cd" * 6
    plain = yaml.safe_load(rewrite_meta(b"slug: a\ntitle: A\n", {}, []))
    assert plain == {"slug": "a", "title": "A"}


def test_deploy_key_changes_with_every_input() -> None:
    base = deploy_key("d1", {"maxSubmissions": 5}, [DEP])
    assert base == deploy_key("d1", {"maxSubmissions": 5}, [DEP])
    assert base != deploy_key("d2", {"maxSubmissions": 5}, [DEP])
    assert base != deploy_key("d1", {"maxSubmissions": 6}, [DEP])
    assert base != deploy_key("d1", {"maxSubmissions": 5}, [])
