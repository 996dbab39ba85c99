"""Cross-cutting behaviour (behaviour doc §1): headers, AppError shape, auth, routing, ids."""

from __future__ import annotations

import re

import httpx
from ref_support import Api, World, error_id

from mmconform.reference.ids import is_valid_id, new_id

ID_RE = re.compile(r"^[ybndrfg8ejkmcpqxot1uwisza345h769]{26}$")


def test_new_ids_use_the_mattermost_alphabet() -> None:
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(ID_RE.match(i) for i in ids)
    assert not is_valid_id("a" * 25) and not is_valid_id("a" * 25 + "-") and is_valid_id("A" * 26)


def test_every_api_response_carries_the_handler_headers(world: World) -> None:
    resp = world.admin.get("/api/v4/users/me")
    assert resp.status_code == 200
    assert ID_RE.match(resp.headers["X-Request-Id"])
    version = resp.headers["X-Version-Id"].split(".")
    assert version[:3] == ["11", "5", "0"] and version[-1] == "false" and len(version) == 6
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Expires"] == "0"
    posted = world.admin.post("/api/v4/users/logout-not-a-route")
    assert posted.headers["Content-Type"] == "application/json"
    assert "Expires" not in posted.headers


def test_error_body_is_the_app_error_shape_without_empty_fields(world: World) -> None:
    resp = Api(world.server.url).get("/api/v4/users/me")
    assert resp.status_code == 401
    body = resp.json()
    assert list(body) == ["id", "message", "detailed_error", "request_id", "status_code"]
    assert body["id"] == "api.context.session_expired.app_error"
    assert body["detailed_error"] == "" and body["status_code"] == 401
    assert body["request_id"] == resp.headers["X-Request-Id"]
    assert resp.headers["Content-Type"] == "application/json"


def test_detailed_error_only_with_enable_developer(world: World) -> None:
    world.admin.patch_config("ServiceSettings", EnableDeveloper=True)
    try:
        resp = world.member.get(f"/api/v4/files/{new_id()}/info")
        assert resp.status_code == 404 and resp.json()["detailed_error"] != ""
    finally:
        world.admin.patch_config("ServiceSettings", EnableDeveloper=False)
    assert world.member.get(f"/api/v4/files/{new_id()}/info").json()["detailed_error"] == ""


def test_bad_token_is_401_session_expired_and_clears_cookie(world: World) -> None:
    resp = Api(world.server.url, "x" * 26).get("/api/v4/users/me")
    assert resp.status_code == 401
    assert error_id(resp) == "api.context.session_expired.app_error"
    assert "MMAUTHTOKEN=;" in resp.headers.get("set-cookie", "")


def test_bearer_scheme_is_case_insensitive_and_cookie_works(world: World) -> None:
    token = world.member.token
    for scheme in ("Bearer", "BEARER", "bearer"):
        headers = {"Authorization": f"{scheme} {token}"}
        assert httpx.get(f"{world.server.url}/api/v4/users/me", headers=headers).status_code == 200
    cookies = {"MMAUTHTOKEN": str(token)}
    assert httpx.get(f"{world.server.url}/api/v4/users/me", cookies=cookies).status_code == 200


def test_token_in_query_string_is_refused(world: World) -> None:
    resp = Api(world.server.url).get(
        "/api/v4/users/me", params={"access_token": world.member.token}
    )
    assert resp.status_code == 401
    assert error_id(resp) == "api.context.token_provided.app_error"


def test_unknown_api_route_is_json_404(world: World) -> None:
    resp = world.admin.get("/api/v4/no/such/route")
    assert resp.status_code == 404 and error_id(resp) == "api.context.404.app_error"
    assert resp.headers["Content-Type"] == "application/json"


def test_non_alphanumeric_id_misses_the_route_and_short_id_is_400(world: World) -> None:
    assert error_id(world.admin.get("/api/v4/files/abc-def/info")) == "api.context.404.app_error"
    resp = world.admin.get("/api/v4/files/junk/info")
    assert resp.status_code == 400
    assert error_id(resp) == "api.context.invalid_url_param.app_error"
    assert "file_id" in resp.json()["message"]


def test_ping_needs_no_session(world: World) -> None:
    resp = Api(world.server.url).get("/api/v4/system/ping")
    assert resp.status_code == 200 and resp.json()["status"] == "OK"


def test_cookie_sessions_need_csrf_on_writes(world: World) -> None:
    name = world.admin.ok(world.admin.get("/api/v4/users/me"))["username"]
    resp = httpx.post(
        f"{world.server.url}/api/v4/users/login",
        json={"login_id": name, "password": world.server.admin_password},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    cookies = {"MMAUTHTOKEN": resp.cookies["MMAUTHTOKEN"]}
    csrf = resp.cookies["MMCSRF"]
    url = f"{world.server.url}/api/v4/users/logout"
    assert httpx.get(f"{world.server.url}/api/v4/users/me", cookies=cookies).status_code == 200
    forged = httpx.put(f"{world.server.url}/api/v4/config/patch", json={}, cookies=cookies)
    assert forged.status_code == 401 and error_id(forged) == "api.context.session_expired.app_error"
    with_token = httpx.put(
        f"{world.server.url}/api/v4/config/patch",
        json={},
        cookies=cookies,
        headers={"X-CSRF-Token": csrf},
    )
    assert with_token.status_code == 200
    xhr = httpx.post(url, cookies=cookies, headers={"X-Requested-With": "XMLHttpRequest"})
    assert xhr.status_code == 200


def test_head_only_where_upstream_routes_allow_it(world: World) -> None:
    # Under /api/v4 a wrong method falls through to the catch-all Handle404 (api4/api.go).
    assert world.admin.head("/api/v4/users/me").status_code == 404
    assert Api(world.server.url).head("/api/v4/system/ping").status_code == 404
    file_id = world.member.upload_id(world.public_id)
    assert world.member.head(f"/api/v4/files/{file_id}/info").status_code == 404
    assert world.member.head(f"/api/v4/files/{file_id}").status_code == 200


def test_wrong_method_is_the_api_404_under_api_v4_and_405_elsewhere(world: World) -> None:
    for method, path in (("OPTIONS", "/api/v4/license"), ("PUT", "/api/v4/files/" + "a" * 26)):
        response = httpx.request(method, world.server.url + path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert error_id(response) == "api.context.404.app_error"
    public = httpx.request("PUT", f"{world.server.url}/files/{'a' * 26}/public")
    assert public.status_code == 405


def test_the_fast_id_encoding_is_base32_of_the_same_bytes() -> None:
    """ids.encode_id (10-bit table) gives exactly the standard library's base32, re-lettered."""
    import random

    from mmconform.reference.ids import encode_id, encode_id_slow

    rng = random.Random(15)
    samples = [bytes(16), b"\xff" * 16, *(rng.randbytes(16) for _ in range(2000))]
    assert all(encode_id(b) == encode_id_slow(b) for b in samples)
    assert all(is_valid_id(encode_id(b)) for b in samples[:50])
