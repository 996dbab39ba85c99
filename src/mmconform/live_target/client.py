"""A small HTTP client for one target.

Tokens are secrets: the client remembers every token it has seen and `redact()` replaces them in
any text it is handed (error messages, repro lines), and repro curl lines never contain a token at
all, only a shell variable naming the actor.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from mmconform.errors import TargetFailed
from mmconform.live_target import retry

if TYPE_CHECKING:
    from mmconform.exchanges import ExchangeLog

API = "/api/v4"
REDACTED = "<redacted>"


class Secrets:
    """The set of strings that must never leave the process in clear."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4:
            self._values.add(value)

    def values(self) -> list[str]:
        """Every secret, sorted: handed to the other processes of a run (shared_world.py)."""
        return sorted(self._values)

    def redact(self, text: str) -> str:
        # Longest first so a secret containing another is replaced whole.
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, REDACTED)
        return text


@dataclass(frozen=True)
class Actor:
    """Who sends a request: a name for reports, a token (None = anonymous), the user id."""

    name: str
    token: str | None = field(default=None, repr=False)
    user_id: str | None = None
    username: str | None = None


class ApiError(Exception):
    """A target answer other than the one a provisioning step needed."""

    def __init__(self, method: str, path: str, status: int, error_id: str, message: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.error_id = error_id
        super().__init__(f"{method} {path} answered {status} {error_id} {message}".rstrip())

    @property
    def reason(self) -> str:
        """The target's answer in the short form used for 'not applicable' reasons."""
        return f"{self.method} {self.path} answered {self.status} {self.error_id}".rstrip()


def error_id_of(response: httpx.Response) -> str:
    """The AppError `id` of an error response, or '' (a success body's `id` is no error id)."""
    if response.status_code < 400:
        return ""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return ""
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        return str(body["id"])
    return ""


def token_variable(actor_name: str) -> str:
    """The shell variable a repro line reads the actor's token from."""
    return "MM_TOKEN_" + re.sub(r"[^A-Z0-9_]", "_", actor_name.upper())


def export_hint(actor_name: str) -> str:
    return f"(export {token_variable(actor_name)}=<a session token of {actor_name}> first)"


def curl_line(method: str, url: str, actor: Actor | None, extra: str = "") -> str:
    """A repro line; the token is a shell variable in double quotes, so it expands when pasted
    and the line itself holds no secret. The line says which variable to export."""
    parts = ["curl", "-i", "-X", method]
    var = None
    if actor is not None and actor.token is not None:
        var = token_variable(actor.name)
        parts += ["-H", f'"Authorization: Bearer ${var}"']
    cmd = " ".join(p if p.startswith('"') else shlex.quote(p) for p in parts)
    tail = f" {extra}" if extra else ""
    hint = f"  # {export_hint(actor.name)}" if var is not None and actor is not None else ""
    return f"{cmd}{tail} {shlex.quote(url)}{hint}"


class Target:
    """Base URL plus an httpx client; every request names the actor sending it."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        secrets: Secrets | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secrets = secrets or Secrets()
        # No cookie jar: Mattermost's login sets MMAUTHTOKEN, and a remembered cookie would
        # silently authenticate the next actor's request (anonymous rows included).
        no_cookies = http.cookiejar.CookieJar(
            policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
        )
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            cookies=no_cookies,
        )
        # Where failing exchanges are kept (set by the plugin for a run; None: not kept).
        self.exchanges: ExchangeLog | None = None

    def close(self) -> None:
        self._client.close()

    def redact(self, text: str) -> str:
        return self.secrets.redact(text)

    def keep_exchange(self, response: httpx.Response) -> str | None:
        """Record the exchange of a failure (mmconform.exchanges); the pointer line."""
        if self.exchanges is None or response.request is None:
            return None
        from mmconform.exchanges import from_httpx

        return self.exchanges.record(from_httpx(response, self.redact))

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        actor: Actor | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request, waiting out 429s and retrying transport errors (retry.py); a
        target that stays silent mid-run has died (TargetFailed, exit 3)."""
        merged = dict(headers or {})
        if actor is not None and actor.token is not None:
            self.secrets.add(actor.token)
            merged["Authorization"] = f"Bearer {actor.token}"
        content = kwargs.get("content")
        if content is not None and not isinstance(content, bytes | str):
            # A chunked body is an iterator, spent by the first attempt; a resend (after a 429)
            # must send the same chunks again, still chunked.
            chunks = list(content)
            kwargs = {**kwargs, "content": None}

            def attempt() -> httpx.Response:
                again = {**kwargs, "content": iter(chunks)}
                return self._client.request(method, path, headers=merged, **again)
        else:

            def attempt() -> httpx.Response:
                return self._client.request(method, path, headers=merged, **kwargs)

        try:
            return retry.send(
                attempt,
                method=method,
                describe=f"{method} {self.url(path)}",
                status_of=lambda r: r.status_code,
                headers_of=lambda r: r.headers,
                transport_errors=(httpx.TransportError,),
            )
        except TargetFailed as exc:
            raise TargetFailed(self.redact(str(exc))) from None

    def api(
        self,
        method: str,
        path: str,
        actor: Actor | None,
        *,
        expect: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> Any:
        """An /api/v4 call whose status must be in `expect`; returns the decoded JSON body."""
        response = self.request(method, API + path, actor=actor, **kwargs)
        if response.status_code not in expect:
            message = ""
            try:
                body = response.json()
                if isinstance(body, dict):
                    message = str(body.get("message", ""))
            except ValueError:
                message = ""
            raise ApiError(
                method, path, response.status_code, error_id_of(response), self.redact(message)
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def eventually(
        self,
        read: Callable[[], httpx.Response],
        done: Callable[[httpx.Response], bool],
        *,
        deadline: float = 5.0,
    ) -> httpx.Response:
        """Repeat a read until `done`: a write on one node is not instantly visible on all."""
        stop = time.monotonic() + deadline
        delay = 0.05
        while True:
            response = read()
            if done(response) or time.monotonic() >= stop:
                return response
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
