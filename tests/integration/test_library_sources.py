"""S3 sources, Git tag history import, and a MinIO that stops in the middle of a sync."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from controller.config import Settings
from controller.library import layout
from controller.library.errors import AuthenticationFailed, StorageUnavailable
from controller.library.source import S3Credentials, SourceSpec
from controller.library.sync import remote_revision, sync_repository
from controller.library.versions import load_version_files, resolve_version
from controller.store.db import make_engine, session_scope
from controller.store.db.library import Example, ExampleVersion
from controller.store.objects import object_store
from tests.conftest import Stack
from tests.integration.library_support import GitRemote, example, under


def s3_source(stack: Stack, prefix: str, secret: str | None = None) -> SourceSpec:
    return SourceSpec("s3", stack.env["EXLIB_S3_ENDPOINT"], bucket=stack.env["EXLIB_S3_BUCKET"],
                      path=prefix, insecure=True, s3_credentials=S3Credentials(
                          stack.env["EXLIB_S3_ACCESS_KEY"],
                          secret or stack.env["EXLIB_S3_SECRET_KEY"]))


def test_s3_source_skips_unchanged_by_etag(stack: Stack, settings: Settings,
                                           s3_prefix: str) -> None:
    store = object_store(settings)
    files = {**under("group/a", example("a")), **under("group/b", example("b"))}
    for key, text in files.items():
        store.put(f"{s3_prefix}src/{key}", text.encode())
    source = s3_source(stack, s3_prefix + "src")
    first = sync_repository(settings, source, name="s3lib")
    assert {e.identifier: e.status for e in first.examples} == {"a": "new", "b": "new"}
    assert first.revision == remote_revision(source, settings, namespace="default", name="s3lib")
    store.put(f"{s3_prefix}src/group/b/main.py", b"x = 2\n")
    store.put(f"{s3_prefix}src/group/b/meta.yaml",
              example("b", "1.1")["meta.yaml"].encode())  # type: ignore[union-attr]
    assert remote_revision(source, settings, namespace="default", name="s3lib") != first.revision
    second = sync_repository(settings, source, name="s3lib")
    assert {e.identifier: e.status for e in second.examples} == {"a": "unchanged",
                                                                 "b": "changed"}
    assert second.uploaded_versions == 1
    with pytest.raises(AuthenticationFailed):
        sync_repository(settings, s3_source(stack, s3_prefix + "src", "wrong-secret"),
                        name="s3lib")


def test_history_imports_tagged_releases(settings: Settings, stack: Stack, git_repo: str,
                                         tmp_path: Path) -> None:
    remote = GitRemote(git_repo, stack.git_token, tmp_path / "w.git")
    remote.commit({**under("a", example("a", "1.0", code="1\n")),
                   **under("old", example("old"))}, tag="v1.0")
    remote.commit(under("a", example("a", "1.1", code="2\n")), tag="v1.1")
    remote.commit(under("a", example("a", "1.2", code="3\n")), tag="other-2")
    report = sync_repository(settings, remote.source(), name="h", history="tags:v*")
    assert [h["tag"] for h in report.history] == ["v1.0", "v1.1"]
    assert [(e.identifier, e.version) for e in report.examples] == [("a", "1.2.0")]
    with session_scope(make_engine(settings.database_url)) as s:
        a = s.scalar(sa.select(Example).filter_by(identifier="a"))
        assert a is not None
        tags = sorted(s.scalars(sa.select(ExampleVersion.tag).filter_by(example_id=a.id)))
        assert tags == ["1.0.0", "1.1.0", "1.2.0"]
        assert resolve_version(s, a.id, None).tag == "1.2.0"
        first = resolve_version(s, a.id, "~1.0")
        assert load_version_files(settings, first)["main.py"][1] == b"1\n"
        old = s.scalar(sa.select(Example).filter_by(identifier="old"))
        assert old is not None and old.archived_at is not None  # only in history: pinnable
        assert resolve_version(s, old.id, "1.0.0").tag == "1.0.0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateMinio:
    """A second MinIO (the stack's cached binary) that this test may stop and start."""

    def __init__(self, data: Path) -> None:
        self.data, self.port = data, _free_port()
        self.access, self.secret = "private", secrets.token_hex(12)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = next(Path.home().glob(".cache/exlib-devstack/minio-*/minio"))
        env = {**os.environ, "MINIO_ROOT_USER": self.access, "MINIO_ROOT_PASSWORD": self.secret,
               "MINIO_BROWSER": "off", "MINIO_UPDATE": "off", "MINIO_CI_CD": "1"}
        self.proc = subprocess.Popen([str(binary), "server", str(self.data), "--address",
                                      f"127.0.0.1:{self.port}", "--quiet"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{self.port}/minio/health/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("private MinIO did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def private_minio(tmp_path: Path) -> Iterator[PrivateMinio]:
    minio = PrivateMinio(tmp_path / "minio")
    minio.start()
    yield minio
    minio.stop()


@pytest.mark.parametrize(("batch", "phase"), [
    ("off", "upload"),  # one PUT per object: stopped while files are being stored
    ("off", "write"),  # ... while metadata.json objects are being stored
    ("on", "write"),  # batched: every file stored, no metadata.json yet
])
def test_minio_stopped_mid_sync_is_finished_by_the_next(
        settings: Settings, stack: Stack, git_repo: str, tmp_path: Path,
        private_minio: PrivateMinio, batch: str, phase: str) -> None:
    settings = replace(settings, s3_endpoint=f"127.0.0.1:{private_minio.port}",
                       s3_access_key=private_minio.access, s3_secret_key=private_minio.secret,
                       upload_workers=2, s3_batch_uploads=batch)
    remote = GitRemote(git_repo, stack.git_token, tmp_path / "w.git")
    files: dict = {}
    for i in range(30):
        files |= under(f"ex{i:02}", {**example(f"ex{i:02}"),
                                     **{f"f{j}.txt": f"{i}-{j}\n" for j in range(5)}})
    remote.commit(files)

    def kill_after_some(now: str, done: int, _total: int | None) -> None:
        if now == phase and done == 8:
            private_minio.stop()

    with pytest.raises(StorageUnavailable, match=str(private_minio.port)):
        sync_repository(settings, remote.source(), name="m", progress=kill_after_some)
    with session_scope(make_engine(settings.database_url)) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ExampleVersion)) == 0

    private_minio.start()
    store = object_store(settings)
    assert sum(o.key.endswith("metadata.json") for o in store.list("repositories/")) < 30

    report = sync_repository(settings, remote.source(), name="m")
    assert report.counts["new"] == 30 and report.counts["invalid"] == 0
    with session_scope(make_engine(settings.database_url)) as s:
        versions = s.scalars(sa.select(ExampleVersion)).all()
        assert len(versions) == 30
        for v in versions:
            files_ = load_version_files(settings, v)
            assert len(files_) == 7 and files_["f4.txt"][1].endswith(b"-4\n")


BIG = bytes(range(256)) * (layout.PACK_MAX_BYTES // 256 + 1)  # the version is not packed


@pytest.mark.parametrize("batch", ["on", "off"])
def test_odd_file_names_are_stored_exactly_either_way(
        settings: Settings, stack: Stack, git_repo: str, tmp_path: Path, batch: str) -> None:
    """Batched requests (a tar MinIO unpacks) and single PUTs store the same objects (of a
    version larger than a pack, so every file is an object under its own name)."""
    remote = GitRemote(git_repo, stack.git_token, tmp_path / "w.git")
    deep = "/".join(["level-with-a-rather-long-name"] * 5) + "/data file.txt"  # > 100 chars
    files = {**example("odd"), "ünïcödé ✓.py": "print('ü')\n", "empty.txt": "",
             deep: "deep\n", "alias.py": ("link", "main.py"), "bin.dat": bytes(range(256)),
             "big.bin": BIG}  # over 1 MiB: a request of its own
    remote.commit(under("odd", files))
    settings = replace(settings, s3_batch_uploads=batch)
    assert object_store(settings).batches is (batch == "on")
    report = sync_repository(settings, remote.source(), name=f"odd-{batch}")
    # objects: the files and metadata.json
    assert report.counts["new"] == 1 and report.uploaded_objects == len(files) + 1
    with session_scope(make_engine(settings.database_url)) as s:
        ex = s.scalar(sa.select(Example).filter_by(identifier="odd"))
        assert ex is not None
        stored = load_version_files(settings, resolve_version(s, ex.id, None))
    assert stored == {
        "meta.yaml": (0o100644, files["meta.yaml"].encode()),  # type: ignore[union-attr]
        "main.py": (0o100644, b"x = 1\n"), "ünïcödé ✓.py": (0o100644, "print('ü')\n".encode()),
        "empty.txt": (0o100644, b""), deep: (0o100644, b"deep\n"),
        "alias.py": (0o120000, b"main.py"), "bin.dat": (0o100644, bytes(range(256))),
        "big.bin": (0o100644, BIG)}


def test_library_store_batches_on_minio(settings: Settings) -> None:
    """`auto` finds out that the stack's store is MinIO (and so takes batched requests)."""
    assert object_store(settings).batches
    assert not object_store(replace(settings, s3_batch_uploads="off")).batches
