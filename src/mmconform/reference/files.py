"""GET /files/{id}, /files/{id}/info, /files/{id}/link and the public route /files/{id}/public.

Headers follow `server/platform/shared/web/files.go` (178f763e): `Cache-Control: private,
max-age=86400`, nosniff, html/js types rewritten to `text/plain`, `inline` only for the media
list and not with `download=true`, RFC 5987 `filename*=UTF-8''` with Go `url.PathEscape`
semantics, X-Frame-Options DENY, CSP `Frame-ancestors 'none'`. Bytes go out like
`http.ServeContent` (Last-Modified = update_at, no ETag): its preconditions (If-Match,
If-Unmodified-Since → 412; If-None-Match, If-Modified-Since → 304; If-Range) and ranges (one →
206, several → 206 multipart/byteranges, unsatisfiable → 416), checked against Go itself by
tests/oracle/test_diff_http.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
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
    if "svg-served-inline" in faults and mime.lower().startswith("image/svg"):
        inline = not force_download  # a fork treating every image/* as media
    if "xhtml-served-inline" in faults and str(info["name"]).lower().endswith(".xhtml"):
        # A fork typing .xhtml as application/xhtml+xml and listing it among the media types.
        mime, inline = "application/xhtml+xml", not force_download
    if "disposition-always-inline" in faults or (active_ok and mime.startswith("text/html")):
        inline = True
    esc = path_escape(str(info["name"]))
    name = str(info["name"])
    if "disposition-name-unescaped" in faults and name.isprintable():
        # A fork quoting the raw name (raw UTF-8 bytes, as Go writes them); names with control
        # bytes stay escaped, so the fault breaks the parameter, not the HTTP framing.
        esc = name.encode().decode("latin-1")
    kind = "inline" if inline else "attachment"
    framing = "file-frame-headers-missing" not in faults
    return {
        "Cache-Control": (
            "public, max-age=86400" if "file-cache-public" in faults else "private, max-age=86400"
        ),
        "X-Content-Type-Options": "" if "file-nosniff-missing" in faults else "nosniff",
        "Content-Type": mime,
        "Content-Disposition": f"{kind};filename=\"{esc}\"; filename*=UTF-8''{esc}",
        **(
            {"X-Frame-Options": "DENY", "Content-Security-Policy": "Frame-ancestors 'none'"}
            if framing
            else {}
        ),
    }


class RangeError(ValueError):
    """`parseRange`'s error; `no_overlap` is errNoOverlap ("invalid range: failed to overlap")."""

    def __init__(self, no_overlap: bool = False) -> None:
        super().__init__("invalid range: failed to overlap" if no_overlap else "invalid range")
        self.no_overlap = no_overlap


def _go_int(text: str) -> int:
    """`strconv.ParseInt(s, 10, 64)` for a range bound: optional sign, ASCII digits only."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        raise RangeError
    return int(text)


def parse_range(header: str, size: int) -> list[tuple[int, int]]:
    """`net/http parseRange`: (start, length) pairs; [] when there is no header."""
    if not header:
        return []
    if not header.startswith("bytes="):
        raise RangeError
    ranges: list[tuple[int, int]] = []
    no_overlap = False
    for spec in header[6:].split(","):
        spec = spec.strip(" \t")
        if not spec:
            continue
        first, sep, last = spec.partition("-")
        if not sep:
            raise RangeError
        first, last = first.strip(" \t"), last.strip(" \t")
        if first == "":
            if last == "" or last.startswith("-"):
                raise RangeError
            n = _go_int(last)
            if n < 0:
                raise RangeError
            n = min(n, size)
            ranges.append((size - n, n))
            continue
        start = _go_int(first)
        if start < 0:
            raise RangeError
        if start >= size:
            no_overlap = True
            continue
        if last == "":
            ranges.append((start, size - start))
            continue
        end = _go_int(last)
        if start > end:
            raise RangeError
        end = min(end, size - 1)
        ranges.append((start, end - start + 1))
    if no_overlap and not ranges:
        raise RangeError(no_overlap=True)
    return ranges


def _http_date(text: str) -> int | None:
    """`http.ParseTime`: the three HTTP date formats, as Unix seconds; None when unparsable."""
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return int(parsed.timestamp())


def _etags(header: str) -> list[str]:
    """The entity tags of an If-Match / If-None-Match list (`scanETag`), "*" kept as is."""
    return [part.strip() for part in header.split(",") if part.strip()]


def preconditions(method: str, headers: Any, mtime: int) -> tuple[int | None, str]:
    """`checkPreconditions` for a response without an ETag (web/files.go sets none):
    (304 or 412 or None, the Range header still in force)."""
    if_match = headers.get("if-match")
    if if_match:
        if "*" not in _etags(if_match):  # no ETag, so no tag can match
            return 412, ""
    else:
        ius = headers.get("if-unmodified-since")
        when = _http_date(ius) if ius else None
        if when is not None and mtime > when:
            return 412, ""
    inm = headers.get("if-none-match")
    if inm:
        if "*" in _etags(inm):
            return (304 if method in ("GET", "HEAD") else 412), ""
    elif method in ("GET", "HEAD"):
        ims = headers.get("if-modified-since")
        when = _http_date(ims) if ims else None
        if when is not None and mtime <= when:
            return 304, ""
    range_header = headers.get("range") or ""
    if_range = headers.get("if-range")
    if range_header and if_range and method in ("GET", "HEAD"):
        when = None if if_range.lstrip().startswith(("W/", '"')) else _http_date(if_range)
        if when != mtime:  # an entity tag never matches without an ETag
            range_header = ""
    return None, range_header


class FileBody(Response):
    """Streams stored byte ranges with ServeContent semantics, without reading the whole file.

    `parts` are (start, length, part_header): one part without a header for 200 and single-range
    206, several with their MIME part headers for `multipart/byteranges`."""

    def __init__(
        self,
        path: Path,
        headers: dict[str, str],
        parts: list[tuple[int, int, bytes]],
        status: int,
        head: bool,
        trailer: bytes = b"",
    ) -> None:
        super().__init__(None, status, headers)
        self.path = path
        self.parts = parts
        self.trailer = trailer
        self.head = head

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if self.head or self.status_code == 304:
            await send({"type": "http.response.body", "body": b""})
            return
        with self.path.open("rb") as fh:
            for start, length, part_header in self.parts:
                if part_header:
                    await send(
                        {"type": "http.response.body", "body": part_header, "more_body": True}
                    )
                fh.seek(start)
                remaining = length
                while remaining > 0:
                    data = fh.read(min(CHUNK, remaining))
                    if not data:
                        break
                    remaining -= len(data)
                    await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": self.trailer})


def _multipart(
    ranges: list[tuple[int, int]], ctype: str, size: int
) -> tuple[str, list[tuple[int, int, bytes]], bytes]:
    """`multipart.Writer` as ServeContent drives it: boundary, parts with their headers, end."""
    boundary = secrets.token_hex(30)
    parts = []
    for index, (start, length) in enumerate(ranges):
        lead = b"" if index == 0 else b"\r\n"
        head = (
            f"--{boundary}\r\nContent-Range: bytes {start}-{start + length - 1}/{size}\r\n"
            f"Content-Type: {ctype}\r\n\r\n"
        )
        parts.append((start, length, lead + head.encode()))
    return boundary, parts, f"\r\n--{boundary}--\r\n".encode()


def write_file_response(ctx: Ctx, info: dict[str, Any], force_download: bool) -> Response:
    """`web.WriteFileResponse`: the file headers, then `http.ServeContent` (as built with
    Go >= 1.23 in module mode: its error answers drop Cache-Control and Last-Modified and get
    their own Content-Length; see docs/facts/http-layer.md)."""
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
    method = ctx.request.method
    head = method == "HEAD"
    status, range_header = preconditions(method, ctx.request.headers, mtime)
    if faults and "range-ignored" in faults:  # io.Copy of the whole file, no ServeContent
        range_header = ""
    if ctx.state.fault("conditional-requests-ignored"):
        status, range_header = None, ctx.request.headers.get("range") or ""
    if status == 304:  # writeNotModified: no Content-Type, no Content-Length
        headers.pop("Content-Type", None)
        return FileBody(path, headers, [], 304, head)
    if status == 412:
        # Go answers with the Content-Length set for the file and no body; uvicorn cannot send
        # a short body, so the reference declares none (docs/facts/http-layer.md, D19).
        return Response(b"", 412, headers)
    try:
        ranges = parse_range(range_header, size)
    except RangeError as err:
        if err.no_overlap and size == 0:
            ranges = []
        else:
            for key in ("Cache-Control", "Last-Modified"):  # serveError (Go >= 1.23)
                headers.pop(key, None)
            if err.no_overlap:
                headers["Content-Range"] = f"bytes */{size}"
            headers["Content-Type"] = "text/plain; charset=utf-8"
            return Response(f"{err}\n".encode(), 416, headers)
    if sum(length for _, length in ranges) > size:
        ranges = []  # "probably an attack, or a dumb client": the whole file
    headers["Accept-Ranges"] = "bytes"
    if len(ranges) == 1:
        start, length = ranges[0]
        headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
        headers["Content-Length"] = str(length)
        return FileBody(path, headers, [(start, length, b"")], 206, head)
    if len(ranges) > 1:
        boundary, parts, trailer = _multipart(ranges, headers["Content-Type"], size)
        headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
        total = sum(len(h) + length for _, length, h in parts) + len(trailer)
        headers["Content-Length"] = str(total)
        return FileBody(path, headers, parts, 206, head, trailer)
    headers["Content-Length"] = str(size)
    return FileBody(path, headers, [(0, size, b"")], 200, head)


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
    # range-skips-permission: a fork's streaming fast path for Range requests with no read check.
    ranged_fast_path = ctx.state.fault("range-skips-permission") and "range" in ctx.request.headers
    # head-file-skips-permission: a fork answering HEAD from the file info alone.
    head_fast_path = ctx.request.method == "HEAD" and ctx.state.fault("head-file-skips-permission")
    if not ctx.state.fault("bola-get-file") and not ranged_fast_path and not head_fast_path:
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
    digest = public_link_hash(file_id, _salt(ctx))
    if ctx.state.fault("public-hash-any-file"):
        ctx.state.issued_link_hashes.add(digest)
    link = f"{ctx.site_url()}/files/{file_id}/public?h={digest}"
    if ctx.state.fault("link-wrong-shape"):
        return json_response({"url": link})
    return json_response({"link": link})


def _hash_matches(ctx: Ctx, file_id: str, given: str) -> bool:
    """`subtle.ConstantTimeCompare(h, GeneratePublicLinkHash(id, salt))`, or a fault's sloppy
    compare (issue 12): case-folded, prefix, or any hash this server has issued."""
    expected = public_link_hash(file_id, _salt(ctx))
    if not given:
        return False
    if ctx.state.fault("public-hash-case-insensitive"):
        return given.lower() == expected.lower()
    if ctx.state.fault("public-hash-prefix"):
        return expected.startswith(given)
    if ctx.state.fault("public-hash-any-file") and given in ctx.state.issued_link_hashes:
        return True
    return hmac.compare_digest(given.encode(), expected.encode())


async def get_public_file(ctx: Ctx) -> Response:
    file_id = ctx.path_id("file_id")
    head = ctx.request.method == "HEAD"
    disabled_ignored = ctx.state.fault("public-served-while-disabled") or (
        head and ctx.state.fault("public-head-served-while-disabled")
    )
    if not disabled_ignored:
        _public_links_on(ctx)
    info = get_live_file(ctx, file_id, "public-deleted-file-served")
    given = ctx.request.query_params.get("h", "")
    valid = _hash_matches(ctx, file_id, given)
    unchecked = ctx.state.fault("public-hash-not-checked") or (
        head and ctx.state.fault("public-head-hash-unchecked")
    )
    if not valid and not unchecked:
        err = AppError("api.file.get_file.public_invalid.app_error", 400)
        err.prerendered = True  # getPublicFile renders the page, then handleContextError again
        raise err
    return write_file_response(ctx, info, False)


ROUTES = [
    Route(
        "/api/v4/files/{file_id:mmid}",
        endpoint(get_file, head="head-api-file", trust_requester=True),
        methods=["GET", "HEAD"],
    ),
    Route(
        "/api/v4/files/{file_id:mmid}/info",
        endpoint(
            get_file_info,
            head_fault="head-file-info-routed",
            no_token_fault="auth-no-token-file-info",
        ),
        methods=["GET"],
    ),
    Route("/api/v4/files/{file_id:mmid}/link", endpoint(get_file_link), methods=["GET"]),
    Route(
        "/files/{file_id:mmid}/public",
        endpoint(get_public_file, session=False, head="head-public-file"),
        methods=["GET", "HEAD"],
    ),
]
