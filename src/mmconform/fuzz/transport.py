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


class KeptAdapter(PushbackAdapter):
    """One connection pool for every session schemathesis makes for its probes.

    Each probe gets a fresh session and closes it after one request, which closed its
    connection too: a new TCP connection (a round trip more on a remote target) per probe,
    ~50 in a ci run. Connections carry no credentials or cookies (those are the session's), so
    the probes share this adapter's pool; closing a probe's session leaves the pool open.
    """

    def close(self) -> None:
        """Kept open: it outlives every session it is mounted in (the process ends it)."""


_KEPT = KeptAdapter(pool_maxsize=16)


def install() -> None:
    """Also put the adapter under the sessions schemathesis makes for itself.

    Its auth probes (the `ignored_auth` check's request without credentials, `send_probe`) drop
    our session on purpose and send through a fresh `SameHostRedirectsSession`; on a rate-limited
    target that probe met a 429 and was judged as "auth not enforced". Subclassing that one name
    keeps their session (no credentials, same-host redirects) and adds only the waiting, and
    keep-alive connections (`KeptAdapter`).
    """
    from schemathesis.transport import requests as st_requests

    base = getattr(st_requests, "SameHostRedirectsSession", None)
    if base is None or getattr(base, "mm_pushback", False):
        return

    class PushbackSession(base):  # type: ignore[misc, valid-type]
        mm_pushback = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.mount("http://", _KEPT)
            self.mount("https://", _KEPT)

    st_requests.SameHostRedirectsSession = PushbackSession  # type: ignore[misc]
