"""GET /files/{id}, /files/{id}/info, /files/{id}/link and the public route /files/{id}/public.

Headers follow `server/platform/shared/web/files.go` (178f763e): `Cache-Control: private,
max-age=86400`, nosniff, html/js types rewritten to `text/plain`, `inline` only for the media
list and not with `download=true`, RFC 5987 `filename*=UTF-8''` with Go `url.PathEscape`
semantics, X-Frame-Options DENY, CSP `Frame-ancestors 'none'`. Bytes go out like
`http.ServeContent` (Last-Modified = update_at, single Range → 206, If-Modified-Since → 304;
multi-range requests get the whole file, a documented simplification).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mmconform.reference import filestore
from mmconform.reference.context import Ctx, endpoint, json_response
from mmconform.reference.errors import AppError, json_bytes
from mmconform.reference.fileinfo import (
    BOOKMARK_OWNER,
    file_info_json,
    get_live_file,
    require_file_read,
)
from mmconform.reference.posts import INFO_CACHE_CONTROL

INLINE_MEDIA = (
    "image/jpeg",
    "image/png",
    "image/bmp",
    "image/gif",
    "image/tiff",
    "image/webp",
    "video/avi",
    "video/mpeg",
    "video/mp4",
    "audio/mpeg",
    "audio/wav",
)
AS_TEXT = (
    "application/javascript",
    "application/ecmascript",
    "text/javascript",
    "text/ecmascript",
    "application/x-javascript",
    "text/html",
)
CHUNK = 64 * 1024


def path_escape(name: str) -> str:
    """Go `url.PathEscape`: keeps unreserved and `$&+:=@`, escapes the rest (space → %20)."""
    return quote(name, safe="$&+:=@")


def file_headers(
    info: dict[str, Any], force_download: bool, faults: frozenset[str] = frozenset()
) -> dict[str, str]:
    mime = str(info["mime_type"]) or "application/octet-stream"
    active_ok = "html-served-inline" in faults
    if mime.lower().startswith(AS_TEXT) and not active_ok:
        mime = "text/plain"
    if "download-flag-ignored" in faults:
        force_download = False
    inline = not force_download and mime.lower().startswith(INLINE_MEDIA)
    if "disposition-always-inline" in faults or (active_ok and mime.startswith("text/html")):
        inline = True
    esc = path_escape(str(info["name"]))
    kind = "inline" if inline else "attachment"
    return {
        "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "" if "file-nosniff-missing" in faults else "nosniff",
        "Content-Type": mime,
        "Content-Disposition": f"{kind};filename=\"{esc}\"; filename*=UTF-8''{esc}",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "Frame-ancestors 'none'",
    }


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end) for one satisfiable range, None for 'serve whole', 'bad' for 416."""
    if not header.startswith("bytes="):
        return "bad"
    specs = [s.strip() for s in header[6:].split(",") if s.strip()]
    if len(specs) != 1:
        return None if specs else "bad"
    first, sep, last = specs[0].partition("-")
    if not sep:
        return "bad"
    try:
        if first == "":
            n = int(last)
            if n <= 0 or size == 0:
                return "bad"
            return max(0, size - n), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return "bad"
    if start >= size or start < 0 or end < start:
        return "bad"
    return start, min(end, size - 1)


class FileBody(Response):
    """Streams a stored file with ServeContent semantics, without reading it all at once."""

    def __init__(
        self, path: Path, headers: dict[str, str], start: int, end: int, status: int, head: bool
    ) -> None:
        super().__init__(None, status, headers)
        self.path = path
        self.start = start
        self.end = end
        self.head = head

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if self.head or self.status_code == 304:
            await send({"type": "http.response.body", "body": b""})
            return
        remaining = self.end - self.start + 1
        with self.path.open("rb") as fh:
            fh.seek(self.start)
            while remaining > 0:
                data = fh.read(min(CHUNK, remaining))
                if not data:
                    break
                remaining -= len(data)
                if remaining > 0:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                else:
                    await send({"type": "http.response.body", "body": data})
                    return
        # An empty file (or one that shrank under us) still needs a final body message.
        await send({"type": "http.response.body", "body": b""})


def write_file_response(ctx: Ctx, info: dict[str, Any], force_download: bool) -> Response:
    try:
        path = filestore.resolve(ctx.state.files_dir, str(info["path"]))
        size = path.stat().st_size
    except (OSError, ValueError) as exc:
        raise AppError("api.file.no_file.app_error", 404) from exc
    faults = ctx.state.settings.faults
    headers = file_headers(info, force_download, faults)
    if faults and ({"get-file-truncated", "get-file-altered"} & faults):
        return _damaged_body(path, headers, faults, ctx.request.method == "HEAD")
    mtime = int(info["update_at"]) // 1000
    headers["Last-Modified"] = formatdate(mtime, usegmt=True)
    headers["Accept-Ranges"] = "bytes"
    head = ctx.request.method == "HEAD"
    ims = ctx.request.headers.get("if-modified-since")
    if ims:
        try:
            if mtime <= int(parsedate_to_datetime(ims).timestamp()):
                for key in ("Content-Type", "Content-Length"):
                    headers.pop(key, None)
                return FileBody(path, headers, 0, -1, 304, head)
        except (TypeError, ValueError):
            pass
    range_header = ctx.request.headers.get("range")
    parsed = _parse_range(range_header, size) if range_header else None
    if parsed == "bad":
        headers["Content-Range"] = f"bytes */{size}"
        headers["Content-Type"] = "text/plain; charset=utf-8"
        return Response(b"invalid range\n", 416, headers)
    if isinstance(parsed, tuple):
        start, end = parsed
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        return FileBody(path, headers, start, end, 206, head)
    headers["Content-Length"] = str(size)
    return FileBody(path, headers, 0, size - 1, 200, head)


def _damaged_body(
    path: Path, headers: dict[str, str], faults: frozenset[str], head: bool
) -> Response:
    """Faults `get-file-truncated` / `get-file-altered`: the whole body, damaged, no ranges."""
    data = path.read_bytes()
    if "get-file-truncated" in faults:
        data = data[:-1]
    if "get-file-altered" in faults and data:
        data = bytes([data[0] ^ 0xFF]) + data[1:]
    headers["Content-Length"] = str(len(data))
    return Response(b"" if head else data, 200, headers)


async def get_file(ctx: Ctx) -> Response:
    info = get_live_file(ctx, ctx.path_id("file_id"))
    if not ctx.state.fault("bola-get-file"):
        require_file_read(ctx, info)
    return write_file_response(ctx, info, ctx.query_flag("download"))


def _faulty_info(ctx: Ctx, info: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """GetFileInfo with the data-integrity and schema faults that are switched on."""
    if ctx.state.fault("info-wrong-size"):
        out["size"] = int(out["size"]) + 1
    if ctx.state.fault("info-leaks-path"):
        out["path"] = info["path"]
    if ctx.state.fault("info-missing-field"):
        out.pop("create_at", None)
    if ctx.state.fault("info-wrong-type"):
        out["update_at"] = str(out["update_at"])
    return out


async def get_file_info(ctx: Ctx) -> Response:
    info = get_live_file(ctx, ctx.path_id("file_id"))
    if ctx.has_session and not ctx.state.fault("bola-get-file-info"):
        require_file_read(ctx, info)
    out = file_info_json(info)
    if ctx.state.settings.faults:
        out = _faulty_info(ctx, info, out)
    body = json_bytes(out) + b"\n"  # json.NewEncoder adds the newline
    return Response(body, 200, {"Cache-Control": INFO_CACHE_CONTROL}, media_type="application/json")


def public_link_hash(file_id: str, salt: str) -> str:
    """`GeneratePublicLinkHash`: unpadded URL-safe base64 of SHA-256(salt || id)."""
    digest = hashlib.sha256(salt.encode() + file_id.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _public_links_on(ctx: Ctx) -> None:
    """403 from 7.3 (PR #20767), 501 before (versions.yaml `disabled-is-403`)."""
    if not ctx.state.config.get("FileSettings", "EnablePublicLink"):
        status = 403 if ctx.state.has_rule("disabled-is-403") else 501
        raise AppError("api.file.get_public_link.disabled.app_error", status)


def _salt(ctx: Ctx) -> str:
    if ctx.state.fault("public-salt-ignored"):
        return ""
    return str(ctx.state.config.get("FileSettings", "PublicLinkSalt"))


async def get_file_link(ctx: Ctx) -> Response:
    file_id = ctx.path_id("file_id")
    if not ctx.state.fault("link-issued-while-disabled"):
        _public_links_on(ctx)
    info = get_live_file(ctx, file_id)
    if not ctx.state.fault("bola-get-file-link"):
        require_file_read(ctx, info)
    unattached = not info["post_id"] and info["creator_id"] != BOOKMARK_OWNER
    if unattached and not ctx.state.fault("link-for-unattached-file"):
        raise AppError("api.file.get_public_link.no_post.app_error", 400)
    link = f"{ctx.site_url()}/files/{file_id}/public?h={public_link_hash(file_id, _salt(ctx))}"
    if ctx.state.fault("link-wrong-shape"):
        return json_response({"url": link})
    return json_response({"link": link})


async def get_public_file(ctx: Ctx) -> Response:
    file_id = ctx.path_id("file_id")
    if not ctx.state.fault("public-served-while-disabled"):
        _public_links_on(ctx)
    info = get_live_file(ctx, file_id, "public-deleted-file-served")
    given = ctx.request.query_params.get("h", "")
    valid = bool(given) and hmac.compare_digest(
        given.encode(), public_link_hash(file_id, _salt(ctx)).encode()
    )
    if not valid and not ctx.state.fault("public-hash-not-checked"):
        raise AppError("api.file.get_file.public_invalid.app_error", 400)
    return write_file_response(ctx, info, False)


ROUTES = [
    Route(
        "/api/v4/files/{file_id:mmid}",
        endpoint(get_file, head="head-api-file"),
        methods=["GET", "HEAD"],
    ),
    Route(
        "/api/v4/files/{file_id:mmid}/info",
        endpoint(get_file_info, no_token_fault="auth-no-token-file-info"),
        methods=["GET"],
    ),
    Route("/api/v4/files/{file_id:mmid}/link", endpoint(get_file_link), methods=["GET"]),
    Route(
        "/files/{file_id:mmid}/public",
        endpoint(get_public_file, session=False, head="head-public-file"),
        methods=["GET", "HEAD"],
    ),
]
