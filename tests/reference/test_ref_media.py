"""Mime types (Go `mime.TypeByExtension` semantics) and header-only image sizes."""

from __future__ import annotations

import io
import struct

import pytest

from mmconform.reference.media import extension_of, image_size, mime_for


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("a.png", "image/png"),
        ("a.JPG", "image/jpeg"),
        ("a.txt", "text/plain; charset=utf-8"),
        ("a.html", "text/html; charset=utf-8"),
        ("a.js", "text/javascript; charset=utf-8"),
        ("a.json", "application/json"),
        ("a.tar.gz", "application/gzip"),
        ("a.mp3", "audio/mpeg"),
        ("a.zip", "application/zip"),
        ("a.pdf", "application/pdf"),
        ("noext", ""),
        ("a.unknownext", ""),
    ],
)
def test_mime_for_matches_go(name: str, mime: str) -> None:
    assert mime_for(name) == mime


def test_extension_is_last_suffix_lower_case() -> None:
    assert extension_of("A.TAR.GZ") == "gz" and extension_of("README") == ""


def _jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, height, width) + b"\x03" + b"\x00" * 9
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def _gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 10


def _webp_vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    body = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + struct.pack("<I", bits)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


@pytest.mark.parametrize(
    ("data", "ext", "size"),
    [
        (_jpeg(640, 480), "jpg", (640, 480)),
        (_gif(118, 118), "gif", (118, 118)),
        (_webp_vp8l(300, 200), "webp", (300, 200)),
        (b"not an image at all", "png", None),
        (b"\xff\xd8\xff", "jpg", None),
    ],
)
def test_image_size_from_headers(data: bytes, ext: str, size: tuple[int, int] | None) -> None:
    assert image_size(io.BytesIO(data), ext) == size
