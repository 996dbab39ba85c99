"""Mattermost's rate limiter (`RateLimitSettings.Enable`) as a pure-ASGI middleware.

Upstream (server/channels/app/ratelimit.go `RateLimiter`, wired in app/server.go `Start`):
`RateLimitHandler` wraps the *whole* root router (API, public file route, static files, the
subpath redirect), so every request spends one token before any handler runs. The limiter is
throttled's `GCRARateLimiter` on a `memstore` of `MemoryStoreSize` keys with
`RateQuota{MaxRate: PerSec(PerSec), MaxBurst: MaxBurst}`: emission interval T = 1 s / PerSec,
tolerance τ = T × (MaxBurst + 1), so a fresh key gets MaxBurst + 1 requests at once, then PerSec a
second. The key (`GenerateKey`): the request's token when `VaryByUser` (falling back to the client
address when there is none and `VaryByRemoteAddr`), else the client address when
`VaryByRemoteAddr`; then `VaryByHeader`'s value, lower-cased, appended. The client address is
`utils.GetIPAddress(r, ServiceSettings.TrustedProxyIPHeader)`: the first field of the first
trusted header present, else the connection's peer (the default list is empty, so a proxy's
X-Forwarded-For is not trusted unless configured).

Every answer carries `X-Ratelimit-Limit` (MaxBurst + 1), `X-Ratelimit-Remaining`,
`X-Ratelimit-Reset` (seconds, rounded up); a refused request also gets `Retry-After` (seconds,
rounded up) and Go's `http.Error(w, "limit exceeded", 429)`: `text/plain; charset=utf-8`,
`X-Content-Type-Options: nosniff`, body "limit exceeded\\n". Nothing else (no X-Request-Id, no
X-Version-Id): the handler never reaches `web.Handler.ServeHTTP`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY = b"limit exceeded\n"


@dataclass(frozen=True)
class Quota:
    """`RateLimitSettings` as the limiter reads them (defaults of model/config.go SetDefaults)."""

    per_sec: int = 10
    max_burst: int = 100
    memory_store_size: int = 10000
    vary_by_remote_addr: bool = True
    vary_by_user: bool = False
    vary_by_header: str = ""
    trusted_proxy_ip_header: tuple[str, ...] = ()

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], trusted: list[str] | tuple[str, ...] = ()
    ) -> Quota:
        return cls(
            per_sec=int(section.get("PerSec", 10)),
            max_burst=int(section.get("MaxBurst", 100)),
            memory_store_size=int(section.get("MemoryStoreSize", 10000)),
            vary_by_remote_addr=bool(section.get("VaryByRemoteAddr", True)),
            vary_by_user=bool(section.get("VaryByUser", False)),
            vary_by_header=str(section.get("VaryByHeader", "") or ""),
            trusted_proxy_ip_header=tuple(str(h) for h in trusted),
        )


@dataclass(frozen=True)
class Result:
    """throttled's `RateLimitResult` (durations in seconds; -1 = absent)."""

    limited: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float


class Gcra:
    """throttled's `GCRARateLimiter.RateLimit(key, 1)` over an LRU store of theoretical arrival
    times (memstore is an LRU of `MemoryStoreSize` keys). Integer nanoseconds, as Go's
    `time.Duration`: float seconds would refuse the 101st request of a burst of 101."""

    def __init__(self, quota: Quota, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1_000_000_000 // quota.per_sec  # PerSec(n): time.Second / n
        self.tolerance = self.interval * (quota.max_burst + 1)
        self.limit = quota.max_burst + 1
        self.size = quota.memory_store_size
        self.clock = clock
        self._tats: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> Result:
        with self._lock:
            now = int(self.clock() * 1_000_000_000)
            tat = self._tats.get(key, now)
            new_tat = max(now, tat) + self.interval
            allow_at = new_tat - self.tolerance
            if now < allow_at:
                limited, ttl, retry = True, tat - now, allow_at - now
            else:
                limited, ttl, retry = False, new_tat - now, -1
                self._tats[key] = new_tat
                self._tats.move_to_end(key)
                while len(self._tats) > self.size:
                    self._tats.popitem(last=False)
        nxt = self.tolerance - ttl
        remaining = 0
        if nxt > -self.interval:  # Go's integer division truncates toward zero
            remaining = abs(nxt) // self.interval * (1 if nxt >= 0 else -1)
        seconds = 1_000_000_000
        retry_s = retry / seconds if retry >= 0 else -1.0
        return Result(limited, self.limit, remaining, ttl / seconds, retry_s)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def client_address(scope: Scope, trusted: tuple[str, ...]) -> str:
    """`utils.GetIPAddress`: first field of the first trusted header present, else the peer."""
    for name in trusted:
        value = _header(scope, name.lower().encode("latin-1"))
        fields = value.split()
        if fields:
            address = fields[0].rstrip(",")
            if address:
                return address
    client = scope.get("client")
    return str(client[0]) if client else ""


def auth_token(scope: Scope) -> str:
    """`ParseAuthTokenFromRequest`: Authorization Bearer/Token, MMAUTHTOKEN cookie, access_token."""
    auth = _header(scope, b"authorization")
    for prefix in ("bearer ", "token "):
        if auth[: len(prefix)].lower() == prefix:
            return auth[len(prefix) :]
    for part in _header(scope, b"cookie").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "MMAUTHTOKEN" and value:
            return value
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    return query.get("access_token", [""])[0]


def rate_key(scope: Scope, quota: Quota) -> str:
    """`RateLimiter.GenerateKey`."""
    key = ""
    if quota.vary_by_user:
        token = auth_token(scope)
        if token:
            key += token
        elif quota.vary_by_remote_addr:
            key += client_address(scope, quota.trusted_proxy_ip_header)
    elif quota.vary_by_remote_addr:
        key += client_address(scope, quota.trusted_proxy_ip_header)
    if quota.vary_by_header:
        key += _header(scope, quota.vary_by_header.lower().encode("latin-1")).lower()
    return key


def _headers(result: Result) -> list[tuple[bytes, bytes]]:
    """throttled's `setRateLimitHeaders`, copied into ratelimit.go (Go canonicalises names)."""
    out = [
        (b"x-ratelimit-limit", str(result.limit).encode()),
        (b"x-ratelimit-remaining", str(result.remaining).encode()),
        (b"x-ratelimit-reset", str(math.ceil(result.reset_after)).encode()),
    ]
    if result.retry_after >= 0:
        out.append((b"retry-after", str(math.ceil(result.retry_after)).encode()))
    return out


class RateLimitMiddleware:
    """Outermost layer of the reference server when `RateLimitSettings.Enable` is true."""

    def __init__(self, app: ASGIApp, quota: Quota, *, clock: Callable[[], float] | None = None):
        self.app = app
        self.quota = quota
        self.gcra = Gcra(quota, clock or time.monotonic)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        result = self.gcra.take(rate_key(scope, self.quota))
        extra = _headers(result)
        if result.limited:
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        *extra,
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"x-content-type-options", b"nosniff"),
                        (b"content-length", str(len(BODY)).encode()),
                    ],
                }
            )
            body = b"" if scope.get("method") == "HEAD" else BODY
            await send({"type": "http.response.body", "body": body})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*extra, *message.get("headers", [])]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
