"""Kubernetes API adapter: Secrets, status patches, Events and custom objects (no rules here)."""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client import ApiException

GROUP, VERSION = "exlib.dev", "v1alpha1"
PLURALS = {"ExampleRepository": "examplerepositories", "CourseStructure": "coursestructures"}
COMPONENT = "exlib-operator"


class SecretMissing(LookupError):
    """A referenced Secret or key does not exist; the message names both."""


def load_config() -> None:
    """In-cluster service account when running in a pod, else KUBECONFIG."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()
    else:
        config.load_kube_config()


def now_iso() -> str:
    """Now as Kubernetes timestamps are written (RFC 3339, seconds, UTC)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Kube:
    """Thin wrapper over the generated clients so callers never build API paths themselves."""

    core: client.CoreV1Api
    custom: client.CustomObjectsApi

    @classmethod
    def connect(cls) -> Kube:
        """Clients from the in-cluster service account, or the kubeconfig outside a cluster."""
        load_config()
        return cls(client.CoreV1Api(), client.CustomObjectsApi())

    def secret(self, namespace: str, name: str) -> dict[str, str]:
        """All keys of a Secret, decoded. Values never leave this process in logs or status."""
        try:
            sec = self.core.read_namespaced_secret(name, namespace)
        except ApiException as err:
            if err.status == 404:
                raise SecretMissing(f"Secret {namespace}/{name} does not exist; create it or "
                                    "fix secretRef.name") from None
            if err.status == 403:
                raise SecretMissing(f"the operator may not read Secret {namespace}/{name}; "
                                    "grant its ServiceAccount `get` on secrets (see "
                                    "manifests/base/rbac.yaml)") from None
            raise
        out = {}
        for key, value in (sec.data or {}).items():
            try:
                out[key] = base64.b64decode(value).decode()
            except UnicodeDecodeError:
                raise SecretMissing(f"Secret {namespace}/{name}: key {key} is not UTF-8 text; "
                                    "store the token or password as plain text") from None
        return out

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The custom object of `kind` (namespace, name), or None when it does not exist."""
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace,
                                                            PLURALS[kind], name)
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def patch_status(self, kind: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge-patch the status subresource; a vanished object is not an error."""
        try:
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURALS[kind], name, {"status": status})
        except ApiException as err:
            if err.status != 404:
                raise

    def event(self, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
        """Post a core/v1 Event about an object (shown by `kubectl describe`)."""
        meta = body["metadata"]
        stamp = dt.datetime.now(dt.UTC)
        ev = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{meta['name']}.",
                                         namespace=meta["namespace"]),
            involved_object=client.V1ObjectReference(
                api_version=body["apiVersion"], kind=body["kind"], name=meta["name"],
                namespace=meta["namespace"], uid=meta.get("uid"),
                resource_version=meta.get("resourceVersion")),
            reason=reason, message=message[:1024], type=type_,
            first_timestamp=stamp, last_timestamp=stamp, count=1,
            source=client.V1EventSource(component=COMPONENT, host=socket.gethostname()),
            reporting_component=COMPONENT, reporting_instance=socket.gethostname(),
        )
        try:
            self.core.create_namespaced_event(meta["namespace"], ev)
        except ApiException as err:
            if err.status not in (403, 404):  # events are best effort
                raise
