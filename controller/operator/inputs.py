"""Turn a resource's spec and Secrets into the domain's inputs; spec errors as `Problem`s.

Validation uses the same JSON Schemas the CRDs are generated from, so a spec that slipped
past the API server (older CRD, `x-kubernetes-preserve-unknown-fields`) still gets a clear
message naming the field.
"""

from __future__ import annotations

import functools
from typing import Any

from controller import jsonschemas
from controller.config import Settings
from controller.library.source import SourceSpec
from controller.store.credentials import Credentials, S3Credentials
from controller.store.kube import Kube, SecretMissing
from controller.tenancy import (
    destination_problem,
    endpoint_host,
    explain_schema_error,
    git_host,
    spec_url_problems,
)
from controller.timeouts import parse_timeout


@functools.cache
def _validator(schema: str) -> Any:
    return jsonschemas.validator(jsonschemas.load(schema))


def spec_errors(schema: str, spec: dict[str, Any]) -> list[str]:
    """Every schema violation as `spec.field.path: message`, and every Git URL exlib refuses.

    The URL rule runs again here (not only through the schema's pattern) so a spec that
    slipped past the API server never reaches a fetch.
    """
    out, fields = [], set()
    for err in sorted(_validator(schema).iter_errors(spec), key=lambda e: list(e.path)):
        where = jsonschemas.field_path(["spec", *err.path])
        out.append(f"{where}: {explain_schema_error(err)}")
        fields.add(where)
    out.extend(f"spec.{field}: {problem}" for field, problem in spec_url_problems(spec).items()
               if f"spec.{field}" not in fields)
    if "spec.timeout" not in fields:
        try:
            parse_timeout(spec.get("timeout"))
        except ValueError as err:
            out.append(f"spec.timeout: {err}")
    return out


def destination_problems(spec: dict[str, Any], settings: Settings) -> list[str]:
    """The spec's hosts the administrator does not allow; checked before any network call,
    so a Secret is never read for, nor sent to, a host outside the operator's settings."""
    found = []
    for key in ("git", "assignments", "studentTemplate"):
        url = (spec.get(key) or {}).get("url")
        if url:
            found.append(destination_problem(*git_host(url), settings.allowed_git_hosts,
                                             "EXLIB_ALLOWED_GIT_HOSTS", f"spec.{key}.url: Git"))
    provider = (spec.get("provider") or {}).get("url")
    if provider:
        found.append(destination_problem(*git_host(provider), settings.allowed_git_hosts,
                                         "EXLIB_ALLOWED_GIT_HOSTS",
                                         "spec.provider.url: provider"))
    if spec.get("s3"):
        found.append(destination_problem(*endpoint_host(spec["s3"]["endpoint"]),
                                         settings.allowed_s3_endpoints,
                                         "EXLIB_ALLOWED_S3_ENDPOINTS", "spec.s3.endpoint: S3"))
    return [p for p in found if p]


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


def provider_token(kube: Kube, namespace: str, spec: dict[str, Any]) -> str | None:
    """The API token of spec.provider (key `token` of its Secret); None without a provider."""
    provider = spec.get("provider")
    if not provider:
        return None
    name = provider["secretRef"]["name"]
    token = kube.secret(namespace, name).get("token")
    if not token:
        raise SecretMissing(f"Secret {namespace}/{name} (spec.provider.secretRef) has no key "
                            "`token`; put the provider's API token there")
    return token


def repository_source(kube: Kube, namespace: str, spec: dict[str, Any]) -> SourceSpec:
    """The SourceSpec an ExampleRepository's spec describes, with the credentials of its Secret."""
    ignore = tuple(line.strip() for line in (spec.get("ignore") or "").splitlines()
                   if line.strip() and not line.lstrip().startswith("#"))
    timeout = parse_timeout(spec.get("timeout"))  # checked by spec_errors
    if "git" in spec:
        git = spec["git"]
        ref = git.get("ref") or {}
        return SourceSpec(kind="git", url=git["url"],
                          ref=ref.get("commit") or ref.get("tag") or ref.get("branch"),
                          path=git.get("path", "").strip("/"), ignore=ignore, timeout=timeout,
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
                      insecure=bool(s3.get("insecure")), ignore=ignore, s3_credentials=keys,
                      timeout=timeout)
