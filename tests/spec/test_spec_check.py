"""`mmconform spec check`: clean on our specs, exit 1 with one line per problem on broken copies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from spec_support import copy_specs, edit_yaml, run_cli


def check(capsys: pytest.CaptureFixture[str], specs: Path) -> tuple[int, list[str]]:
    code, out, err = run_cli(capsys, "spec", "check", "--specs", str(specs))
    assert err == ""
    return code, out.splitlines()


def test_shipped_specs_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "spec", "check")
    assert (code, out) == (0, "spec check: no problems\n")


def test_missing_operation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_specs(tmp_path)

    def drop_remove_license(data: dict[str, Any]) -> None:
        del data["paths"]["/api/v4/license"]["delete"]

    edit_yaml(specs / "license.yaml", drop_remove_license)
    code, lines = check(capsys, specs)
    assert code == 1
    assert "assembled specs: operation RemoveLicenseFile is missing; the suite covers it" in lines
    # the errata naming it and UPSTREAM.yaml's track are now wrong too, each on its own line
    assert any("operation 'RemoveLicenseFile' is not in our specs" in line for line in lines)
    assert lines[-1] == f"spec check: {len(lines) - 1} problem(s)"


def test_missing_public_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_specs(tmp_path)
    edit_yaml(
        specs / "public-file.yaml", lambda d: d["paths"]["/files/{file_id}/public"].pop("head")
    )
    code, lines = check(capsys, specs)
    assert code == 1
    assert "assembled specs: HEAD /files/{file_id}/public is missing" in lines


@pytest.mark.parametrize(
    "change, expected",
    [
        pytest.param(
            lambda row: row.update(operation="GetFiles"),
            "ERRATUM-001: operation 'GetFiles' is not in our specs",
            id="unknown-operation",
        ),
        pytest.param(
            lambda row: row.update(id="ERRATUM-002"),
            "ERRATUM-002: id ERRATUM-002 is used twice; ids are unique and never reused",
            id="duplicate-id",
        ),
        pytest.param(
            lambda row: row.update(kind="status"),
            "ERRATUM-001: kind 'status' is not one of status-code, schema, parameter, path, "
            "content-type, security",
            id="unknown-kind",
        ),
        pytest.param(
            lambda row: row.pop("source"), "ERRATUM-001: missing field(s) source", id="no-source"
        ),
        pytest.param(
            lambda row: row["matches"].append({"subject": "418", "change": "teapot"}),
            "ERRATUM-001: matches #3: change 'teapot' is not one of added, removed, type, "
            "required, nullable, moved or *",
            id="bad-match",
        ),
    ],
)
def test_bad_erratum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, expected: str
) -> None:
    specs = copy_specs(tmp_path)
    edit_yaml(specs / "errata.yaml", lambda d: change(d["errata"][0]))
    code, lines = check(capsys, specs)
    assert code == 1
    assert [line for line in lines if line.endswith(expected)] == [
        f"{specs / 'errata.yaml'}: {expected}"
    ]


def test_invalid_openapi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_specs(tmp_path)

    def break_parameter(data: dict[str, Any]) -> None:
        data["paths"]["/api/v4/files/{file_id}"]["get"]["parameters"][0]["in"] = "body"

    edit_yaml(specs / "files.yaml", break_parameter)
    code, lines = check(capsys, specs)
    assert code == 1
    assert any(
        line.startswith("assembled specs: paths//api/v4/files/{file_id}/get") for line in lines
    )


def test_duplicate_path_names_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = copy_specs(tmp_path)
    (specs / "extra.yaml").write_text(
        "openapi: 3.0.3\npaths:\n  /api/v4/license:\n    get:\n      responses: {}\n"
    )
    code, lines = check(capsys, specs)
    assert (code, lines[:1]) == (
        1,
        [
            "path /api/v4/license is defined in both extra.yaml and license.yaml; "
            "keep one definition"
        ],
    )


def test_malformed_fragment_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = copy_specs(tmp_path)
    (specs / "files.yaml").write_text("openapi: 3.0.3\npaths:\n  /x: [\n")
    code, lines = check(capsys, specs)
    assert code == 1
    assert lines[0].startswith(f"{specs / 'files.yaml'}: line 4:")


def test_untracked_fragment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_specs(tmp_path)
    edit_yaml(specs / "UPSTREAM.yaml", lambda d: d["fragments"].pop("license.yaml"))
    code, lines = check(capsys, specs)
    assert code == 1
    assert f"{specs / 'UPSTREAM.yaml'}: fragment license.yaml is not tracked; add it" in lines


def test_upstream_track_needs_commit_and_known_operations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = copy_specs(tmp_path)

    def break_track(data: dict[str, Any]) -> None:
        track = data["fragments"]["files.yaml"]["tracks"][0]
        track["commit"] = "17a5a6df"
        track["operations"].append("DeleteFile")

    edit_yaml(specs / "UPSTREAM.yaml", break_track)
    code, lines = check(capsys, specs)
    where = f"{specs / 'UPSTREAM.yaml'}: files.yaml track #1"
    assert code == 1
    assert lines[:2] == [
        f"{where}: 'commit' must be a full 40-hex commit id",
        f"{where}: operation 'DeleteFile' is not in our specs",
    ]


def test_public_route_must_not_require_auth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = copy_specs(tmp_path)

    def require_auth(data: dict[str, Any]) -> None:
        data["paths"]["/files/{file_id}/public"]["get"]["security"] = [{"bearerAuth": []}]

    edit_yaml(specs / "public-file.yaml", require_auth)
    code, lines = check(capsys, specs)
    assert code == 1
    assert (
        "assembled specs: GetFilePublic (/files/{file_id}/public) is public but requires "
        "['bearerAuth']" in lines
    )


def test_missing_folder_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "spec", "check", "--specs", str(tmp_path / "nope"))
    assert (code, out) == (2, "")
    assert err == (
        f"mmconform: error: {tmp_path / 'nope'}: specs folder not found; "
        "pass --specs DIR pointing at specs/\n"
    )


def test_folder_without_fragments_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "spec", "check", "--specs", str(tmp_path))
    assert code == 2
    assert err.endswith(": no *.yaml fragments; pass --specs DIR pointing at specs/\n")
    assert err.count("\n") == 1


def test_spec_without_verb_is_one_line_naming_both(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "spec")
    assert code == 2
    assert "spec check" in err and "spec diff" in err and err.count("\n") == 1
