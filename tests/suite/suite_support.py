"""Helpers for the suite's tests: licensing a reference server, a status-flipping proxy."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mmconform.live_target.client import Actor, Target
from mmconform.live_target.probe import probe
from mmconform.reference.licensing import mint_license
from mmconform.reference.server import RunningServer

DAY_MS = 86_400_000


@dataclass
class Licensed:
    server: RunningServer
    admin: Actor
    licence_path: Path


def license_server(server: RunningServer, folder: Path, *, now_ms: int) -> Licensed:
    """What `mmconform run` does to the embedded server: licence uploaded, guests enabled."""
    assert server.signing_key_path is not None
    licence = mint_license(
        server.signing_key_path.read_bytes(), users=100_000, expires_at_ms=now_ms + 30 * DAY_MS
    ).encode()
    path = folder / "embedded.mattermost-license"
    path.write_bytes(licence)
    admin = probe(server.url, login=server.admin_login, password=server.admin_password).admin
    target = Target(server.url)
    try:
        target.api("POST", "/license", admin, files={"license": ("l", licence)})
        target.api("PUT", "/config/patch", admin, json={"GuestAccountsSettings": {"Enable": True}})
    finally:
        target.close()
    return Licensed(server, admin, path)


@contextmanager
def serve_app(app: Any, stop: threading.Event | None = None) -> Iterator[str]:
    """Run an ASGI app on a free loopback port in a thread; yields its URL.

    Setting `stop` shuts the server down early: later connections are refused, as when a
    target dies in the middle of a run.
    """
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    if stop is not None:

        def watch() -> None:
            stop.wait()
            server.should_exit = True

        threading.Thread(target=watch, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        if stop is not None:
            stop.set()
        thread.join(timeout=10)
        sock.close()


Rewrite = Callable[[Request, int, dict[str, str]], tuple[int, dict[str, str]]]


def rewriting_proxy(
    upstream: str,
    rewrite: Rewrite,
    stop_after: int | None = None,
    stop: threading.Event | None = None,
) -> Starlette:
    """Forward everything to `upstream`, letting `rewrite` change status and headers.

    A deliberately misbehaving server for showing that checks fail. With `stop_after` and
    `stop` (shared with `serve_app`), the server shuts down after that many requests.
    """
    client = httpx.AsyncClient(base_url=upstream, timeout=30)
    seen = [0]

    async def forward(request: Request) -> Response:
        seen[0] += 1
        if stop is not None and stop_after is not None and seen[0] >= stop_after:
            stop.set()
        status, out, body = await _relay(client, request)
        status, out = rewrite(request, status, out)
        return Response(body, status_code=status, headers=out)

    return _proxy_app(forward)


async def _relay(client: httpx.AsyncClient, request: Request) -> tuple[int, dict[str, str], bytes]:
    """Send `request` on to the upstream; its status, the headers worth copying, its body."""
    headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    answer = await client.request(
        request.method,
        request.url.path,
        params=request.query_params,
        content=await request.body(),
        headers=headers,
    )
    drop = {"content-length", "transfer-encoding", "content-encoding", "connection"}
    out = {k: v for k, v in answer.headers.items() if k.lower() not in drop}
    return answer.status_code, out, answer.content


def _proxy_app(forward: Callable[[Request], Awaitable[Response]]) -> Starlette:
    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


def flipping_proxy(upstream: str, method: str, path_suffix: str, old: int, new: int) -> Starlette:
    """Answer `new` where upstream said `old`, for `method` requests on paths ending so."""

    def rewrite(
        request: Request, status: int, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        hit = request.method == method and request.url.path.endswith(path_suffix)
        return (new if hit and status == old else status), headers

    return rewriting_proxy(upstream, rewrite)


def lookup_proxy(upstream: str) -> Starlette:
    """Forward to `upstream` and answer Mattermost's by-name lookups from what passed through.

    The reference server does not implement GET /users/username/{name}, /teams/name/{name},
    /teams/{id}/channels/name/{name} or /channels/{id}/posts (real Mattermost does); cleanup
    needs them to resume after a crash, so this stand-in remembers created objects by name.
    """
    client = httpx.AsyncClient(base_url=upstream, timeout=30)
    by_name: dict[str, dict[str, Any]] = {}
    posts: dict[str, dict[str, Any]] = {}

    async def forward(request: Request) -> Response:
        path = request.url.path
        found = _lookup(path, by_name, posts)
        if found is not None:
            return found
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        answer = await client.request(
            request.method,
            path,
            params=request.query_params,
            content=await request.body(),
            headers=headers,
        )
        if request.method == "POST" and answer.status_code == 201:
            body = answer.json()
            if path == "/api/v4/posts":
                posts[str(body["id"])] = body
            elif path in ("/api/v4/users", "/api/v4/teams", "/api/v4/channels"):
                kind = path.rsplit("/", 1)[-1]
                key = body.get("username") or body.get("name")
                by_name[f"{kind}:{body.get('team_id', '')}:{key}"] = body
        drop = {"content-length", "transfer-encoding", "content-encoding", "connection"}
        out = {k: v for k, v in answer.headers.items() if k.lower() not in drop}
        return Response(answer.content, status_code=answer.status_code, headers=out)

    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


def _lookup(
    path: str, by_name: dict[str, dict[str, Any]], posts: dict[str, dict[str, Any]]
) -> Response | None:
    from starlette.responses import JSONResponse

    parts = path.strip("/").split("/")[2:]  # drop api/v4
    key = None
    if parts[:2] == ["users", "username"] and len(parts) == 3:
        key = f"users::{parts[2]}"
    elif parts[:2] == ["teams", "name"] and len(parts) == 3:
        key = f"teams::{parts[2]}"
    elif len(parts) == 5 and parts[0] == "teams" and parts[2:4] == ["channels", "name"]:
        key = f"channels:{parts[1]}:{parts[4]}"
    elif len(parts) == 3 and parts[0] == "channels" and parts[2] == "posts":
        mine = {i: p for i, p in posts.items() if p.get("channel_id") == parts[1]}
        return JSONResponse({"order": list(mine), "posts": mine})
    if key is None:
        return None
    if key in by_name:
        return JSONResponse(by_name[key])
    return JSONResponse(
        {"id": "app.user.missing_account.const", "message": "not found", "status_code": 404},
        status_code=404,
    )


BodyRewrite = Callable[[Request, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


@dataclass
class Switch:
    """The rewrite a `switch_proxy` applies right now (None: pass everything through)."""

    rewrite: BodyRewrite | None = None


def switch_proxy(upstream: str, switch: Switch) -> Starlette:
    """Forward to `upstream`; while `switch.rewrite` is set it may change status, headers, body."""
    client = httpx.AsyncClient(base_url=upstream, timeout=30)

    async def forward(request: Request) -> Response:
        status, out, body = await _relay(client, request)
        if switch.rewrite is not None:
            status, out, body = switch.rewrite(request, status, out, body)
        return Response(body, status_code=status, headers=out)

    return _proxy_app(forward)


def logging_proxy(upstream: str, log: list[tuple[str, str]]) -> Starlette:
    """Forward to `upstream` unchanged, appending (method, path) of every request to `log`."""
    client = httpx.AsyncClient(base_url=upstream, timeout=30)

    async def forward(request: Request) -> Response:
        log.append((request.method, request.url.path))
        status, out, body = await _relay(client, request)
        return Response(body, status_code=status, headers=out)

    return _proxy_app(forward)


def live_objects(server: RunningServer, admin_user_id: str) -> dict[str, int]:
    """What is still live on a reference server besides its admin, by kind (read from its store).

    White-box on purpose: the API cannot list a user's unattached files or another user's
    sessions, and this is the count a careful admin would take from the database.
    """
    import sqlite3

    db = sqlite3.connect(
        f"file:{server.data_dir / 'mmconform-reference.sqlite3'}?mode=ro", uri=True
    )
    try:

        def count(sql: str, *args: Any) -> int:
            return int(db.execute(sql, args).fetchone()[0])

        return {
            "users": count(
                "SELECT COUNT(*) FROM users WHERE delete_at = 0 AND id != ?", admin_user_id
            ),
            "teams": count("SELECT COUNT(*) FROM teams WHERE delete_at = 0"),
            "channels": count(
                "SELECT COUNT(*) FROM channels WHERE delete_at = 0 AND type NOT IN ('D', 'G')"
            ),
            "direct channels": count("SELECT COUNT(*) FROM channels WHERE type = 'D'"),
            "group channels": count("SELECT COUNT(*) FROM channels WHERE type = 'G'"),
            "posts": count("SELECT COUNT(*) FROM posts WHERE delete_at = 0"),
            "files": count("SELECT COUNT(*) FROM file_infos WHERE delete_at = 0"),
            "admin sessions": count(
                "SELECT COUNT(*) FROM sessions WHERE user_id = ? AND is_pat = 0", admin_user_id
            ),
            "other sessions": count(
                "SELECT COUNT(*) FROM sessions WHERE user_id != ?", admin_user_id
            ),
        }
    finally:
        db.close()
