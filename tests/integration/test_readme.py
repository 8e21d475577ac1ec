"""The README's "Using it" commands run as written, against the stack and a real operator.

Every fenced `sh` block under the README's "## Using it" heading is run by bash (`-e`: the
first failing command fails the test) exactly as the README prints it. Substituted is only
what the README tells the reader to provide themselves:

- the samples' placeholder URLs (`http://git.example.invalid/...`) and token (`CHANGE-ME`)
  in `manifests/samples/` are replaced by new repositories on the stack's Git server and its
  token (the examples pushed to the examples repository), in a copy of the folder the
  commands run beside (the working directory holds `manifests/samples/`);
- `kubectl` is the stack's, with a kubeconfig whose context namespace is this test's, so the
  objects land where this test's operator watches (the README's commands use the current
  namespace);
- `exlib` is this checkout's command, with the stack's settings (a fresh database), printing
  to a terminal 200 columns wide (`COLUMNS`), so a table's cells are not folded.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import Stack
from tests.integration.operator_harness import REPO, Kubectl, Operator

README = REPO / "README.md"
SAMPLES = REPO / "manifests" / "samples"


def using_it_blocks(text: str) -> list[str]:
    """The fenced shell blocks between `## Using it` and the next `## ` heading."""
    section = re.search(r"^## Using it\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert section, "README.md has no `## Using it` section"
    blocks = re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", section.group(1),
                        flags=re.M | re.S)
    assert blocks, "README.md's `## Using it` section has no ```sh block"
    return blocks


def samples_for(workdir: Path, urls: dict[str, str], token: str) -> None:
    """manifests/samples/ copied below `workdir`, pointing at the stack's repositories."""
    target = workdir / "manifests" / "samples"
    shutil.copytree(SAMPLES, target, ignore=shutil.ignore_patterns("examples"))
    replace = {"http://git.example.invalid/examples.git": urls["examples"],
               "http://git.example.invalid/prog1-assignments.git": urls["assignments"],
               "http://git.example.invalid/prog1-student-template.git": urls["template"],
               "CHANGE-ME": token}
    for path in target.glob("*.yaml"):
        text = path.read_text()
        for old, new in replace.items():
            text = text.replace(old, new)
        assert "example.invalid" not in text and "CHANGE-ME" not in text, path
        path.write_text(text)


def commands_env(stack: Stack, kubectl: Kubectl, database_url: str, workdir: Path
                 ) -> dict[str, str]:
    """PATH with the stack's `kubectl` and this checkout's `exlib`; KUBECONFIG whose current
    namespace is the test's; the stack's settings."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").symlink_to(stack.kubectl)
    exlib = bin_dir / "exlib"
    exlib.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" '
                     '-m controller.cli "$@"\n')
    exlib.chmod(0o755)
    kubeconfig = workdir / "kubeconfig"
    shutil.copy(stack.env["KUBECONFIG"], kubeconfig)
    subprocess.run([stack.kubectl, "--kubeconfig", str(kubeconfig), "config", "set-context",
                    "--current", f"--namespace={kubectl.namespace}"],
                   check=True, capture_output=True, timeout=60)
    return {**os.environ, **stack.env, "DATABASE_URL": database_url,
            "KUBECONFIG": str(kubeconfig), "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "COLUMNS": "200"}


def test_using_it_commands_run_as_written(stack: Stack, kubectl: Kubectl, operator: Operator,
                                          course_setup: dict[str, str], database_url: str,
                                          tmp_path: Path) -> None:
    blocks = using_it_blocks(README.read_text())
    samples_for(tmp_path, course_setup, stack.git_token)
    env = commands_env(stack, kubectl, database_url, tmp_path)
    outputs = []
    for block in blocks:
        res = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, (
            f"a README command failed:\n{block}\nstdout:\n{res.stdout}\nstderr:\n"
            f"{res.stderr}\noperator log (tail):\n"
            + "\n".join(operator.output().splitlines()[-30:]))
        outputs.append(res.stdout)
    shown = "\n".join(outputs)
    # what the README's comments promise the reader sees
    assert "coursestructure.exlib.dev/prog1-2026" in shown
    assert "Succeeded" in shown  # kubectl describe: the Ready condition's reason
    assert "week1.hello_world" in shown  # exlib status: the deployed contents
