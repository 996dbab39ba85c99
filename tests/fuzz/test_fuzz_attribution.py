"""Each built-in schemathesis check charges the one requirement conformance/checks.yaml names.

Before: a schema fault (update_at as a string) failed every ID the fuzz test carried, eight MUST
requirements, "no server error for any input" among them. Now the failure's title names
CONTRACT-SCHEMA-001 and the verdict charges only that.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from schemathesis.core.failures import FailureGroup

from mmconform.errors import UsageError
from mmconform.fuzz.attribution import RUNS_BUILTIN, default_path, load_attribution
from mmconform.fuzz.profiles import BUILTIN_CHECKS, load_fuzz_data
from mmconform.fuzz.runner import FuzzContext, FuzzFailure, build_schema
from mmconform.registry import load_registry
from mmconform.report.verdicts import RequirementMeta, counted_requirements, derive_requirements

FILE_ID = "a" * 26
INFO = {
    "id": FILE_ID,
    "user_id": "b" * 26,
    "post_id": "",
    "channel_id": "c" * 26,
    "create_at": 1,
    "update_at": "1",  # the fault: a string where the schema says integer
    "delete_at": 0,
    "name": "a.txt",
    "extension": "txt",
    "size": 1,
    "mime_type": "text/plain",
    "width": 0,
    "height": 0,
    "has_preview_image": False,
    "mini_preview": None,
    "archived": False,
}


def test_every_builtin_check_has_a_row_naming_a_known_requirement() -> None:
    table = load_attribution()
    registry = load_registry().requirements
    assert set(table.checks) == set(BUILTIN_CHECKS)
    off = set(load_fuzz_data().tuning["all"])
    for check, req in table.checks.items():
        assert (req in registry) if req is not None else (check in off), check


def test_checks_that_run_a_builtin_are_charged_as_that_builtin() -> None:
    """mm_route_aware_* (the public route's route hits only) raise the built-in's failure: a
    truncated public file missing Last-Modified was once a suite error naming no requirement."""
    from mmconform.fuzz import checks

    table = load_attribution()
    for ours, builtin in RUNS_BUILTIN.items():
        assert callable(getattr(checks, ours)) and builtin in BUILTIN_CHECKS
        assert table.requirement(ours) == table.requirement(builtin) is not None


def _write(tmp_path: Path, rows: dict[str, Any]) -> Path:
    data = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    path = tmp_path / "checks.yaml"
    data["checks"].update(rows)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        pytest.param(
            {"no_such_check": {"requirement": "CONTRACT-SCHEMA-001"}},
            "no_such_check: unknown built-in check",
            id="unknown-check",
        ),
        pytest.param(
            {"not_a_server_error": {"requirement": "NOPE-001"}},
            "not_a_server_error: unknown requirement 'NOPE-001'",
            id="unknown-requirement",
        ),
        pytest.param(
            {"response_schema_conformance": {"requirement": None}},
            "response_schema_conformance: requirement is null but the check runs",
            id="null-but-runs",
        ),
        pytest.param(
            {"not_a_server_error": {"req": "X"}},
            "not_a_server_error: missing field(s) requirement",
            id="bad-row",
        ),
    ],
)
def test_a_bad_row_is_one_error_naming_file_and_row(
    tmp_path: Path, rows: dict[str, Any], words: str
) -> None:
    path = _write(tmp_path, rows)
    with pytest.raises(UsageError) as caught:
        load_attribution(path)
    assert str(caught.value).startswith(f"{path}: check ")
    assert words in str(caught.value)


def test_a_missing_row_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text("checks:\n  not_a_server_error: {requirement: CONTRACT-SERVER-001}\n")
    with pytest.raises(UsageError, match="no row for built-in check"):
        load_attribution(path)


def _json_answer(case: Any, status: int, body: dict[str, Any]) -> httpx.Response:
    """A JSON answer to `case` with the headers every API answer carries."""
    response = httpx.Response(
        status,
        headers={
            "Content-Type": "application/json",
            "X-Request-Id": "d" * 26,
            "X-Version-Id": "11.5.0",
        },
        content=json.dumps(body).encode(),
        request=httpx.Request(case.method, "http://127.0.0.1:9" + case.formatted_path),
    )
    response.elapsed = timedelta(0)
    return response


def _schema_failure() -> str:
    schema = build_schema(modes=["positive"], fuzz=FuzzContext(data=load_fuzz_data()))
    case = schema["/api/v4/files/{file_id}/info"]["GET"].Case(path_parameters={"file_id": FILE_ID})
    response = _json_answer(case, 200, INFO)
    with pytest.raises(FailureGroup) as caught:
        case.validate_response(response)
    return str(caught.value)


def test_a_schema_failure_names_contract_schema_and_is_charged_alone() -> None:
    text = _schema_failure()
    assert "[CONTRACT-SCHEMA-001]" in text
    carried = [
        "CONTRACT-ERROR-001",
        "CONTRACT-HEADERS-001",
        "CONTRACT-SERVER-001",
        "CONTRACT-FILEHDR-001",
        "CONTRACT-INFO-001",
        "CONTRACT-STATUS-001",
        "CONTRACT-SCHEMA-001",
    ]
    test = {"nodeid": "t", "outcome": "failed", "message": text, "requirements": carried}
    assert counted_requirements(test, carried) == ["CONTRACT-SCHEMA-001"]
    metas = {r: RequirementMeta(level="MUST") for r in carried}
    derived = derive_requirements(metas, [test], None)
    assert [r for r, e in derived.items() if e["verdict"] == "failed"] == ["CONTRACT-SCHEMA-001"]


def _license_upload_verdict(error_id: str) -> str | None:
    """Validate a 500 answer to a licence upload with the shipped checks and tuning."""
    fuzz = FuzzContext(data=load_fuzz_data())
    schema = build_schema(modes=["positive"], fuzz=fuzz)
    case = schema["/api/v4/license"]["POST"].Case(
        body={"license": b"x"}, media_type="multipart/form-data"
    )
    body = {
        "id": error_id,
        "message": "m",
        "detailed_error": "",
        "request_id": "d" * 26,
        "status_code": 500,
    }
    response = _json_answer(case, 500, body)
    try:
        fuzz.validate(case, response)
    except FuzzFailure as caught:
        return str(caught)
    return None


def test_a_5xx_the_real_server_documents_for_client_input_is_no_failure() -> None:
    """A trial-length licence on Team Edition is 500 api.license.upgrade_needed.app_error on the
    real server (api4/license.go addLicense); schemathesis' not_a_server_error failed it."""
    assert _license_upload_verdict("api.license.upgrade_needed.app_error") is None


def test_any_other_5xx_is_charged_to_contract_server() -> None:
    text = _license_upload_verdict("api.license.add_license.panic")
    assert text is not None and "[CONTRACT-SERVER-001]" in text
