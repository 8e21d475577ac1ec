"""Each local server is real: these talk to it and fail when it is down."""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pygit2
import pytest
import sqlalchemy as sa
from minio import Minio

from tests.conftest import Stack, unique


def test_postgres_has_ltree(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS ltree"))
        inside = conn.execute(sa.text("SELECT 'week1.hello_world'::ltree <@ 'week1'")).scalar()
        outside = conn.execute(sa.text("SELECT 'week2.hello_world'::ltree <@ 'week1'")).scalar()
    engine.dispose()
    assert inside is True
    assert outside is False


def test_minio_put_get_list(stack: Stack, s3_prefix: str) -> None:
    client = Minio(stack.env["EXLIB_S3_ENDPOINT"], access_key=stack.env["EXLIB_S3_ACCESS_KEY"],
                   secret_key=stack.env["EXLIB_S3_SECRET_KEY"], secure=False)
    bucket = stack.env["EXLIB_S3_BUCKET"]
    data = b"print('hello')\n"
    client.put_object(bucket, f"{s3_prefix}v1/main.py", io.BytesIO(data), len(data))
    client.put_object(bucket, f"{s3_prefix}v10/main.py", io.BytesIO(b"x"), 1)
    got = client.get_object(bucket, f"{s3_prefix}v1/main.py")
    try:
        assert got.read() == data
    finally:
        got.close()
        got.release_conn()
    listed = [o.object_name for o in client.list_objects(bucket, prefix=f"{s3_prefix}v1/",
                                                         recursive=True)]
    assert listed == [f"{s3_prefix}v1/main.py"]


CRD = textwrap.dedent("""
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: widgets.smoke.exlib.dev}
    spec:
      group: smoke.exlib.dev
      names: {kind: Widget, plural: widgets, singular: widget}
      scope: Namespaced
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec: {type: object, properties: {size: {type: integer}}}
""")


def test_kube_apiserver_crd_roundtrip(stack: Stack, namespace: str) -> None:
    from kubernetes import client

    kubectl = [stack.kubectl, "--kubeconfig", stack.env["KUBECONFIG"]]
    subprocess.run([*kubectl, "apply", "-f", "-"], input=CRD, text=True, check=True,
                   capture_output=True)
    subprocess.run([*kubectl, "wait", "--for=condition=Established", "--timeout=60s",
                    "crd/widgets.smoke.exlib.dev"], check=True, capture_output=True)
    api = client.CustomObjectsApi()
    name = unique("w-")
    body = {"apiVersion": "smoke.exlib.dev/v1", "kind": "Widget",
            "metadata": {"name": name}, "spec": {"size": 3}}
    for _ in range(40):  # discovery may lag behind Established by a moment
        try:
            api.create_namespaced_custom_object("smoke.exlib.dev", "v1", namespace, "widgets",
                                                body)
            break
        except client.ApiException as err:
            if err.status != 404:
                raise
            time.sleep(0.25)
    got = api.get_namespaced_custom_object("smoke.exlib.dev", "v1", namespace, "widgets", name)
    assert got["spec"] == {"size": 3}
    out = subprocess.run([*kubectl, "get", "widgets", "-n", namespace, "-o", "json"],
                         check=True, capture_output=True, text=True).stdout
    assert [i["metadata"]["name"] for i in json.loads(out)["items"]] == [name]


def test_git_clone_and_push_with_token(stack: Stack, git_repo: str) -> None:
    callbacks = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", stack.git_token))
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.init_repository(Path(tmp) / "w", initial_head="main")
        blob = repo.create_blob(b"hello\n")
        tb = repo.TreeBuilder()
        tb.insert("README.md", blob, pygit2.GIT_FILEMODE_BLOB)
        sig = pygit2.Signature("exlib test", "test@exlib.dev")
        commit = repo.create_commit("refs/heads/main", sig, sig, "first", tb.write(), [])
        remote = repo.remotes.create("origin", git_repo)
        remote.push(["refs/heads/main:refs/heads/main"], callbacks=callbacks)
        clone = pygit2.clone_repository(git_repo, str(Path(tmp) / "c"), callbacks=callbacks)
        assert clone.head.target == commit
        assert (Path(tmp) / "c" / "README.md").read_text() == "hello\n"


def test_git_refuses_wrong_or_missing_token(stack: Stack, git_repo: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wrong = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", "not-the-token"))
        with pytest.raises(pygit2.GitError):
            pygit2.clone_repository(git_repo, str(Path(tmp) / "a"), callbacks=wrong)
        with pytest.raises(pygit2.GitError):
            pygit2.clone_repository(git_repo, str(Path(tmp) / "b"))
