"""Turn a resource's spec and Secrets into the domain's inputs; spec errors as `Problem`s.

Validation uses the same JSON Schemas the CRDs are generated from, so a spec that slipped
past the API server (older CRD, `x-kubernetes-preserve-unknown-fields`) still gets a clear
message naming the field.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from controller.library.source import S3Credentials, SourceSpec
from controller.operator.crds import load_schema
from controller.store.git import Credentials
from controller.store.kube import Kube, SecretMissing


@functools.cache
def _validator(schema: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(schema))


def spec_errors(schema: str, spec: dict[str, Any]) -> list[str]:
    """Every schema violation as `spec.field.path: message`, and credentials inside URLs."""
    out = []
    for err in sorted(_validator(schema).iter_errors(spec), key=lambda e: list(e.path)):
        where = "spec" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.path)
        out.append(f"{where}: {err.message}")
    for key in ("git", "assignments", "studentTemplate"):
        url = (spec.get(key) or {}).get("url") if isinstance(spec.get(key), dict) else None
        if isinstance(url, str) and urlsplit(url).password:
            out.append(f"spec.{key}.url: contains a password or token; remove it from the URL "
                       "and put it in the Secret named by secretRef")
    return out


def git_credentials(kube: Kube, namespace: str, ref: dict[str, Any] | None) -> Credentials:
    """Credentials from a Secret: `token`, `username`/`password`, or `identity`/`known_hosts`."""
    if not ref:
        return Credentials()
    data = kube.secret(namespace, ref["name"])
    creds = Credentials(
        token=data.get("token"), username=data.get("username"), password=data.get("password"),
        ssh_private_key=data.get("identity"), ssh_public_key=data.get("identity.pub"),
        known_hosts=data.get("known_hosts"))
    if not (creds.token or creds.password or creds.ssh_private_key):
        raise SecretMissing(f"Secret {namespace}/{ref['name']} has none of the keys token, "
                            "password or identity")
    return creds


def repository_source(kube: Kube, namespace: str, spec: dict[str, Any]) -> SourceSpec:
    ignore = tuple(line.strip() for line in (spec.get("ignore") or "").splitlines()
                   if line.strip() and not line.lstrip().startswith("#"))
    if "git" in spec:
        git = spec["git"]
        ref = git.get("ref") or {}
        return SourceSpec(kind="git", url=git["url"],
                          ref=ref.get("commit") or ref.get("tag") or ref.get("branch"),
                          path=git.get("path", "").strip("/"), ignore=ignore,
                          credentials=git_credentials(kube, namespace, git.get("secretRef")))
    s3 = spec["s3"]
    keys = S3Credentials()
    if s3.get("secretRef"):
        data = kube.secret(namespace, s3["secretRef"]["name"])
        if "accesskey" not in data or "secretkey" not in data:
            raise SecretMissing(f"Secret {namespace}/{s3['secretRef']['name']} needs the keys "
                                "accesskey and secretkey")
        keys = S3Credentials(access_key=data["accesskey"], secret_key=data["secretkey"])
    return SourceSpec(kind="s3", url=s3["endpoint"], bucket=s3["bucket"],
                      path=s3.get("prefix", "").strip("/"), region=s3.get("region"),
                      insecure=bool(s3.get("insecure")), ignore=ignore, s3_credentials=keys)
