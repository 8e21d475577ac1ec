"""`exlib db upgrade`, `exlib validate`, `exlib sync DIR` and `exlib examples ...`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from controller.store.db import library
from controller.store.db.base import Base
from tests.conftest import SHARED_DATA, Stack
from tests.integration.library_support import exlib, meta

LIBRARY_TABLES = {m.__tablename__ for m in (
    library.Organization, library.ExampleRepository, library.Example, library.ExampleVersion,
    library.ExampleDependency, library.SyncResult)}
DATA = SHARED_DATA / "data-science-python" / "examples"


def test_db_upgrade_creates_ltree_and_the_model_schema(stack: Stack, database_url: str) -> None:
    env = {**stack.env, "DATABASE_URL": database_url}
    res = exlib("db", "upgrade", "-o", "json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["revision"]
    assert exlib("db", "upgrade", env=env).returncode == 0  # idempotent
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 'a.b'::ltree <@ 'a'")).scalar() is True
        ctx = MigrationContext.configure(conn, opts={  # both sides: other models may be loaded
            "include_object": lambda _o, name, kind, _r, _c: kind != "table"
            or name in LIBRARY_TABLES})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []  # migration 0001 and the models describe the same schema


def test_validate_tree_and_single_example(tmp_path: Path) -> None:
    assert exlib("validate", str(DATA), env={}).returncode == 0
    one = exlib("validate", str(DATA / "python" / "itpcp.pgph.py.caesar"), "-o", "json", env={})
    assert one.returncode == 0
    assert json.loads(one.stdout)["examples"][0]["identifier"] == "itpcp.pgph.py.caesar"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "meta.yaml").write_text(meta("bad", "1.0", deps=["elsewhere"]) + "title: 3\n")
    (bad / "out").symlink_to("/etc/passwd")
    res = exlib("validate", str(bad), env={})
    assert res.returncode == 1
    assert "outside the example" in res.stdout
    assert "elsewhere" not in res.stdout  # a single example is checked without its deps


def test_sync_dir_and_browse_examples(stack: Stack, database_url: str, tmp_path: Path) -> None:
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "c")}
    assert exlib("db", "upgrade", env=env).returncode == 0
    root = tmp_path / "lib"
    shutil.copytree(DATA / "python" / "itpcp.pgph.py.caesar", root / "caesar")
    (root / "user").mkdir()
    (root / "user" / "meta.yaml").write_text(
        meta("user", "2.0", deps=[{"slug": "itpcp.pgph.py.caesar", "version": "^1.0"}],
             keywords=["Crypto", "python"]))
    res = exlib("sync", "--name", "local", str(root), env=env)
    assert res.returncode == 0, res.stderr
    assert "2 examples, 2 new" in res.stdout
    assert "stored 4 objects" in res.stdout  # small versions: a pack and metadata.json each

    listed = json.loads(exlib("examples", "list", "-o", "json", env=env).stdout)
    assert {r["identifier"] for r in listed} == {"itpcp.pgph.py.caesar", "user"}
    found = json.loads(exlib("examples", "search", "--tag", "crypto", "--tag", "python",
                             "-o", "json", env=env).stdout)
    assert [r["identifier"] for r in found] == ["user"]
    text = json.loads(exlib("examples", "search", "--text", "caesar", "--language", "de",
                            "-o", "json", env=env).stdout)
    assert [r["identifier"] for r in text] == ["itpcp.pgph.py.caesar"]

    shown = json.loads(exlib("examples", "show", "itpcp.pgph.py.caesar", "-o", "json",
                             env=env).stdout)[0]
    assert shown["versions"][0]["tag"] == "1.0.0" and shown["versions"][0]["latest"]
    assert [d["identifier"] for d in shown["dependents"]] == ["user"]
    user = json.loads(exlib("examples", "show", "user", "-o", "json", env=env).stdout)[0]
    assert user["dependencies"] == [{"identifier": "itpcp.pgph.py.caesar",
                                     "id": shown["id"], "constraint": "^1.0"}]
    table = exlib("examples", "show", "user", env=env)
    assert table.returncode == 0 and "2.0.0" in table.stdout
    missing = exlib("examples", "show", "nope", env=env)
    assert missing.returncode == 1 and "nope" in missing.stderr
