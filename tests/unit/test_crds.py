"""The checked-in CRDs are exactly what `exlib crds` generates from controller/schemas/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.cli import main
from controller.operator.crds import course_structure_crd, example_repository_crd, render_all

CRDS = Path(__file__).resolve().parents[2] / "crds"


def test_checked_in_crds_match_the_schemas() -> None:
    for name, text in render_all().items():
        assert (CRDS / name).read_text() == text, f"crds/{name} is stale: run `exlib crds`"


def test_crds_check_command_reports_a_stale_file(tmp_path: Path) -> None:
    assert main(["crds", "--dir", str(tmp_path)]) == 0
    assert main(["crds", "--check", "--dir", str(tmp_path)]) == 0
    (tmp_path / "exlib.dev_coursestructures.yaml").write_text("stale\n")
    assert main(["crds", "--check", "--dir", str(tmp_path)]) == 1


def test_crds_json_output_lists_the_files(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crds", "--dir", str(tmp_path), "-o", "json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written == {"directory": str(tmp_path), "written": list(render_all())}
    (tmp_path / "exlib.dev_coursestructures.yaml").write_text("stale\n")
    assert main(["crds", "--check", "--dir", str(tmp_path), "-o", "json"]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["stale"] == ["exlib.dev_coursestructures.yaml"]
    assert "run `exlib crds` and commit" in out.err


def test_names_status_and_columns() -> None:
    repo, course = example_repository_crd(), course_structure_crd()
    assert repo["spec"]["names"]["shortNames"] == ["exrepo"]
    assert course["spec"]["names"]["shortNames"] == ["course"]
    for crd in (repo, course):
        version = crd["spec"]["versions"][0]
        assert crd["spec"]["names"]["categories"] == ["exlib"]
        assert version["subresources"] == {"status": {}}
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
        assert status["properties"]["observedGeneration"]["default"] == -1
        assert [c["name"] for c in version["additionalPrinterColumns"]][:2] == ["Ready", "Status"]
    spec = repo["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert any("exactly one of spec.git or spec.s3" in r["message"]
               for r in spec["x-kubernetes-validations"])
    assert "$ref" not in str(spec)
