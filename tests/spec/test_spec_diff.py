"""`mmconform spec diff`: every kind of difference is found; errata explain, the rest is drift."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from spec_support import (
    MINI_SPECS,
    MINI_UPSTREAM,
    UPSTREAM,
    copy_tree,
    edit_paths_file,
    edit_yaml,
    run_cli,
)

INFO = "/api/v4/files/{file_id}/info"


def diff(capsys: pytest.CaptureFixture[str], upstream: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(
        capsys, "spec", "diff", "--upstream", str(upstream), "--specs", str(MINI_SPECS), *extra
    )


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"no upstream copy at {UPSTREAM}")
def test_shipped_specs_have_no_drift_against_upstream(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "spec", "diff", "--upstream", str(UPSTREAM), "--format", "json"
    )
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["summary"]["drift"] == 0
    assert report["stale_errata"] == []
    explained = {d["explained_by"] for d in report["differences"]}
    # the errata the brief insists on are all exercised by the real upstream
    assert {"ERRATUM-001", "ERRATUM-002", "ERRATUM-004", "ERRATUM-008", "ERRATUM-010"} <= explained


def test_mini_fixture_is_fully_explained(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = diff(capsys, MINI_UPSTREAM)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[-1] == "spec diff: 7 difference(s): 7 explained by errata, 0 drift"
    assert (
        "GetFileInfo: status-code 501 removed (ours: absent; upstream: documented) "
        "— explained by ERRATUM-001"
    ) in lines


def _add_status(data: dict[str, Any]) -> None:
    data[INFO]["get"]["responses"]["403"] = {"$ref": "#/components/responses/BadRequest"}


def _add_param(data: dict[str, Any]) -> None:
    data[INFO]["get"]["parameters"].append(
        {"name": "page", "in": "query", "schema": {"type": "integer"}}
    )


def _param_required(data: dict[str, Any]) -> None:
    data["/api/v4/files"]["post"]["parameters"][0]["required"] = True


def _add_request_type(data: dict[str, Any]) -> None:
    content = data["/api/v4/files"]["post"]["requestBody"]["content"]
    content["application/json"] = {"schema": {"type": "object"}}


def _move(data: dict[str, Any]) -> None:
    data["/api/v4/files/{file_id}/information"] = data.pop(INFO)


def _no_security(data: dict[str, Any]) -> None:
    data[INFO]["get"]["security"] = []


def _permission(data: dict[str, Any]) -> None:
    op = data[INFO]["get"]
    op["description"] = op["description"].replace(
        "`read_channel`", "`read_channel` and `manage_system`"
    )


def _response_type(data: dict[str, Any]) -> None:
    data[INFO]["get"]["responses"]["200"]["content"]["text/html"] = {"schema": {"type": "string"}}


@pytest.mark.parametrize(
    "mutate, drift",
    [
        pytest.param(_add_status, "GetFileInfo: status-code 403 removed", id="status-code"),
        pytest.param(_add_param, "GetFileInfo: parameter query:page removed", id="parameter"),
        pytest.param(
            _param_required, "UploadFile: parameter query:channel_id required", id="required"
        ),
        pytest.param(
            _add_request_type,
            "UploadFile: content-type request application/json removed",
            id="request-content-type",
        ),
        pytest.param(
            _response_type,
            "GetFileInfo: content-type 200 text/html removed",
            id="response-content-type",
        ),
        pytest.param(_move, "GetFileInfo: path operation moved", id="path"),
        pytest.param(_no_security, "GetFileInfo: security scheme:bearerAuth added", id="security"),
        pytest.param(
            _permission, "GetFileInfo: security permission:manage_system removed", id="permission"
        ),
    ],
)
def test_each_kind_of_drift_is_found(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mutate: Callable[[dict[str, Any]], None],
    drift: str,
) -> None:
    upstream = copy_tree(MINI_UPSTREAM, tmp_path, "upstream")
    edit_paths_file(upstream / "files.yaml", mutate)
    code, out, _ = diff(capsys, upstream)
    assert code == 1
    drifted = [line for line in out.splitlines() if line.endswith("— drift")]
    assert len(drifted) == 1
    assert drifted[0].startswith(drift)


def test_schema_drift_in_a_shared_definition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream = copy_tree(MINI_UPSTREAM, tmp_path, "upstream")

    def add_size(data: dict[str, Any]) -> None:
        data["components"]["schemas"]["FileInfo"]["properties"]["size"] = {"type": "integer"}
        data["components"]["schemas"]["FileInfo"]["properties"]["name"] = {"type": "integer"}

    edit_yaml(upstream / "definitions.yaml", add_size)
    code, out, _ = diff(capsys, upstream)
    assert code == 1
    drifted = sorted(line.split(" (")[0] for line in out.splitlines() if line.endswith("— drift"))
    assert drifted == [
        "GetFileInfo: schema 200 name type",
        "GetFileInfo: schema 200 size removed",
        "UploadFile: schema 201 file_infos[].name type",
        "UploadFile: schema 201 file_infos[].size removed",
    ]


def test_fixed_upstream_leaves_a_stale_erratum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream = copy_tree(MINI_UPSTREAM, tmp_path, "upstream")
    edit_paths_file(upstream / "files.yaml", lambda d: d[INFO]["get"]["responses"].pop("501"))
    code, out, _ = diff(capsys, upstream)
    assert code == 0
    assert out.splitlines()[-1].endswith(
        "errata that matched nothing (fixed upstream?): ERRATUM-001"
    )


def test_json_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = diff(capsys, MINI_UPSTREAM, "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["summary"] == {"differences": 7, "explained": 7, "drift": 0}
    assert report["differences"][0] == {
        "operation": "UploadFile",
        "kind": "parameter",
        "subject": "form:files",
        "change": "type",
        "ours": "array[string]",
        "upstream": "string",
        "explained_by": "ERRATUM-005",
        "verdict": "explained by ERRATUM-005",
    }
    code, out, _ = diff(capsys, MINI_UPSTREAM, "--format", "markdown")
    assert code == 0
    assert "| Operation | Kind | Subject | Change | Ours | Upstream | Verdict |" in out
    assert (
        "| GetFileInfo | status-code | `501` | removed | absent | documented "
        "| explained by ERRATUM-001 |" in out
    )


def _one_line_error(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("mmconform: error: ")
    return err


def test_missing_upstream_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = diff(capsys, tmp_path / "nowhere")
    assert (code, out) == (2, "")
    assert "upstream folder not found; pass --upstream DIR" in _one_line_error(err)


def test_malformed_upstream_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    upstream = copy_tree(MINI_UPSTREAM, tmp_path, "upstream")
    (upstream / "files.yaml").write_text("  /api/v4/files:\n    post: [\n")
    code, _, err = diff(capsys, upstream)
    assert code == 2
    assert f"{upstream / 'files.yaml'}: line 3:" in _one_line_error(err)


def test_upstream_ref_to_missing_definition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream = copy_tree(MINI_UPSTREAM, tmp_path, "upstream")
    edit_yaml(upstream / "definitions.yaml", lambda d: d["components"]["schemas"].pop("FileInfo"))
    code, _, err = diff(capsys, upstream)
    assert code == 2
    assert "$ref '#/components/schemas/FileInfo' resolves to nothing" in _one_line_error(err)


def test_bad_errata_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_tree(MINI_SPECS, tmp_path, "specs")
    edit_yaml(specs / "errata.yaml", lambda d: d["errata"][1].update(id="ERRATUM-001"))
    code, _, err = run_cli(
        capsys, "spec", "diff", "--upstream", str(MINI_UPSTREAM), "--specs", str(specs)
    )
    assert code == 2
    assert "id ERRATUM-001 is used twice" in _one_line_error(err)


def test_unknown_format_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        diff(capsys, MINI_UPSTREAM, "--format", "xml")
    assert exc.value.code == 2
