"""Scrubbing secrets out of anything a report writes.

Failure messages quote requests and responses, and those carry bearer tokens, session cookies,
passwords and licence bytes. Reports are shared (CI artefacts, PR comments, certificates sent to a
third party), so every string goes through `scrub` before it is written, and the exact values of
the credentials a run was given are removed as well (`Scrubber.known`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization)([\"']?\s*[:=]\s*[\"']?)([^\"'\r\n]+)")
_SECRET_FIELD = re.compile(
    r"(?i)\b([a-z_-]*(?:token|password|passwd|secret|api[_-]?key)[a-z_-]*)"
    r"([\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}\])\"']+)"
)
# The shell variable a repro line names instead of the secret (`$MM_TOKEN_UPLOADER`,
# `$MM_COOKIE_…`, `$MM_CSRF_…`: live_target's curl lines), bare or after the auth scheme: the
# reader's own value, nothing to hide. Redacting it left curl lines without the variable to
# export (and, unquoted, without their closing quote). Only the suite's own `$MM_` names, so a
# password that happens to start with `$` is still redacted.
_SHELL_VARIABLE = re.compile(r"^(?:(?i:bearer|token)\s+)?\$MM_[A-Z0-9_]+$")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/_-]{201,}={0,2}")


def _secret_field(match: re.Match[str]) -> str:
    value = match.group(3)
    if _SHELL_VARIABLE.match(value.strip("\"'")):
        return match.group(0)
    if value[:1] in {'"', "'"}:
        return f"{match.group(1)}{match.group(2)}{value[0]}{REDACTED}{value[0]}"
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def scrub(text: str) -> str:
    """Remove anything that looks like a credential from one string."""
    text = _BASE64_BLOB.sub(lambda m: f"[REDACTED base64, {len(m.group(0))} chars]", text)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    text = _AUTH_HEADER.sub(
        lambda m: (
            m.group(0)
            if _SHELL_VARIABLE.match(m.group(3).strip())
            else f"{m.group(1)}{m.group(2)}{REDACTED}"
        ),
        text,
    )
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SECRET_FIELD.sub(_secret_field, text)


class Scrubber:
    """`scrub` plus removal of the literal secrets this run was handed (token, password)."""

    def __init__(self, known: Iterable[str | None] = ()) -> None:
        # Very short values would shred ordinary text; a real token or password is longer.
        self.known = sorted({k for k in known if k and len(k) >= 6}, key=len, reverse=True)

    def text(self, text: str) -> str:
        for secret in self.known:
            text = text.replace(secret, REDACTED)
        return scrub(text)

    def tree(self, value: Any) -> Any:
        """Scrub every string (keys too) of a JSON-like tree."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.tree(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.tree(v) for v in value]
        return value
