"""Byte-range requests on GetFile and what a 206 must carry (FILES-GET-RANGE-001).

`web.WriteFileResponse` hands the bytes to `http.ServeContent`, so ranges are Go's: one range →
206 with `Content-Range: bytes a-b/size` and exactly those bytes; several → 206
`multipart/byteranges`, one part per range with its own Content-Range (docs/facts/http-layer.md,
established against the Go oracle). The world's files are over 100 bytes, so both ranges below
are satisfiable and sum to less than the file (ServeContent would send it whole otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

RANGES = {"range": "bytes=2-9", "multi_range": "bytes=0-3,10-14"}
_SPANS = {"range": [(2, 9)], "multi_range": [(0, 3), (10, 14)]}
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')


def range_problems(variant: str, headers: Mapping[str, str], body: bytes, content: bytes) -> str:
    """What is wrong with a GetFile answer to RANGES[variant] ('' when it is right)."""
    spans = _SPANS[variant]
    size = len(content)
    ctype = headers.get("content-type", "")
    if len(spans) == 1:
        a, b = spans[0]
        want = f"bytes {a}-{b}/{size}"
        if headers.get("content-range") != want:
            return f"Content-Range {headers.get('content-range')!r}, expected {want!r}"
        return "" if body == content[a : b + 1] else f"body is not bytes {a}-{b} of the file"
    match = _BOUNDARY.search(ctype)
    if not ctype.startswith("multipart/byteranges") or match is None:
        return f"Content-Type {ctype!r}, expected multipart/byteranges; boundary=…"
    delimiter = b"--" + match.group(1).encode()
    chunks = body.split(delimiter)
    parts = [c for c in chunks[1:] if not c.startswith(b"--")]
    if len(parts) != len(spans):
        return f"{len(parts)} parts, expected {len(spans)}"
    for part, (a, b) in zip(parts, spans, strict=True):
        head, _, data = part.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        line = f"content-range: bytes {a}-{b}/{size}"
        if line.encode() not in head.lower():
            return f"a part lacks {line!r}"
        if data != content[a : b + 1]:
            return f"the part for bytes {a}-{b} carries other bytes"
    return ""
