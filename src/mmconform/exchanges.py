"""The exchange behind each failure, kept as HAR so it can be replayed after cleanup.

By the time anyone reads a failure the suite has deleted the objects it was about, so a curl
line alone cannot show what happened. Each failing check records its request and response here
(`record`); every pytest process appends to its own `exchanges/<owner>.jsonl` in the run folder,
and at the end the controller merges them into one `exchanges.har` (HAR 1.2, which browsers'
developer tools, Postman, Insomnia and `har-to-curl`-style tools open). A failure message names
its entry ("exchange: exchanges.har entry <id>"), and results.json, the HTML page and the Allure
attachment point at it.

Nothing secret is written: Authorization, cookies and CSRF headers are replaced, the public
link hash (`h`, a capability) is cut from URLs and bodies, a licence upload's body is left out,
and every text passes through the target's redaction of the run's known secrets.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HAR_NAME = "exchanges.har"
PARTS_DIR = "exchanges"
REDACTED = "[redacted]"
BODY_LIMIT = 64 * 1024
_SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "x-csrf-token", "token", "proxy-authorization"}
)
# The public-link hash `h` and a query-string token `access_token` (a session secret even
# where the server refuses it, AUTH-QUERY-001) are cut from URLs and bodies.
_HASH = re.compile(r"([?&](?:h|access_token)=)[^&\"'\s]+")
_REF = re.compile(r"exchange: exchanges\.har entry ([A-Za-z0-9_.:-]+)")
_LICENCE_PATH = "/api/v4/license"


@dataclass(frozen=True)
class Message:
    """One side of an exchange, whatever HTTP library carried it."""

    headers: list[tuple[str, str]]
    body: bytes


def _headers(
    pairs: Iterable[tuple[str, str]], redact: Callable[[str], str]
) -> list[dict[str, str]]:
    out = []
    for name, value in pairs:
        shown = (
            REDACTED
            if name.lower() in _SECRET_HEADERS
            else redact(_HASH.sub(r"\1" + REDACTED, value))
        )
        out.append({"name": name, "value": shown})
    return out


def _content(body: bytes, mime: str, redact: Callable[[str], str]) -> dict[str, Any]:
    cut = body[:BODY_LIMIT]
    content: dict[str, Any] = {"size": len(body), "mimeType": mime}
    try:
        content["text"] = redact(_HASH.sub(r"\1" + REDACTED, cut.decode("utf-8")))
    except UnicodeDecodeError:
        content["text"] = base64.b64encode(cut).decode("ascii")
        content["encoding"] = "base64"
    if len(body) > BODY_LIMIT:
        content["comment"] = f"first {BODY_LIMIT} of {len(body)} bytes"
    return content


def har_entry(
    *,
    method: str,
    url: str,
    request: Message,
    status: int,
    reason: str,
    response: Message,
    redact: Callable[[str], str] = str,
    seconds: float = 0.0,
) -> dict[str, Any]:
    """A HAR 1.2 entry, redacted (see the module docstring)."""
    shown_url = redact(_HASH.sub(r"\1" + REDACTED, url))
    req_type = _header(request.headers, "content-type")
    body = request.body
    entry_request: dict[str, Any] = {
        "method": method,
        "url": shown_url,
        "httpVersion": "HTTP/1.1",
        "headers": _headers(request.headers, redact),
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": len(body),
    }
    if body:
        if _LICENCE_PATH in url and method.upper() == "POST":
            entry_request["postData"] = {"mimeType": req_type, "text": "[licence file left out]"}
        else:
            entry_request["postData"] = {
                "mimeType": req_type,
                "text": _content(body, req_type, redact)["text"],
            }
    ms = round(seconds * 1000, 1)
    return {
        "startedDateTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "time": ms,
        "request": entry_request,
        "response": {
            "status": status,
            "statusText": reason,
            "httpVersion": "HTTP/1.1",
            "headers": _headers(response.headers, redact),
            "cookies": [],
            "content": _content(response.body, _header(response.headers, "content-type"), redact),
            "redirectURL": _header(response.headers, "location"),
            "headersSize": -1,
            "bodySize": len(response.body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": ms, "receive": 0},
    }


def _header(pairs: Iterable[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k.lower() == name), "")


def from_httpx(response: Any, redact: Callable[[str], str] = str) -> dict[str, Any]:
    """The entry of an `httpx.Response` (its request included)."""
    request = response.request
    try:
        sent = bytes(request.content)
    except Exception:  # a streamed body that was not kept
        sent = b""
    elapsed = getattr(response, "_elapsed", None)
    return har_entry(
        method=str(request.method),
        url=str(request.url),
        request=Message(list(request.headers.items()), sent),
        status=int(response.status_code),
        reason=str(response.reason_phrase or ""),
        response=Message(list(response.headers.items()), bytes(response.content or b"")),
        redact=redact,
        seconds=elapsed.total_seconds() if elapsed is not None else 0.0,
    )


def from_requests(response: Any, redact: Callable[[str], str] = str) -> dict[str, Any]:
    """The entry of a `requests.Response` (schemathesis' transport)."""
    request = response.request
    body = request.body or b""
    sent = (
        body.encode("utf-8")
        if isinstance(body, str)
        else bytes(body)
        if isinstance(body, bytes | bytearray)
        else b""
    )
    elapsed = getattr(response, "elapsed", None)
    return har_entry(
        method=str(request.method),
        url=str(request.url),
        request=Message(list(request.headers.items()), sent),
        status=int(response.status_code),
        reason=str(response.reason or ""),
        response=Message(list(response.headers.items()), bytes(response.content or b"")),
        redact=redact,
        seconds=elapsed.total_seconds() if elapsed is not None else 0.0,
    )


class ExchangeLog:
    """One process's failing exchanges: `exchanges/<owner>.jsonl` in the run folder."""

    def __init__(self, run_dir: Path, owner: str) -> None:
        self.run_dir = run_dir
        self.owner = re.sub(r"[^A-Za-z0-9_.-]", "-", owner)
        self.path = run_dir / PARTS_DIR / f"{self.owner}.jsonl"
        self._count = 0
        self._lock = threading.Lock()

    def record(self, entry: Mapping[str, Any]) -> str:
        """Append `entry`; the line a failure message carries to point at it."""
        with self._lock:
            self._count += 1
            ref = f"{self.owner}-{self._count}"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"id": ref, "entry": {**entry, "comment": ref}}) + "\n")
        return pointer(ref)


def as_text(entry: Mapping[str, Any]) -> str:
    """The entry as a person reads it: request line, headers, body; then the response."""
    req, resp = entry.get("request") or {}, entry.get("response") or {}
    lines = [f"{req.get('method', '')} {req.get('url', '')}"]
    lines += [f"{h.get('name')}: {h.get('value')}" for h in req.get("headers") or []]
    post = req.get("postData") or {}
    if post.get("text"):
        lines += ["", str(post["text"])[:4000]]
    lines += ["", f"HTTP {resp.get('status', '')} {resp.get('statusText', '')}".rstrip()]
    lines += [f"{h.get('name')}: {h.get('value')}" for h in resp.get("headers") or []]
    content = resp.get("content") or {}
    if content.get("text"):
        body = str(content["text"])
        if content.get("encoding") == "base64":
            body = f"[{content.get('size')} bytes, base64] " + body[:200]
        lines += ["", body[:4000]]
    return "\n".join(lines)


def pointer(ref: str) -> str:
    return f"exchange: {HAR_NAME} entry {ref} (request and response, secrets redacted)"


def reference_in(text: str) -> str | None:
    """The entry id a failure text points at, or None."""
    match = _REF.search(text or "")
    return match.group(1) if match else None


def read_part_entry(run_dir: Path, ref: str) -> dict[str, Any] | None:
    """An entry from the per-process files (before the merge) or from exchanges.har."""
    for entry in iter_entries(run_dir):
        if entry.get("comment") == ref:
            return entry
    return None


def iter_entries(run_dir: Path) -> list[dict[str, Any]]:
    har = run_dir / HAR_NAME
    entries: list[dict[str, Any]] = []
    if har.is_file():
        data = json.loads(har.read_text(encoding="utf-8"))
        entries += list((data.get("log") or {}).get("entries") or [])
    parts = run_dir / PARTS_DIR
    for part in sorted(parts.glob("*.jsonl")) if parts.is_dir() else []:
        for line in part.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entries.append(json.loads(line)["entry"])
    return entries


def merge(run_dir: Path, creator_version: str) -> Path | None:
    """Fold every process's part into `exchanges.har` (one file per run); None when no
    failure recorded an exchange."""
    entries = iter_entries(run_dir)
    if not entries:
        return None
    entries.sort(key=lambda e: str(e.get("startedDateTime", "")))
    har = run_dir / HAR_NAME
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "mmconform", "version": creator_version},
            "comment": "the exchange behind each failure; entries are named by their comment",
            "entries": entries,
        }
    }
    tmp = har.with_name(f".{HAR_NAME}.tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    tmp.replace(har)
    parts = run_dir / PARTS_DIR
    if parts.is_dir():
        for part in parts.glob("*.jsonl"):
            part.unlink()
        parts.rmdir()
    return har
