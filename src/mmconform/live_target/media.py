"""Small, valid media files built in code, so the suite ships no binary fixtures."""

from __future__ import annotations

import base64
import struct
import zlib


def png(width: int = 1, height: int = 1) -> bytes:
    """A valid black RGB PNG; large sizes stay small on the wire (zlib of zero rows)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = (b"\x00" + b"\x00" * (3 * width)) * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def gif(width: int = 1, height: int = 1) -> bytes:
    """A valid one-colour GIF89a of the given size (one LZW-coded frame of zeros)."""
    pixels = width * height
    # LZW with 2-bit minimum code size: clear (4), then code 0 per pixel, restarting the table
    # before it grows past 3-bit codes, then end (5). Codes are 3 bits wide throughout.
    codes: list[int] = [4]
    emitted = 0
    while emitted < pixels:
        run = min(2, pixels - emitted)  # two codes, then clear again: the table never widens
        codes += [0] * run + ([4] if emitted + run < pixels else [])
        emitted += run
    codes.append(5)
    bits = 0
    nbits = 0
    out = bytearray()
    for code in codes:
        bits |= code << nbits
        nbits += 3
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        out.append(bits & 0xFF)
    blocks = b"".join(
        bytes([len(out[i : i + 255])]) + bytes(out[i : i + 255]) for i in range(0, len(out), 255)
    )
    return (
        b"GIF89a"
        + struct.pack("<HH", width, height)
        + b"\x80\x00\x00"  # global colour table of 2 entries
        + b"\x00\x00\x00\xff\xff\xff"
        + b"\x2c"
        + struct.pack("<HHHH", 0, 0, width, height)
        + b"\x00\x02"  # no local table; LZW minimum code size 2
        + blocks
        + b"\x00\x3b"
    )


# A 3 x 2 greyscale baseline JPEG as Go's image/jpeg encodes it (quality 50: SOI, DQT, SOF0, DHT,
# SOS, EOI; no JFIF marker): image.DecodeConfig reads 3 x 2 and image.Decode decodes it, so a
# real server sizes it and renders its previews. Kept as text: the suite ships no binary files.
_JPEG_3X2 = (
    "/9j/2wCEABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxl"
    "Z2MBERISGBUYLxoaL2NCOEJjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY//A"
    "AAsIAAIAAwEBEQD/xADSAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUS"
    "ITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVm"
    "Z2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk"
    "5ebn6Onq8fLz9PX29/j5+v/aAAgBAQAAPwDVsbG0+xRf6LB93/nmK//Z"
)


def jpeg_3x2() -> bytes:
    """A real 3 x 2 JPEG (generated once with Go's image/jpeg, tests/oracle's toolchain)."""
    return base64.b64decode(_JPEG_3X2)
