"""Small, valid media files built in code, so the suite ships no binary fixtures."""

from __future__ import annotations

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
