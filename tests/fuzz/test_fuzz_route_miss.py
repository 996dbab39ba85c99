"""The fuzz checks judge route misses and over-long URLs as the real router answers them
(docs/facts/http-layer.md): the /api/v4 catch-all (api4/api.go Init → web.Handle404, no
ServeHTTP headers), the webapp's root.html for the public route (web/static.go InitStatic),
gorilla's 301/405, and 414 from basicSecurityChecks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_fuzz_checks import FILE_ID, GET_INFO, JSON, _case, _response, _verdict

from mmconform.fuzz import checks

CATCH_ALL = {
    "id": "api.context.404.app_error",
    "message": "Sorry, we could not find the page.",
    "detailed_error": "There doesn't appear to be an api call for the url='/x'.",
    "status_code": 404,
}
PUBLIC = ("/files/{file_id}/public", "GET")


def _bare(case: Any, status: int, headers: dict[str, str], body: bytes) -> Any:
    response = _response(case, status, headers=headers, body=body)
    for name in ("X-Request-Id", "X-Version-Id"):
        del response.headers[name]
    return response


@pytest.mark.parametrize("ctype", ["application/json", "text/plain; charset=utf-8"])
def test_catch_all_404_passes_without_servehttp_headers(ctype: str) -> None:
    case = _case(*GET_INFO, path_parameters={"file_id": "a-b"})
    response = _bare(case, 404, {"Content-Type": ctype}, json.dumps(CATCH_ALL).encode())
    for check in (checks.mm_app_error_shape, checks.mm_common_headers, checks.mm_documented_status):
        assert _verdict(check, case, response) is None, check


def test_route_miss_answered_by_a_handler_fails() -> None:
    """A fork whose route takes non-alphanumeric ids answers with a handler error: wrong."""
    case = _case(*GET_INFO, path_parameters={"file_id": "a-b"})
    body = {"id": "api.context.invalid_url_param.app_error", "message": "x", "status_code": 400}
    response = _response(case, 400, headers=JSON, body=body)
    text = _verdict(checks.mm_app_error_shape, case, response)
    assert text is not None and "catch-all" in text


def test_route_hit_still_needs_the_headers() -> None:
    case = _case(*GET_INFO, path_parameters={"file_id": FILE_ID})
    response = _bare(case, 404, JSON, json.dumps(CATCH_ALL).encode())
    text = _verdict(checks.mm_common_headers, case, response)
    assert text is not None and checks.REQ_HEADERS in text


def test_public_miss_reaching_the_webapp_is_not_a_file_response() -> None:
    case = _case(*PUBLIC, path_parameters={"file_id": "a-b"}, query={"h": "x"})
    response = _response(case, 200, headers={"Content-Type": "text/html"}, body=b"<html></html>")
    for check in (checks.mm_file_response_headers, checks.mm_documented_status):
        assert _verdict(check, case, response) is None, check
    served = _response(case, 200, headers={"Content-Type": "text/plain"}, body=b"file bytes")
    text = _verdict(checks.mm_documented_status, case, served)
    assert text is not None and "webapp" in text


def test_url_too_long_is_the_one_accepted_answer() -> None:
    body = {"id": checks.URL_TOO_LONG_ID, "message": "URL is too long", "status_code": 414}
    assert checks.url_too_long_answer(414, json.dumps(body).encode(), "application/json")
    assert checks.url_too_long_answer(414, b"<html/>", "text/html")
    assert not checks.url_too_long_answer(414, b"{}", "application/json")
    case = _case(*GET_INFO, path_parameters={"file_id": FILE_ID})
    response = _bare(case, 414, JSON, json.dumps(body).encode())
    for check in (checks.mm_app_error_shape, checks.mm_common_headers, checks.mm_documented_status):
        assert _verdict(check, case, response) is None, check


def test_misses_route_is_gorillas_id_pattern() -> None:
    assert not checks.misses_route({"file_id": FILE_ID})
    assert not checks.misses_route({"file_id": "abc"})  # reaches the handler: 400
    for odd in ("a-b", "a_b", "", "ä", "a/b", ".."):
        assert checks.misses_route({"file_id": odd}), odd
