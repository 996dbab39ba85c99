"""The fuzz session's transport: the suite's pushback policy (live_target/retry.py) under
schemathesis, so a rate-limited or briefly unreachable target is waited for, not judged."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from mmconform.live_target import retry


class PushbackAdapter(HTTPAdapter):
    """`HTTPAdapter.send` through `retry.send`: 429s waited out, transport errors retried."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        def attempt() -> Any:
            return HTTPAdapter.send(self, request, *args, **kwargs)

        return retry.send(
            attempt,
            method=str(request.method or "GET"),
            describe=f"{request.method} {request.url}",
            status_of=lambda r: int(r.status_code),
            headers_of=lambda r: r.headers,
            transport_errors=(requests.ConnectionError, requests.Timeout),
        )
