"""Helpers for the library tests: a migrated database, settings, and pushing example trees
to the stack's Git server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pygit2
import yaml

from controller.library.source import SourceSpec
from controller.store.git import Credentials

Tree = dict[str, "bytes | str | tuple[str, str]"]  # path -> content, or ("link", target)


def meta(identifier: str, version: str | None = "1.0.0", *, deps: list[Any] | None = None,
         **extra: Any) -> str:
    """An old-format meta.yaml (slug) as text; `version` is written unquoted."""
    data: dict[str, Any] = {"slug": identifier, "title": f"Example {identifier}",
                            "description": "d", "language": "en", "keywords": ["python"]}
    if deps is not None:
        data["properties"] = {"testDependencies": deps}
    data.update(extra)
    text = yaml.safe_dump(data, sort_keys=False)
    return text + (f"version: {version}\n" if version is not None else "")


def example(identifier: str, version: str | None = "1.0.0", *, code: str = "x = 1\n",
            **kw: Any) -> Tree:
    return {"meta.yaml": meta(identifier, version, **kw), "main.py": code}


def under(prefix: str, tree: Tree) -> Tree:
    return {f"{prefix}/{k}": v for k, v in tree.items()}


class GitRemote:
    """A working repository that commits whole trees and pushes them to the server."""

    def __init__(self, url: str, token: str, workdir: Path) -> None:
        self.url = url
        self.creds = Credentials(token=token)
        self.repo = pygit2.init_repository(str(workdir), bare=True, initial_head="main")
        self.sig = pygit2.Signature("exlib test", "test@exlib.dev")

    def _tree(self, files: Tree) -> pygit2.Oid:
        nested: dict[str, Any] = {}
        for path, content in files.items():
            node = nested
            *dirs, name = path.split("/")
            for d in dirs:
                node = node.setdefault(d, {})
            node[name] = content
        return self._write(nested)

    def _write(self, node: dict[str, Any]) -> pygit2.Oid:
        tb = self.repo.TreeBuilder()
        for name, value in node.items():
            if isinstance(value, dict):
                tb.insert(name, self._write(value), pygit2.GIT_FILEMODE_TREE)
            elif isinstance(value, tuple):
                tb.insert(name, self.repo.create_blob(value[1].encode()),
                          pygit2.GIT_FILEMODE_LINK)
            else:
                data = value.encode() if isinstance(value, str) else value
                tb.insert(name, self.repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
        return tb.write()

    def commit(self, files: Tree, message: str = "update", tag: str | None = None) -> str:
        parents = [] if self.repo.head_is_unborn else [self.repo.head.target]
        oid = self.repo.create_commit("refs/heads/main", self.sig, self.sig, message,
                                      self._tree(files), parents)
        refs = ["+refs/heads/main:refs/heads/main"]
        if tag:
            self.repo.references.create(f"refs/tags/{tag}", oid)
            refs.append(f"refs/tags/{tag}:refs/tags/{tag}")
        cb = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", self.creds.token))
        self.repo.remotes.create_anonymous(self.url).push(refs, callbacks=cb)
        return str(oid)

    def source(self, **kw: Any) -> SourceSpec:
        return SourceSpec("git", self.url, credentials=self.creds, **kw)


def tree_from_dir(root: Path, prefix: str = "") -> Tree:
    return {f"{prefix}{p.relative_to(root).as_posix()}": p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def exlib(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real `exlib` command line."""
    exe = Path(sys.executable).parent / "exlib"
    return subprocess.run([str(exe), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
