"""Mime types and image sizes, computed the cheap way upstream does.

Mime type: `mime.TypeByExtension` in Go consults its built-in table first, then the system's
mime.types, and appends `; charset=utf-8` to every `text/*` type. Python's table (without reading
system files, for determinism) plus Go's built-ins and a few common additions reproduce that.
Image width/height come from the file header only (PNG IHDR, GIF screen, JPEG SOFn, WebP VP8*).
"""

from __future__ import annotations

import mimetypes
import struct
from pathlib import PurePosixPath
from typing import BinaryIO

_PY = mimetypes.MimeTypes(filenames=())

# Go's builtinTypesLower plus entries of common mime.types files that Python lacks or differs on.
_GO_OVERRIDES: dict[str, str] = {
    ".avif": "image/avif",
    ".css": "text/css; charset=utf-8",
    ".gif": "image/gif",
    ".htm": "text/html; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".mjs": "text/javascript; charset=utf-8",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".webp": "image/webp",
    ".xml": "text/xml; charset=utf-8",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".md": "text/markdown; charset=utf-8",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".avi": "video/x-msvideo",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".zip": "application/zip",
    ".mp4": "video/mp4",
}

IMAGE_TYPES = frozenset({"png", "gif", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"})


def extension_of(name: str) -> str:
    """`filepath.Ext` lower-cased without the dot ("a.tar.gz" → "gz")."""
    suffix = PurePosixPath(name).suffix
    return suffix[1:].lower() if suffix else ""


def mime_for(name: str) -> str:
    ext = PurePosixPath(name).suffix.lower()
    if not ext:
        return ""
    if ext in _GO_OVERRIDES:
        return _GO_OVERRIDES[ext]
    guessed = _PY.types_map[1].get(ext) or _PY.types_map[0].get(ext)
    if guessed is None:
        return ""
    if guessed.startswith("text/") and "charset" not in guessed:
        guessed += "; charset=utf-8"
    return guessed


def image_size(fh: BinaryIO, extension: str) -> tuple[int, int] | None:
    """(width, height) from the header of a png/gif/jpeg/webp, or None if not decodable."""
    head = fh.read(64)
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            w, h = struct.unpack(">II", head[16:24])
            return int(w), int(h)
        if head[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", head[6:10])
            return int(w), int(h)
        if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
            return _webp_size(head)
        if head.startswith(b"\xff\xd8"):
            fh.seek(2)
            return _jpeg_size(fh)
    except (struct.error, ValueError):
        return None
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        b = head[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h
    if chunk == b"VP8X":
        w = 1 + int.from_bytes(head[24:27], "little")
        h = 1 + int.from_bytes(head[27:30], "little")
        return w, h
    return None


_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg_size(fh: BinaryIO) -> tuple[int, int] | None:
    for _ in range(512):  # bounded: a hostile file cannot make us walk forever
        marker = fh.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        code = marker[1]
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            continue
        length_raw = fh.read(2)
        if len(length_raw) < 2:
            return None
        (length,) = struct.unpack(">H", length_raw)
        if code in _SOF:
            data = fh.read(5)
            h, w = struct.unpack(">HH", data[1:5])
            return int(w), int(h)
        fh.seek(length - 2, 1)
    return None
