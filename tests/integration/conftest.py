"""Fixtures of the tests that talk to the kube-apiserver (e2e and tenancy)."""

from __future__ import annotations

import pytest

from tests.conftest import Stack
from tests.integration.operator_harness import REPO, Kubectl


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
