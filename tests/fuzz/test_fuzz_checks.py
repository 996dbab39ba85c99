"""Each Mattermost check fails on a response that breaks its rule and passes on a good one.

Responses are constructed (httpx) and validated through schemathesis itself
(`case.validate_response(..., checks=[check])`), so registration, applicability and the
failure message (which must name the requirement) are all exercised.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.core.failures import FailureGroup

from mmconform.fuzz import checks
from mmconform.spec.loader import load_fragments

SCHEMA = schemathesis.openapi.from_dict(load_fragments())
SCHEMA.config.update(base_url="http://127.0.0.1:9")
FILE_ID = "a" * 26
GOOD_HEADERS = {"X-Request-Id": "b" * 26, "X-Version-Id": "11.5.0.1.abc.true"}


def _case(path: str, method: str, **kwargs: Any) -> Any:
    return SCHEMA[path][method].Case(**kwargs)


def _response(
    case: Any, status: int, *, headers: dict[str, str] | None = None, body: Any = b""
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = "http://127.0.0.1:9" + case.formatted_path
    response = httpx.Response(
        status,
        headers={**GOOD_HEADERS, **(headers or {})},
        content=content,
        request=httpx.Request(case.method, url),
    )
    response.elapsed = timedelta(0)  # schemathesis reads it; only a client would set it
    return response


def _verdict(check: Any, case: Any, response: httpx.Response) -> str | None:
    """None when the check passes, else the failure text."""
    try:
        case.validate_response(response, checks=[check])
    except FailureGroup as exc:
        return str(exc)
    return None


def _error(status: int, **overrides: Any) -> dict[str, Any]:
    body = {"id": "api.context.permissions.app_error", "message": "no", "status_code": status}
    return {**body, **overrides}


GET_FILE = ("/api/v4/files/{file_id}", "GET")
GET_INFO = ("/api/v4/files/{file_id}/info", "GET")
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "headers, body",
    [
        pytest.param(
            {"Content-Type": "application/json; charset=utf-8"}, _error(403), id="charset"
        ),
        pytest.param({"Content-Type": "text/plain"}, _error(403), id="text-plain"),
        pytest.param(JSON, _error(404), id="status-code-mismatch"),
        pytest.param(JSON, {"message": "no", "status_code": 403}, id="no-id"),
        pytest.param(JSON, b"<html>forbidden</html>", id="not-json"),
        pytest.param(JSON, ["not", "an", "object"], id="not-object"),
    ],
)
def test_app_error_shape_fails(headers: dict[str, str], body: Any) -> None:
    case = _case(*GET_INFO, path_parameters={"file_id": FILE_ID})
    text = _verdict(
        checks.mm_app_error_shape, case, _response(case, 403, headers=headers, body=body)
    )
    assert text is not None and checks.REQ_ERROR_SHAPE in text


def test_app_error_shape_passes_on_an_app_error() -> None:
    case = _case(*GET_INFO, path_parameters={"file_id": FILE_ID})
    response = _response(case, 403, headers=JSON, body=_error(403))
    assert _verdict(checks.mm_app_error_shape, case, response) is None


def test_app_error_shape_ignores_the_public_route() -> None:
    case = _case("/files/{file_id}/public", "GET", path_parameters={"file_id": FILE_ID})
    response = _response(case, 400, headers={"Content-Type": "text/html"}, body=b"<html/>")
    assert _verdict(checks.mm_app_error_shape, case, response) is None


@pytest.mark.parametrize(
    "drop, replace",
    [
        pytest.param("X-Request-Id", {}, id="no-request-id"),
        pytest.param("X-Version-Id", {}, id="no-version-id"),
        pytest.param(None, {"X-Request-Id": "short"}, id="bad-request-id"),
    ],
)
def test_common_headers_fail(drop: str | None, replace: dict[str, str]) -> None:
    case = _case(*GET_INFO, path_parameters={"file_id": FILE_ID})
    response = _response(case, 404, headers={**JSON, **replace}, body=_error(404))
    if drop:
        del response.headers[drop]
    text = _verdict(checks.mm_common_headers, case, response)
    assert text is not None and checks.REQ_HEADERS in text


def test_common_headers_pass() -> None:
    case = _case(*GET_INFO, path_parameters={"file_id": FILE_ID})
    response = _response(case, 404, headers=JSON, body=_error(404))
    assert _verdict(checks.mm_common_headers, case, response) is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_fail(status: int) -> None:
    case = _case(*GET_INFO, path_parameters={"file_id": FILE_ID})
    body = _error(status, id="app.file_info.get.app_error")
    text = _verdict(
        checks.mm_no_server_error, case, _response(case, status, headers=JSON, body=body)
    )
    assert text is not None and checks.REQ_NO_5XX in text


def test_documented_server_error_passes() -> None:
    case = _case("/api/v4/files", "POST", query={"channel_id": FILE_ID, "filename": "a"})
    body = _error(500, id="api.file.upload_file.read_request.app_error")
    response = _response(case, 500, headers=JSON, body=body)
    assert _verdict(checks.mm_no_server_error, case, response) is None


def _file_response(case: Any, **headers: str) -> httpx.Response:
    base = {
        "Content-Type": "image/png",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline;filename=\"a.png\"; filename*=UTF-8''a.png",
    }
    return _response(case, 200, headers={**base, **headers}, body=b"\x89PNG")


@pytest.mark.parametrize(
    "headers, query",
    [
        pytest.param({"X-Content-Type-Options": "sniff"}, {}, id="no-nosniff"),
        pytest.param({"Content-Type": "text/html"}, {}, id="html-served-as-html"),
        pytest.param(
            {"Content-Disposition": "attachment;filename=\"a.png\"; filename*=UTF-8''a.png"},
            {},
            id="png-as-attachment",
        ),
        pytest.param({}, {"download": "true"}, id="download-but-inline"),
        pytest.param({"Content-Type": "application/pdf"}, {}, id="pdf-inline"),
        pytest.param({"Content-Disposition": "inline"}, {}, id="no-filename"),
    ],
)
def test_file_headers_fail(headers: dict[str, str], query: dict[str, str]) -> None:
    case = _case(*GET_FILE, path_parameters={"file_id": FILE_ID}, query=query)
    text = _verdict(checks.mm_file_response_headers, case, _file_response(case, **headers))
    assert text is not None and checks.REQ_FILE_HEADERS in text


@pytest.mark.parametrize(
    "headers, query",
    [
        pytest.param({}, {}, id="png-inline"),
        pytest.param(
            {
                "Content-Type": "text/plain",
                "Content-Disposition": "attachment;filename=\"a.js\"; filename*=UTF-8''a.js",
            },
            {},
            id="script-as-text-attachment",
        ),
        pytest.param(
            {"Content-Disposition": "attachment;filename=\"a.png\"; filename*=UTF-8''a.png"},
            {"download": "1"},
            id="download-attachment",
        ),
    ],
)
def test_file_headers_pass(headers: dict[str, str], query: dict[str, str]) -> None:
    case = _case(*GET_FILE, path_parameters={"file_id": FILE_ID}, query=query)
    assert _verdict(checks.mm_file_response_headers, case, _file_response(case, **headers)) is None


def _info(**extra: Any) -> dict[str, Any]:
    return {"id": FILE_ID, "name": "a.png", "mime_type": "image/png", **extra}


@pytest.mark.parametrize("field", ["path", "thumbnail_path", "preview_path", "content"])
def test_storage_paths_fail(field: str) -> None:
    case = _case(*GET_INFO, path_parameters={"file_id": FILE_ID})
    response = _response(case, 200, headers=JSON, body=_info(**{field: "20260101/x"}))
    text = _verdict(checks.mm_no_storage_paths, case, response)
    assert text is not None and checks.REQ_NO_PATHS in text and field in text


def test_storage_paths_fail_inside_an_upload_answer() -> None:
    case = _case("/api/v4/files", "POST", query={"channel_id": FILE_ID, "filename": "a"})
    body = {"file_infos": [_info(path="x")], "client_ids": []}
    text = _verdict(checks.mm_no_storage_paths, case, _response(case, 201, headers=JSON, body=body))
    assert text is not None and "$.file_infos[0].path" in text


def test_storage_paths_pass() -> None:
    case = _case(*GET_INFO, path_parameters={"file_id": FILE_ID})
    response = _response(case, 200, headers=JSON, body=_info())
    assert _verdict(checks.mm_no_storage_paths, case, response) is None


def test_undocumented_status_fails() -> None:
    case = _case("/api/v4/license", "DELETE")
    response = _response(case, 404, headers=JSON, body=_error(404))
    text = _verdict(checks.mm_documented_status, case, response)
    assert text is not None and checks.REQ_STATUS in text


def test_documented_status_passes() -> None:
    case = _case("/api/v4/license", "DELETE")
    response = _response(case, 403, headers=JSON, body=_error(403))
    assert _verdict(checks.mm_documented_status, case, response) is None


def test_checks_ignore_foreign_operations() -> None:
    """Registration is process-wide: another project's API must not be judged by our rules."""
    other = schemathesis.openapi.from_dict(
        {
            "openapi": "3.0.3",
            "info": {"title": "other", "version": "1"},
            "paths": {
                "/x": {"get": {"operationId": "X", "responses": {"200": {"description": ""}}}}
            },
        }
    )
    case = other["/x"]["GET"].Case()
    response = httpx.Response(500, request=httpx.Request("GET", "http://127.0.0.1:9/x"))
    response.elapsed = timedelta(0)
    for check in checks.MM_CHECKS:
        assert _verdict(check, case, response) is None, check.__name__
