"""File kinds and names (issue 12, helper shapes): what the server stores and serves per kind.

Each case uploads one file as the uploader, reads its FileInfo back (GET /files/{id}/info: what
the store kept, not only what the upload answered) and the file itself, and compares:

- the stored `name`: `UploadFileX` takes `filepath.Base(name)` (app/file.go), and multipart's
  `Part.FileName()` does too, so a directory part (`dir/x.txt`) is dropped in both modes while a
  backslash is an ordinary character on the Linux servers Mattermost ships for;
- `extension` (`filepath.Ext`, lower-case, no dot), `mime_type` (`mime.TypeByExtension`),
  `width`/`height` (`DecodeConfig`) and `has_preview_image` (true once an image decodes;
  `model.NewInfo`, `UploadFileTask.preprocessImage`);
- a zero-byte multipart file is stored (nothing in UploadFileX refuses size 0);
- GetFile: Content-Type, inline vs attachment (setHeaders' media list), nosniff.

XHTML's `mime_type` comes from the host's mime.types (Go's built-in table has no `.xhtml`), so
both answers a real server gives are accepted there; either way it is no inline media type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmconform.live_target.client import API, ApiError, curl_line
from mmconform.live_target.media import jpeg_3x2, png
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import StoredFile, World, upload_extra, upload_raw

KIND_REQ = "FILES-KIND-001"
NAME_REQ = "FILES-KIND-002"
EMPTY_REQ = "FILES-KIND-003"
ACTIVE_REQ = "FILES-KIND-004"


@dataclass(frozen=True)
class KindCase:
    id: str
    sent: str  # the name as sent; `{p}` is the run prefix
    stored: str  # the name the FileInfo must carry
    content: bytes
    extension: str
    mime_types: tuple[str, ...]  # any of these (XHTML: the host's mime.types decides)
    width: int = 0
    height: int = 0
    preview: bool = False
    disposition: str = "attachment"
    content_types: tuple[str, ...] = ()  # GetFile's Content-Type (prefix), any of these
    raw: bool = False  # sent as a raw body (?filename=), so the name arrives byte for byte
    requirement: str = KIND_REQ


_TEXT = "text/plain; charset=utf-8"
CASES = (
    KindCase(
        "jpeg",
        "{p}-photo.JPG",
        "{p}-photo.JPG",
        jpeg_3x2(),
        "jpg",
        ("image/jpeg",),
        width=3,
        height=2,
        preview=True,
        disposition="inline",
        content_types=("image/jpeg",),
    ),
    KindCase(
        "png",
        "{p}-pic.png",
        "{p}-pic.png",
        png(4, 3),
        "png",
        ("image/png",),
        width=4,
        height=3,
        preview=True,
        disposition="inline",
        content_types=("image/png",),
    ),
    KindCase(
        "xhtml",
        "{p}-page.xhtml",
        "{p}-page.xhtml",
        b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
        "xhtml",
        ("application/xhtml+xml", ""),
        content_types=("application/xhtml+xml", "application/octet-stream"),
        requirement=ACTIVE_REQ,
    ),
    KindCase(
        "zero-bytes",
        "{p}-empty.txt",
        "{p}-empty.txt",
        b"",
        "txt",
        (_TEXT,),
        content_types=("text/plain",),
        requirement=EMPTY_REQ,
    ),
    KindCase(
        "no-extension",
        "{p}-README",
        "{p}-README",
        b"no extension\n",
        "",
        ("",),
        content_types=("application/octet-stream",),
    ),
    KindCase(
        "directory-part",
        "dir/sub/{p}-inner.txt",
        "{p}-inner.txt",
        b"inner\n",
        "txt",
        (_TEXT,),
        content_types=("text/plain",),
        requirement=NAME_REQ,
    ),
    KindCase(
        "directory-part-raw",
        "../../{p}-up.txt",
        "{p}-up.txt",
        b"up\n",
        "txt",
        (_TEXT,),
        content_types=("text/plain",),
        raw=True,
        requirement=NAME_REQ,
    ),
    KindCase(
        "backslash-raw",
        "..\\{p}-back.txt",
        "..\\{p}-back.txt",
        b"back\n",
        "txt",
        (_TEXT,),
        content_types=("text/plain",),
        raw=True,
        requirement=NAME_REQ,
    ),
)


def _info_problems(case: KindCase, info: Any, stored_name: str, size: int) -> list[str]:
    if not isinstance(info, dict):
        return ["FileInfo is not a JSON object"]
    problems = []
    if info.get("name") != stored_name:
        problems.append(f"name {info.get('name')!r}, expected {stored_name!r}")
    if info.get("extension") != case.extension:
        problems.append(f"extension {info.get('extension')!r}, expected {case.extension!r}")
    if info.get("mime_type", "") not in case.mime_types:
        problems.append(f"mime_type {info.get('mime_type')!r}, expected one of {case.mime_types}")
    if info.get("size") != size:
        problems.append(f"size {info.get('size')!r}, expected {size}")
    dims = (info.get("width", 0), info.get("height", 0))
    if dims != (case.width, case.height):
        problems.append(f"width x height {dims}, expected {(case.width, case.height)}")
    if bool(info.get("has_preview_image", False)) != case.preview:
        problems.append(
            f"has_preview_image {info.get('has_preview_image')!r}, expected {case.preview}"
        )
    return problems


def check_kind(world: World, case: KindCase) -> None:
    """Upload the case's file as the uploader; check its FileInfo, then GetFile's headers."""
    sent = case.sent.format(p=world.prefix)
    stored_name = case.stored.format(p=world.prefix)
    req = case.requirement
    try:
        upload = upload_raw if case.raw else upload_extra
        stored: StoredFile = upload(world, sent, case.content)
    except ApiError as exc:  # a server error, or a refused upload of an ordinary file
        owner = "CONTRACT-SERVER-001" if exc.status >= 500 else req
        raise ConformanceFailure(
            world.target.redact(f"kinds[{case.id}] [{owner}]: uploading {sent!r}: {exc.reason}")
        ) from None
    uploader = world.actors["uploader"]
    target = world.target
    problems: list[str] = []
    info_response = target.request("GET", f"{API}/files/{stored.id}/info", actor=uploader)
    if info_response.status_code != 200:
        problems.append(f"GetFileInfo answered {info_response.status_code}")
    else:
        problems += _info_problems(case, info_response.json(), stored_name, len(case.content))
    path = f"{API}/files/{stored.id}"
    response = target.request("GET", path, actor=uploader)
    got_type = response.headers.get("content-type", "")
    got_disp = response.headers.get("content-disposition", "")
    if response.status_code != 200:
        problems.append(f"GetFile answered {response.status_code}")
    elif response.content != case.content:
        problems.append("GetFile body differs from the uploaded bytes")
    if not got_type.startswith(case.content_types):
        problems.append(f"Content-Type {got_type!r}, expected one of {case.content_types}")
    if not got_disp.startswith(case.disposition + ";"):
        problems.append(f"Content-Disposition {got_disp!r}, expected {case.disposition}")
    if response.headers.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if problems:
        url = str(response.request.url)
        kept = target.keep_exchange(response)
        raise ConformanceFailure(
            target.redact(
                f"kinds[{case.id}] [{req}]: "
                + "; ".join(problems)
                + f"\n  actor:    uploader\n  request:  GET {url}\nReproduce with:\n  "
                + curl_line("GET", url, uploader)
                + (f"\n{kept}" if kept else "")
            )
        )
