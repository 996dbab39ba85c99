"""One HTTP/1.1 request with the request target exactly as written.

httpx removes dot segments (`/x/../`) from a URL before sending, which hides what the server's
router does with them; http.client sends the target verbatim. The answer is read in full, or up
to where the connection closed when the server declared more than it sent (Go's 412 does).
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx


@dataclass
class RawResponse:
    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> object:
        import json

        return json.loads(self.content)


def send_raw(
    base: str, method: str, target: str, headers: dict[str, str] | None = None
) -> RawResponse:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        try:
            body = resp.read()
        except http.client.IncompleteRead as short:
            body = short.partial
        return RawResponse(resp.status, httpx.Headers(resp.getheaders()), body)
    finally:
        conn.close()
