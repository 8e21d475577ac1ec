"""Fixtures of the tests that talk to the kube-apiserver and run the real operator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.store.db import upgrade
from tests.conftest import Stack, unique
from tests.integration.operator_harness import REPO, Kubectl, Operator, start_operator


@pytest.fixture(scope="module")
def crds(stack: Stack) -> None:
    """The CRDs in `crds/` installed and established."""
    kubectl = Kubectl(stack.kubectl, stack.env["KUBECONFIG"], "default")
    kubectl("apply", "-k", str(REPO / "crds"))
    kubectl("wait", "--for=condition=Established", "--timeout=60s",
            "crd/examplerepositories.exlib.dev", "crd/coursestructures.exlib.dev")


@pytest.fixture
def kubectl(stack: Stack, namespace: str, crds: None) -> Kubectl:
    """kubectl in a fresh namespace of this test."""
    return Kubectl(stack.kubectl, stack.env["KUBECONFIG"], namespace)


@pytest.fixture
def operator(stack: Stack, database_url: str, kubectl: Kubectl,
             tmp_path: Path) -> Iterator[Operator]:
    """The real operator (`exlib run`) watching this test's namespace, on a fresh database."""
    upgrade(database_url)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "cache")}
    op = start_operator(env, kubectl.namespace, tmp_path / "operator.log")
    yield op
    # let the operator run its finalizers, or the namespace could never be deleted
    kubectl("delete", "coursestructures,examplerepositories", "--all", "--timeout=60s",
            check=False)
    op.stop()


@pytest.fixture
def course_setup(stack: Stack) -> dict[str, str]:
    """Examples pushed to a new repository, and two empty course repositories."""
    from tests.integration.test_operator_e2e import push_tree, sample_files

    urls = {k: stack.devstack("git-create", unique(f"{k}-"))
            for k in ("examples", "assignments", "template")}
    push_tree(urls["examples"], stack.git_token, sample_files(), "examples")
    return urls
