"""Sync planning without services: digests, duplicates, immutability, dependencies, archive."""

from __future__ import annotations

import uuid

from controller.library.digest import FileRecord, version_digest
from controller.library.plan import Known, KnownVersion, Unchanged, may_publish, plan
from controller.library.scan import Found, Scanned
from controller.meta import parse_meta


def scanned(directory: str, text: str, digest: str = "d1") -> Scanned:
    meta, issues = parse_meta(text, file=f"{directory}/meta.yaml",
                              directory_name=directory.rsplit("/", 1)[-1])
    return Scanned(Found(directory, None, None, None), meta, [], digest, issues)


def known(identifier: str, *versions: tuple[str | None, str], directory: str | None = None,
          archived: bool = False) -> Known:
    vs = tuple(KnownVersion(tag, digest) for tag, digest in versions)
    return Known(uuid.uuid4(), identifier, directory or identifier, None, archived,
                 vs[-1] if vs else None, vs)


def deps(*entries: str) -> str:
    return f"properties: {{testDependencies: [{', '.join(entries)}]}}\n"


def by_dir(decisions: list) -> dict:
    return {d.directory: d for d in decisions}


def test_digest_is_order_independent_and_sees_mode() -> None:
    a = FileRecord("a.py", 0o100644, 1, "11")
    b = FileRecord("b.py", 0o100644, 1, "22")
    assert version_digest([a, b]) == version_digest([b, a])
    assert version_digest([a, b]) != version_digest([a, FileRecord("b.py", 0o100755, 1, "22")])


def test_new_changed_unchanged_and_archived() -> None:
    old = known("b", ("1.0.0", "same"))
    changed = known("c", ("1.0.0", "old"))
    gone = known("gone", ("1.0.0", "x"))
    out = by_dir(plan([scanned("a", "slug: a\n"), scanned("b", "slug: b\nversion: 1.0.0\n",
                                                          "same"),
                       scanned("c", "slug: c\nversion: 1.1\n", "new")],
                      {k.identifier: k for k in (old, changed, gone)}))
    assert [out[d].status for d in ("a", "b", "c", "gone")] == [
        "new", "unchanged", "changed", "archived"]
    assert out["c"].publish and not out["b"].publish and out["c"].tag == "1.1.0"


def test_reverting_to_a_published_digest_reuses_it() -> None:
    k = known("a", ("1.0.0", "first"), ("1.1.0", "second"))
    d = plan([scanned("a", "slug: a\nversion: 1.0.0\n", "first")], {"a": k})[0]
    assert d.status == "changed" and not d.publish


def test_same_tag_other_content_is_invalid_and_keeps_version() -> None:
    k = known("a", ("1.0.0", "first"))
    d = plan([scanned("a", "slug: a\nversion: '1.0'\n", "other")], {"a": k})[0]
    assert d.status == "invalid" and d.digest == "first" and d.tag == "1.0.0"
    assert "already published with other content: bump `version`" in d.errors[0]


def test_duplicate_identifiers_fail_both_and_archive_nothing() -> None:
    k = known("twin", ("1.0.0", "x"), directory="one")
    out = by_dir(plan([scanned("one", "slug: twin\n"), scanned("two", "slug: twin\n")],
                      {"twin": k}))
    assert set(out) == {"one", "two"}
    assert all(d.status == "invalid" and "`twin` is also used by" in d.errors[0]
               for d in out.values())


def test_invalid_yaml_keeps_its_example_by_directory() -> None:
    k = known("x", ("1.0.0", "d"), directory="dir/x")
    out = plan([scanned("dir/x", "slug: [\n")], {"x": k})
    assert [d.status for d in out] == ["invalid"]
    assert out[0].known is k


def test_dependency_rules() -> None:
    lib = known("lib", ("1.0.0", "a"), ("1.2.0", "b"))
    items = [
        Unchanged("lib", lib),
        scanned("ok", "slug: ok\n" + deps("{slug: lib, version: '^1.1'}")),
        scanned("nope", "slug: nope\n" + deps("{slug: lib, version: '^2'}")),
        scanned("miss", "slug: miss\nproperties: {testDependencies: [ghost]}\n"),
        scanned("a", "slug: a\nproperties: {testDependencies: [b]}\n"),
        scanned("b", "slug: b\nproperties: {testDependencies: [a]}\n"),
        scanned("self", "slug: self\nproperties: {testDependencies: [self]}\n"),
        scanned("on_cycle", "slug: on_cycle\nproperties: {testDependencies: [a]}\n"),
    ]
    out = by_dir(plan(items, {"lib": lib}))
    assert out["ok"].status == "new" and out["lib"].status == "unchanged"
    assert "no version of `lib` satisfies `^2` (tagged versions: 1.0.0, 1.2.0)" in \
        out["nope"].errors[0]
    assert "`ghost`, which is not an example" in out["miss"].errors[0]
    assert "dependency cycle: a → b → a" in out["a"].errors[0]
    assert "dependency cycle: b → a → b" in out["b"].errors[0]
    assert out["self"].status == "invalid"  # meta.yaml parsing reports self-dependency
    assert "`a`, which has no valid version" in out["on_cycle"].errors[0]


def test_may_publish_is_decided_while_scanning_and_covers_every_publish() -> None:
    """Files are uploaded during the scan only for examples that may publish: planning
    must never publish one outside that set (it would have no files stored)."""
    known_ = {k.identifier: k for k in (known("same", ("1.0.0", "s")),
                                        known("bump", ("1.0.0", "b1")),
                                        known("clash", ("1.0.0", "c1")),
                                        known("back", ("1.0.0", "r1"), ("1.1.0", "r2")),
                                        known("old", ("1.0.0", "o"), archived=True))}
    items = [scanned("new", "slug: new\n", "n"), scanned("same", "slug: same\nversion: 1.0\n", "s"),
             scanned("bump", "slug: bump\nversion: 1.1\n", "b2"),
             scanned("clash", "slug: clash\nversion: 1.0\n", "c2"),
             scanned("back", "slug: back\nversion: 1.0\n", "r1"),
             scanned("old", "slug: old\nversion: 2.0\n", "o2"),
             scanned("bad", "slug: [\n", "x"),
             scanned("d1", "slug: twin\n", "t1"), scanned("d2", "slug: twin\n", "t2")]
    may = {s.found.directory for s in items if may_publish(s, known_)}
    assert may == {"new", "bump", "old", "d1", "d2"}
    published = {d.directory for d in plan(items, known_) if d.publish}
    assert published == {"new", "bump", "old"}  # the twins are rejected by planning
    assert published <= may


def test_statuses_are_the_one_enum_the_report_counts() -> None:
    """The planner's statuses, the report's counts and `exlib sync -o json` share SyncStatus."""
    from controller.library.report import LIVE, SyncStatus
    assert [s.value for s in SyncStatus] == ["new", "changed", "unchanged", "invalid",
                                             "archived"]
    assert SyncStatus.INVALID not in LIVE and SyncStatus.ARCHIVED not in LIVE
