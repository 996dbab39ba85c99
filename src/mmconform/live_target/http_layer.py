"""Behaviour checks of the real server's HTTP layer around our operations (requirements-http.yaml).

Each check sends its own requests and raises ConformanceFailure naming the requirement, the
request and a curl line. Facts and upstream sources: docs/facts/http-layer.md.
"""

from __future__ import annotations

import secrets
import string
from email.utils import formatdate
from typing import Any

import httpx

from mmconform.live_target.client import API, Actor, curl_line, error_id_of
from mmconform.live_target.gate import NotApplicable
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import World

URL_TOO_LONG_ID = "basic_security_check.url.too_long_error"
DEFAULT_MAX_URL_LENGTH = 2048  # model.ServiceSettingsDefaultMaxURLLength


def _fail(world: World, req: str, what: str, response: httpx.Response, actor: Actor) -> None:
    request = response.request
    url = str(request.url)
    extra = " ".join(
        f"-H '{k}: {v}'"
        for k, v in request.headers.items()
        if k.lower() in ("x-forwarded-proto", "if-none-match", "if-modified-since")
    )
    lines = [
        f"{req}: {what}",
        f"  actor:    {actor.name}",
        f"  request:  {request.method} {url}",
        f"  actual:   {response.status_code} {error_id_of(response) or '(no error id)'} "
        f"{response.headers.get('content-type', '')}".rstrip(),
        "Reproduce with:",
        "  " + curl_line(request.method, url, actor, extra),
    ]
    kept = world.target.keep_exchange(response)  # the exchange, for after the cleanup
    if kept:
        lines.append(kept)
    raise ConformanceFailure(world.target.redact("\n".join(lines)))


def _config(world: World) -> dict[str, Any]:
    try:
        config = world.target.api("GET", "/config", world.admin)
    except Exception as exc:  # a restricted admin may not read the config
        raise NotApplicable(f"the server config cannot be read: {exc}") from None
    return config if isinstance(config, dict) else {}


def _attached(world: World) -> Any:
    return world.files[("public", "attached")]


def check_errors_wipe_detail(world: World) -> None:
    """HTTP-ERROR-001: handleContextError wipes detailed_error unless EnableDeveloper; the
    /api/v4 catch-all (web.Handle404, not a web.Handler) keeps its own detail."""
    developer = bool(_config(world).get("ServiceSettings", {}).get("EnableDeveloper"))
    if developer:
        raise NotApplicable("ServiceSettings.EnableDeveloper is on: details are shown by design")
    actor = world.actors["uploader"]
    missing = "".join(secrets.choice(string.ascii_lowercase) for _ in range(26))
    response = world.target.request("GET", f"{API}/files/{missing}/info", actor=actor)
    try:
        detail = response.json().get("detailed_error")
    except (ValueError, AttributeError):
        detail = None
    if response.status_code != 404 or detail != "":
        _fail(
            world,
            "HTTP-ERROR-001",
            f"without EnableDeveloper a handler error's detailed_error must be '', got {detail!r}",
            response,
            actor,
        )
    miss = world.target.request("GET", f"{API}/files/not-an-id/info", actor=actor)
    try:
        body = miss.json()
    except ValueError:
        body = {}
    if miss.status_code != 404 or body.get("id") != "api.context.404.app_error":
        what = "an /api/v4 route miss must be the catch-all 404"
        _fail(world, "HTTP-ROUTE-001", what, miss, actor)


def check_url_too_long(world: World) -> None:
    """HTTP-URL-001: basicSecurityChecks answers 414 before the handler runs."""
    limit = _config(world).get("ServiceSettings", {}).get("MaximumURLLength")
    limit = int(limit) if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_URL_LENGTH
    actor = world.actors["uploader"]
    path = f"{API}/files/{_attached(world).id}/info"
    pad = "x" * (limit + 1 - len(path) - len("?pad="))
    response = world.target.request("GET", path, actor=actor, params={"pad": pad})
    if response.status_code != 414 or error_id_of(response) != URL_TOO_LONG_ID:
        _fail(
            world,
            "HTTP-URL-001",
            f"a request URI of {limit + 1} characters must be 414 {URL_TOO_LONG_ID}",
            response,
            actor,
        )


def check_link_scheme(world: World) -> None:
    """HTTP-LINK-001: app.GetProtocol takes "https" only from X-Forwarded-Proto == "https" (or
    TLS); any other value must not change the link's scheme."""
    actor = world.actors["uploader"]
    path = f"{API}/files/{_attached(world).id}/link"
    plain = world.target.request("GET", path, actor=actor)
    if plain.status_code != 200:
        raise NotApplicable(f"GetFileLink answered {plain.status_code} {error_id_of(plain)}")
    scheme = str(plain.json().get("link", "")).split("://", 1)[0]
    for proto in ("javascript", "HTTPS", "ftp"):
        response = world.target.request(
            "GET", path, actor=actor, headers={"X-Forwarded-Proto": proto}
        )
        got = str(response.json().get("link", "")).split("://", 1)[0]
        if got != scheme:
            _fail(
                world,
                "HTTP-LINK-001",
                f"X-Forwarded-Proto {proto!r} turned the link's scheme {scheme!r} into {got!r}",
                response,
                actor,
            )


def check_conditional_get(world: World) -> None:
    """HTTP-COND-001: file bytes go through http.ServeContent (no ETag): If-None-Match * is 304,
    If-Modified-Since at Last-Modified is 304, and If-None-Match makes If-Modified-Since moot."""
    actor = world.actors["uploader"]
    path = f"{API}/files/{_attached(world).id}"
    first = world.target.request("GET", path, actor=actor)
    last_modified = first.headers.get("last-modified") or formatdate(usegmt=True)
    for headers, expect in (
        ({"If-None-Match": "*"}, 304),
        ({"If-Modified-Since": last_modified}, 304),
        ({"If-None-Match": '"mmconform"', "If-Modified-Since": last_modified}, 200),
    ):
        response = world.target.request("GET", path, actor=actor, headers=headers)
        if response.status_code != expect:
            _fail(
                world,
                "HTTP-COND-001",
                f"{', '.join(f'{k}: {v}' for k, v in headers.items())} must be {expect}",
                response,
                actor,
            )
