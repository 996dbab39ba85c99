"""The real server's HTTP layer around our operations (fidelity-differences.md D1–D3, D14,
D16–D22, D30, D31, P1, P7; facts in docs/facts/http-layer.md). Each test names the upstream
source; library behaviour (gorilla/mux, ServeContent, ParseBool) is also diffed against Go in
tests/oracle/test_diff_http.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from raw_http import RawResponse, send_raw
from ref_support import Api, World, error_id

from mmconform.reference import running_server

SERVE_HTTP_HEADERS = (
    "x-request-id",
    "x-version-id",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "expires",
)


@pytest.fixture
def links_on(world: World) -> Iterator[None]:
    world.admin.patch_config("FileSettings", EnablePublicLink=True)
    yield
    world.admin.patch_config("FileSettings", EnablePublicLink=False)


def raw(world: World, method: str, path: str) -> RawResponse:
    """A request with the path exactly as written (httpx would remove dot segments)."""
    return send_raw(world.server.url, method, path)


def test_api_route_miss_is_the_plain_catch_all(world: World) -> None:
    """D1, D20: api4/api.go Init registers `/api/v4/{anything:.*}` as
    `http.HandlerFunc(api.Handle404)`, so web.Handler.ServeHTTP never runs: no X-Request-Id,
    X-Version-Id or security headers, `detailed_error` set and never wiped, no request_id
    (web/web.go Handle404). A trailing slash misses the same way (no StrictSlash)."""
    file_id = world.member.upload_id(world.public_id)
    for method, path in (
        ("GET", "/api/v4/files/abc-def/info"),
        ("PUT", f"/api/v4/files/{file_id}/info"),
        ("GET", f"/api/v4/files/{file_id}/info/"),
        ("HEAD", f"/api/v4/files/{file_id}/link"),
    ):
        resp = world.member.http.request(method, path)
        assert resp.status_code == 404, (method, path)
        assert not [h for h in SERVE_HTTP_HEADERS if h in resp.headers], resp.headers
        assert resp.headers["content-type"] == "application/json"
        if method == "HEAD":
            continue
        body = resp.json()
        assert list(body) == ["id", "message", "detailed_error", "status_code"]
        assert body["id"] == "api.context.404.app_error"
        assert body["detailed_error"] == (
            f"There doesn't appear to be an api call for the url='{path}'.  "
            "Typo? are you missing a team_id or user_id as part of the url?"
        )


def test_catch_all_content_type_follows_the_reported_version() -> None:
    """D1: Handle404 set `Content-Type: application/json` from PR #21047 (7.5); before, Go
    sniffed the JSON body as text/plain."""
    with running_server(server_version="7.4.0") as old:
        resp = httpx.get(f"{old.url}/api/v4/files/abc-def/info")
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "text/plain; charset=utf-8"
        assert resp.json()["id"] == "api.context.404.app_error"


def test_public_route_miss_reaches_the_webapp(world: World) -> None:
    """D2: `/files/{file_id:[A-Za-z0-9]+}/public` misses, and web/static.go InitStatic's
    `/{anything:.*}` GET route serves root.html (200 text/html, root()'s Cache-Control) through
    ServeHTTP as a static handler (X-Frame-Options SAMEORIGIN, CSP, no Expires)."""
    for path in ("/files/abc-def/public?h=x", f"/files/{'a' * 26}/public/"):
        resp = raw(world, "GET", path)
        assert resp.status_code == 200, path
        assert resp.headers["content-type"] == "text/html"
        assert resp.headers["cache-control"] == "no-cache, max-age=31556926, public"
        assert resp.headers["x-frame-options"] == "SAMEORIGIN"
        assert "x-request-id" in resp.headers and "expires" not in resp.headers
        assert "content-disposition" not in resp.headers


def test_non_get_misses_outside_api_are_gorilla_405(world: World) -> None:
    """D21: gorilla's methodNotAllowedHandler: 405, empty body, no Allow, none of ServeHTTP's
    headers; the static GET route makes every other path a method mismatch."""
    for method, path in (
        ("POST", f"/files/{'a' * 26}/public"),
        ("HEAD", "/files/abc-def/public"),
        ("PUT", "/anything/else"),
    ):
        resp = raw(world, method, path)
        assert resp.status_code == 405, (method, path)
        assert resp.content == b"" and "allow" not in resp.headers
        assert not [h for h in SERVE_HTTP_HEADERS if h in resp.headers]


def test_disabled_webserver_is_gorillas_not_found(world: World) -> None:
    """D2: with WebserverMode "disabled" InitStatic registers nothing: http.NotFound."""
    world.admin.patch_config("ServiceSettings", WebserverMode="disabled")
    try:
        resp = raw(world, "GET", "/files/abc-def/public")
        assert resp.status_code == 404 and resp.content == b"404 page not found\n"
        assert resp.headers["content-type"] == "text/plain; charset=utf-8"
        assert "x-request-id" not in resp.headers
    finally:
        world.admin.patch_config("ServiceSettings", WebserverMode="gzip")


def test_unclean_paths_are_redirected_by_gorilla(world: World) -> None:
    """P1: app/server.go NewServer uses a plain mux.NewRouter() (no SkipClean), so
    Router.ServeHTTP answers 301 to the cleaned path, query kept, before any route."""
    file_id = "a" * 26
    for path, location in (
        (f"/api/v4//files/{file_id}/info", f"/api/v4/files/{file_id}/info"),
        (f"/api/v4/files/x/../{file_id}/info?a=1", f"/api/v4/files/{file_id}/info?a=1"),
        (f"//files/{file_id}/public", f"/files/{file_id}/public"),
    ):
        resp = raw(world, "GET", path)
        assert resp.status_code == 301 and resp.headers["location"] == location
        assert "x-request-id" not in resp.headers


def test_url_longer_than_maximum_is_414_before_any_header(world: World, links_on: None) -> None:
    """D3: web/handlers.go ServeHTTP runs basicSecurityChecks first: len(r.RequestURI) >
    ServiceSettings.MaximumURLLength (2048) → 414 basic_security_check.url.too_long_error via
    handleContextError, before X-Request-Id/X-Version-Id are set: JSON on /api/, HTML elsewhere."""
    file_id = world.member.upload_id(world.public_id)
    pad = "x" * 2100
    resp = world.member.get(f"/api/v4/files/{file_id}/info", params={"pad": pad})
    assert resp.status_code == 414
    assert not [h for h in SERVE_HTTP_HEADERS if h in resp.headers]
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body["id"] == "basic_security_check.url.too_long_error"
    assert body["status_code"] == 414 and re.fullmatch(r"[a-z0-9]{26}", body["request_id"])
    page = httpx.get(f"{world.server.url}/files/{file_id}/public", params={"h": "x", "p": pad})
    assert page.status_code == 414 and page.headers["content-type"] == "text/html"
    # The catch-all is not a web.Handler: a long miss is still its 404.
    miss = world.member.get("/api/v4/files/abc-def/info", params={"pad": pad})
    assert miss.status_code == 404
    world.admin.patch_config("ServiceSettings", MaximumURLLength=10000)
    try:
        assert world.member.get(f"/api/v4/files/{file_id}/info", params={"p": pad}).is_success
    finally:
        world.admin.patch_config("ServiceSettings", MaximumURLLength=2048)


def test_url_length_check_only_from_10_0() -> None:
    """D3: basicSecurityChecks arrived with PR #27747 (2024-07, released in 10.0)."""
    with running_server(server_version="9.11.0") as old:
        resp = httpx.get(f"{old.url}/api/v4/system/ping", params={"pad": "x" * 3000})
        assert resp.status_code == 200


def test_upload_body_ends_with_the_encoder_newline(world: World) -> None:
    """D14: uploadFileStream writes json.NewEncoder(w).Encode(resp), which adds a newline."""
    resp = world.member.upload(world.public_id)
    assert resp.status_code == 201 and resp.content.endswith(b"}\n")


def test_link_scheme_is_get_protocol(world: World, links_on: None) -> None:
    """D16: app.GetProtocol is "https" only for X-Forwarded-Proto == "https" or TLS."""
    file_id = world.member.upload_id(world.public_id)
    world.post_with(world.member, world.public_id, [file_id])
    for proto, scheme in (
        ("https", "https"),
        ("HTTPS", "http"),
        ("javascript", "http"),
        ("", "http"),
    ):
        headers = {"X-Forwarded-Proto": proto} if proto else {}
        link = world.member.ok(world.member.get(f"/api/v4/files/{file_id}/link", headers=headers))
        assert link["link"].split("://", 1)[0] == scheme, proto


def test_public_errors_are_json_for_mobile_and_a_signed_page_otherwise(
    world: World, links_on: None
) -> None:
    """D17, D18: handleContextError answers JSON when X-Mobile-App is set, even off /api/;
    RenderWebError otherwise: exactly text/html, onload to /error?message=…&s=<signature>. For
    the hash errors getPublicFile renders the page itself first, so the body holds it twice (or
    the page then the JSON)."""
    file_id = world.member.upload_id(world.public_id)
    url = f"{world.server.url}/files/{file_id}/public"
    page = httpx.get(url, params={"h": "x"})
    assert page.status_code == 400 and page.headers["content-type"] == "text/html"
    text = page.text
    assert text.count("<!DOCTYPE html>") == 2
    assert re.search(r"/error\?message=[^&\"']+&amp;s=[A-Za-z0-9_=-]+", text)
    mobile = httpx.get(url, params={"h": "x"}, headers={"X-Mobile-App": "1"})
    assert mobile.status_code == 400 and mobile.text.startswith("<!DOCTYPE html>")
    assert '"id":"api.file.get_file.public_invalid.app_error"' in mobile.text
    world.admin.patch_config("FileSettings", EnablePublicLink=False)
    disabled = httpx.get(url, params={"h": "x"}, headers={"X-Mobile-App": "1"})
    assert disabled.status_code == 403 and disabled.headers["content-type"] == "application/json"
    assert error_id(disabled) == "api.file.get_public_link.disabled.app_error"


def test_conditional_requests_follow_serve_content(world: World) -> None:
    """D19: http.ServeContent without an ETag (web/files.go sets none): If-None-Match * → 304,
    If-Match "x" → 412, If-Unmodified-Since before update_at → 412, If-None-Match beats
    If-Modified-Since, several ranges → 206 multipart/byteranges."""
    file_id = world.member.upload_id(world.public_id, "c.txt", b"0123456789")
    path = f"/api/v4/files/{file_id}"
    assert world.member.get(path, headers={"If-None-Match": "*"}).status_code == 304
    assert world.member.get(path, headers={"If-Match": '"x"'}).status_code == 412
    early = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert world.member.get(path, headers={"If-Unmodified-Since": early}).status_code == 412
    lm = world.member.get(path).headers["last-modified"]
    both = {"If-None-Match": '"x"', "If-Modified-Since": lm}
    assert world.member.get(path, headers=both).status_code == 200
    multi = world.member.get(path, headers={"Range": "bytes=0-1,5-6"})
    assert multi.status_code == 206
    assert multi.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert b"Content-Range: bytes 5-6/10\r\n" in multi.content


def test_session_cookie_cleared_only_for_a_presented_bad_token(world: World) -> None:
    """D22: ServeHTTP calls c.RemoveSessionCookie only when a presented token is invalid on a
    RequireSession route; no token (SessionRequired) and a CSRF failure leave the cookie."""
    bad = Api(world.server.url, "x" * 26).get("/api/v4/users/me")
    assert bad.status_code == 401 and "MMAUTHTOKEN=;" in bad.headers.get("set-cookie", "")
    none = Api(world.server.url).get("/api/v4/users/me")
    assert none.status_code == 401 and "set-cookie" not in none.headers
    token = world.member.token
    assert token is not None
    csrf = httpx.post(f"{world.server.url}/api/v4/users/logout", cookies={"MMAUTHTOKEN": token})
    assert csrf.status_code == 401 and "set-cookie" not in csrf.headers


def test_bool_query_values_are_parse_bool(world: World) -> None:
    """D30: web/params.go reads `download` with strconv.ParseBool (1 t T TRUE true True)."""
    png = world.member.upload_id(world.public_id, "p.png", bytes.fromhex("89504e470d0a1a0a"))
    for value, kind in (("True", "attachment"), ("tRuE", "inline"), ("yes", "inline")):
        resp = world.member.get(f"/api/v4/files/{png}", params={"download": value})
        assert resp.headers["content-disposition"].startswith(kind), value


def test_permission_detail_lists_permissions_with_commas(world: World) -> None:
    """D31: model.MakePermissionError: `userId=<id>, permission=<p1>,` (each id then a comma)."""
    outsider, _ = world.new_user(team=True)
    file_id = world.admin.upload_id(world.private_id)
    world.admin.patch_config("ServiceSettings", EnableDeveloper=True)
    try:
        resp = outsider.get(f"/api/v4/files/{file_id}/info")
        assert resp.status_code == 403
        assert resp.json()["detailed_error"].endswith("permission=read_channel_content,")
    finally:
        world.admin.patch_config("ServiceSettings", EnableDeveloper=False)


def test_head_on_get_file_follows_the_newest_route_table(world: World) -> None:
    """P7: the newest file.go copies register GetFile with Methods(GET, HEAD); the default
    version 11.5.0 answers HEAD (files.ROUTE_METHODS is the table to gate by version)."""
    file_id = world.member.upload_id(world.public_id)
    resp = world.member.head(f"/api/v4/files/{file_id}")
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["content-length"] == "5"
