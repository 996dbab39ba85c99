"""TestGetFileHeaders as data: which Content-Type and Content-Disposition each kind of file gets.

The server decides from the stored type, never from the bytes, and downgrades active content
(HTML, JavaScript) to text/plain attachments so a browser never renders or runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from mmconform.live_target.client import API, ApiError, curl_line
from mmconform.live_target.media import png
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import StoredFile, World, upload_extra, upload_raw

# Every file response, whatever its kind (server/platform/shared/web/files.go setHeaders).
SECURITY_REQ = "FILES-GET-HEADERS-001"
DISPOSITION_REQ = "FILES-GET-HEADERS-002"

_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@dataclass(frozen=True)
class HeaderCase:
    id: str
    filename: str
    content: bytes
    content_type: str
    disposition: str
    download: bool = False
    # Sent as a raw body with ?filename= (no multipart quoting), and the exact Content-Disposition
    # demanded: `kind;filename="<PathEscape>"; filename*=UTF-8''<PathEscape>`.
    exact_name: bool = False


CASES = (
    HeaderCase("png", "image.png", png(), "image/png", "inline"),
    HeaderCase("gif", "anim.gif", _GIF, "image/gif", "inline"),
    HeaderCase("mp4", "clip.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4", "inline"),
    HeaderCase("mp3", "song.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00", "audio/mpeg", "inline"),
    HeaderCase("pdf", "doc.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf", "attachment"),
    HeaderCase("txt", "notes.txt", b"plain text\n", "text/plain", "attachment"),
    HeaderCase("html", "page.html", b"<html><script>1</script></html>", "text/plain", "attachment"),
    HeaderCase("js", "code.js", b"alert(1)\n", "text/plain", "attachment"),
    HeaderCase("zip", "archive.zip", b"PK\x05\x06" + b"\x00" * 18, "application/zip", "attachment"),
    HeaderCase(
        "no-extension",
        "noextension",
        b"<html>not sniffed</html>",
        "application/octet-stream",
        "attachment",
    ),
    HeaderCase("png-download", "download.png", png(), "image/png", "attachment", download=True),
    # issue 12: download=true makes every media kind an attachment (upstream TestGetFileHeaders)
    HeaderCase("gif-download", "download.gif", _GIF, "image/gif", "attachment", download=True),
    HeaderCase(
        "mp4-download",
        "download.mp4",
        b"\x00\x00\x00\x18ftypmp42",
        "video/mp4",
        "attachment",
        download=True,
    ),
    HeaderCase(
        "mp3-download",
        "download.mp3",
        b"ID3\x03\x00\x00\x00\x00\x00\x00",
        "audio/mpeg",
        "attachment",
        download=True,
    ),
    # issue 12: active image content is never inline (image/svg+xml is not in the media list)
    HeaderCase(
        "svg",
        "drawing.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "image/svg+xml",
        "attachment",
    ),
    # issue 12: names a Content-Disposition must escape (spaces, quotes, semicolons, non-ASCII)
    HeaderCase(
        "odd-name-png",
        'sp ace "quo;ted" \u00e9t\u00e9.png',
        png(),
        "image/png",
        "inline",
        exact_name=True,
    ),
    HeaderCase(
        "odd-name-txt",
        "semi;colon, comma & plus+=@ \u65e5\u672c.txt",
        b"odd\n",
        "text/plain",
        "attachment",
        exact_name=True,
    ),
)


def path_escape(name: str) -> str:
    """Go `url.PathEscape` (tests/oracle: /lib/url/pathescape): unreserved and `$&+:=@` kept."""
    return quote(name, safe="$&+:=@")


def security_problems(headers: Mapping[str, str]) -> list[str]:
    """What a file response lacks of setHeaders' X-Frame-Options, CSP and Cache-Control
    (lower-case keys, as httpx.Headers looks them up)."""
    get = headers.get
    problems = []
    if str(get("x-frame-options", "")).upper() != "DENY":
        problems.append(f"X-Frame-Options {get('x-frame-options')!r}, expected DENY")
    csp = str(get("content-security-policy", ""))
    directives = [d.strip().lower() for d in csp.split(";")]
    if "frame-ancestors 'none'" not in directives:
        problems.append(f"Content-Security-Policy {csp!r} lacks frame-ancestors 'none'")
    cache = [d.strip().lower() for d in str(get("cache-control", "")).split(",")]
    if "private" not in cache or "public" in cache:
        problems.append(f"Cache-Control {get('cache-control')!r}, expected private")
    return problems


def check_headers(world: World, case: HeaderCase) -> None:
    """Upload the case's file as the uploader, fetch it, and compare the headers."""
    name = f"{world.prefix}-{case.filename}"
    try:
        stored: StoredFile = (
            upload_raw(world, name, case.content)
            if case.exact_name
            else upload_extra(world, name, case.content)
        )
    except ApiError as exc:  # the file could not be stored: a server error, or a refused upload
        req = "CONTRACT-SERVER-001" if exc.status >= 500 else "FILES-UPLOAD-001"
        raise ConformanceFailure(
            world.target.redact(f"headers[{case.id}] [{req}]: uploading {name!r}: {exc.reason}")
        ) from None
    uploader = world.actors["uploader"]
    params = {"download": "true"} if case.download else {}
    path = f"{API}/files/{stored.id}"
    response = world.target.request("GET", path, actor=uploader, params=params)
    got_type = response.headers.get("content-type", "")
    got_disp = response.headers.get("content-disposition", "")
    problems: list[tuple[str, str]] = []  # (requirement, what is wrong)
    if response.status_code != 200:
        problems.append(("FILES-GET-002", f"status {response.status_code}"))
    else:
        problems += [(SECURITY_REQ, p) for p in security_problems(response.headers)]
    if response.status_code == 200 and case.exact_name:
        esc = path_escape(name)
        wanted = f"{case.disposition};filename=\"{esc}\"; filename*=UTF-8''{esc}"
        if got_disp != wanted:
            problems.append(
                (DISPOSITION_REQ, f"Content-Disposition {got_disp!r}, expected {wanted!r}")
            )
    if not got_type.startswith(case.content_type):
        problems.append(
            ("FILES-GET-002", f"Content-Type {got_type!r}, expected {case.content_type}")
        )
    if not got_disp.startswith(case.disposition):
        problems.append(
            ("FILES-GET-002", f"Content-Disposition {got_disp!r}, expected {case.disposition}")
        )
    if response.headers.get("x-content-type-options") != "nosniff":
        problems.append(("FILES-GET-002", "no X-Content-Type-Options: nosniff"))
    if response.status_code == 200 and response.content != case.content:
        problems.append(("FILES-GET-002", "body differs from the uploaded bytes"))
    if problems:
        url = str(response.request.url)
        kept = world.target.keep_exchange(response)  # the exchange, for after the cleanup
        ids = " ".join(f"[{req}]" for req in sorted({req for req, _ in problems}))
        raise ConformanceFailure(
            world.target.redact(
                f"headers[{case.id}] {ids}: "
                + "; ".join(what for _, what in problems)
                + f"\n  actor:    uploader\n  request:  GET {url}\nReproduce with:\n  "
                + curl_line("GET", url, uploader)
                + (f"\n{kept}" if kept else "")
            )
        )
