"""Running the real operator (`exlib run`) against the local kube-apiserver, for e2e tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Operator:
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_operator(env: dict[str, str], namespace: str, log: Path, *extra: str) -> Operator:
    proc = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "run", "--namespace", namespace,
         "--metrics-port", "0", *extra],
        env={**os.environ, **env}, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        cwd=REPO)
    return Operator(proc, log)


@dataclass
class Kubectl:
    binary: str
    kubeconfig: str
    namespace: str

    def __call__(self, *args: str, input: str | None = None, check: bool = True
                 ) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([self.binary, "--kubeconfig", self.kubeconfig, "-n", self.namespace,
                              *args], input=input, capture_output=True, text=True)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {res.stderr}")
        return res

    def apply(self, *docs: dict[str, Any]) -> None:
        self("apply", "-f", "-", input=yaml.safe_dump_all(docs))

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return json.loads(self("get", kind, name, "-o", "json").stdout)

    def events(self, name: str) -> list[dict[str, Any]]:
        out = self("get", "events", "--field-selector", f"involvedObject.name={name}",
                   "-o", "json").stdout
        return json.loads(out)["items"]


def create_peering(kubectl: Kubectl, name: str = "exlib") -> None:
    """Kopf's peering CRD and a namespaced peering object `name` in kubectl's namespace (the
    operators of a test watch one namespace, so they peer there, not cluster-wide)."""
    kubectl("apply", "-f", str(REPO / "crds" / "kopf.dev_peerings.yaml"))
    kubectl("wait", "--for=condition=Established", "--timeout=60s",
            "crd/kopfpeerings.kopf.dev")
    kubectl("apply", "-f", "-", input=f"apiVersion: kopf.dev/v1\nkind: KopfPeering\n"
                                      f"metadata: {{name: {name}}}\n")


def peers(kubectl: Kubectl, name: str = "exlib") -> dict[str, dict[str, Any]]:
    """The operators announced in peering object `name`: identity -> priority, lifetime..."""
    return kubectl.get("kopfpeering", name).get("status") or {}


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c["type"] == type_), None)


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 90,
             operator: Operator | None = None) -> Any:
    """Poll until `probe` returns something truthy; fail with the operator's log otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.5)
    tail = "\n".join(operator.output().splitlines()[-40:]) if operator else ""
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}\n{tail}")


def wait_condition(kubectl: Kubectl, kind: str, name: str, type_: str, status: str,
                   operator: Operator | None = None, timeout: float = 90,
                   generation: bool = True) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = kubectl.get(kind, name)
        cond = condition(obj, type_)
        fresh = not generation or (obj.get("status") or {}).get("observedGeneration") == (
            obj["metadata"]["generation"])
        return obj if cond and cond["status"] == status and fresh else None

    return wait_for(f"{kind}/{name} {type_}={status}", probe, timeout, operator)
