"""A reference server behind a fault-injecting ASGI wrapper, for end-to-end fuzz tests.

The reference server is not ours to change, so faults are injected in front of it: each fault
rewrites one kind of answer so that exactly one Mattermost rule is broken.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from mmconform.reference.app import admin_password_for, create_app
from mmconform.reference.server import bind_socket
from mmconform.reference.settings import Settings


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.decode().lower() == name.lower():
                return value.decode("latin-1")
        return None

    def set_header(self, name: str, value: str | None) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.decode().lower() != name.lower()]
        if value is not None:
            self.headers.append((name.lower().encode(), value.encode("latin-1")))


# (method, path regex, has Authorization?) -> rewrite of the answer
Fault = Callable[[str, str, bool, Answer], None]


def _info_leaks_path(method: str, path: str, authed: bool, a: Answer) -> None:
    if method == "GET" and re.fullmatch(r"/api/v4/files/\w+/info", path) and a.status == 200:
        body = json.loads(a.body)
        body["path"] = "20260101/teams/noteam/x"
        a.body = json.dumps(body).encode()


def _post_errors_with_charset(method: str, path: str, authed: bool, a: Answer) -> None:
    if re.fullmatch(r"/api/v4/posts/\w+/files/info", path) and a.status >= 400:
        a.set_header("Content-Type", "application/json; charset=utf-8")


def _license_without_request_id(method: str, path: str, authed: bool, a: Answer) -> None:
    if method == "DELETE" and path == "/api/v4/license":
        a.set_header("X-Request-Id", None)


def _files_always_inline(method: str, path: str, authed: bool, a: Answer) -> None:
    disposition = a.header("Content-Disposition")
    if re.fullmatch(r"/api/v4/files/\w+", path) and a.status == 200 and disposition:
        a.set_header("Content-Disposition", "inline" + disposition[disposition.index(";") :])


def _link_crashes(method: str, path: str, authed: bool, a: Answer) -> None:
    if re.fullmatch(r"/api/v4/files/\w+/link", path) and a.status == 200:
        a.status = 500
        body = {"id": "app.boom", "message": "boom", "status_code": 500}
        a.body = json.dumps(body).encode()


def _post_infos_without_session(method: str, path: str, authed: bool, a: Answer) -> None:
    if re.fullmatch(r"/api/v4/posts/\w+/files/info", path) and not authed:
        a.status, a.body = 200, b"[]"
        a.set_header("Content-Type", "application/json")


def _public_link_serves_other_bytes(method: str, path: str, authed: bool, a: Answer) -> None:
    if method == "GET" and re.fullmatch(r"/files/\w+/public", path) and a.status == 200:
        a.body = b"not the uploaded file"


FAULTS: dict[str, Fault] = {
    "CONTRACT-INFO-001": _info_leaks_path,
    "CONTRACT-ERROR-001": _post_errors_with_charset,
    "CONTRACT-HEADERS-001": _license_without_request_id,
    "CONTRACT-FILEHDR-001": _files_always_inline,
    "CONTRACT-SERVER-001": _link_crashes,
    "CONTRACT-REFUSED-001": _post_infos_without_session,
    "CONTRACT-STATE-001": _public_link_serves_other_bytes,
}


class Faulty:
    """Buffers each answer of `app`, applies every fault, then sends it on."""

    def __init__(self, app: Any, faults: list[Fault]) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authed = any(k.lower() == b"authorization" for k, _ in scope["headers"])
        answer = Answer(0, [], b"")

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                answer.body += message.get("body", b"")

        await self.app(scope, receive, capture)
        for fault in self.faults:
            fault(scope["method"], scope["path"], authed, answer)
        if scope["method"] != "HEAD":
            answer.set_header("Content-Length", str(len(answer.body)))
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
        )
        await send({"type": "http.response.body", "body": answer.body})


@contextmanager
def faulty_server(faults: list[Fault]) -> Iterator[tuple[str, str]]:
    """(url, admin password) of a fresh reference server behind `faults`."""
    root = Path(tempfile.mkdtemp(prefix="mmconform-faulty-"))
    password = admin_password_for(Settings(data_dir=root))
    app = create_app(Settings(data_dir=root, admin_password=password))
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(Faulty(app, faults), log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        for _ in range(500):
            try:
                if httpx.get(url + "/api/v4/system/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.02)
        yield url, password
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.mm.store.close()
        shutil.rmtree(root, ignore_errors=True)
