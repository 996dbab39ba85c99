"""TestGetFileHeaders as data: which Content-Type and Content-Disposition each kind of file gets.

The server decides from the stored type, never from the bytes, and downgrades active content
(HTML, JavaScript) to text/plain attachments so a browser never renders or runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmconform.live_target.client import API, curl_line
from mmconform.live_target.media import png
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import World, upload_extra

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
)


def check_headers(world: World, case: HeaderCase) -> None:
    """Upload the case's file as the uploader, fetch it, and compare the headers."""
    stored = upload_extra(world, f"{world.prefix}-{case.filename}", case.content)
    uploader = world.actors["uploader"]
    params = {"download": "true"} if case.download else {}
    path = f"{API}/files/{stored.id}"
    response = world.target.request("GET", path, actor=uploader, params=params)
    got_type = response.headers.get("content-type", "")
    got_disp = response.headers.get("content-disposition", "")
    problems = []
    if response.status_code != 200:
        problems.append(f"status {response.status_code}")
    if not got_type.startswith(case.content_type):
        problems.append(f"Content-Type {got_type!r}, expected {case.content_type}")
    if not got_disp.startswith(case.disposition):
        problems.append(f"Content-Disposition {got_disp!r}, expected {case.disposition}")
    if response.headers.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.status_code == 200 and response.content != case.content:
        problems.append("body differs from the uploaded bytes")
    if problems:
        url = str(response.request.url)
        kept = world.target.keep_exchange(response)  # the exchange, for after the cleanup
        raise ConformanceFailure(
            world.target.redact(
                f"headers[{case.id}] [FILES-GET-002]: "
                + "; ".join(problems)
                + f"\n  actor:    uploader\n  request:  GET {url}\nReproduce with:\n  "
                + curl_line("GET", url, uploader)
                + (f"\n{kept}" if kept else "")
            )
        )
