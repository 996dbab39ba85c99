"""Go's `mime.ParseMediaType`, `url.ParseQuery` and `filepath.Base`, as the real server meets them.

The upload handler (`api4/file.go`) decides everything from these three library calls: the mode
from the Content-Type, whether a part is a file from `Part.FileName()` (Content-Disposition through
`ParseMediaType`, RFC 2231 `filename*` included), and a 400 from `r.ParseForm()` when the query or
a urlencoded body has a bad escape. Python's parsers are more forgiving in each place, so these are
small ports of the Go semantics; tests/oracle/test_diff_upload.py checks them against Go itself.
"""

from __future__ import annotations

from mmconform.reference.filestore import base_name

_TSPECIALS = frozenset('()<>@,;:\\"/[]?=')


class MediaTypeError(ValueError):
    """`mime.ParseMediaType` returned an error."""


class QueryError(ValueError):
    """`url.ParseQuery` returned an error (the first one, as Go does)."""


def _is_token_char(ch: str) -> bool:
    return " " < ch < "\x7f" and ch not in _TSPECIALS


def _consume_token(v: str) -> tuple[str, str]:
    i = 0
    while i < len(v) and _is_token_char(v[i]):
        i += 1
    return v[:i], v[i:]


def _consume_value(v: str) -> tuple[str, str]:
    if not v:
        return "", v
    if v[0] != '"':
        return _consume_token(v)
    out: list[str] = []
    i = 1
    while i < len(v):
        ch = v[i]
        if ch == '"':
            return "".join(out), v[i + 1 :]
        # Go keeps an unnecessary backslash escape literally (MSIE full paths).
        if ch == "\\" and i + 1 < len(v) and v[i + 1] in _TSPECIALS:
            out.append(v[i + 1])
            i += 2
            continue
        if ch in "\r\n":
            return "", v
        out.append(ch)
        i += 1
    return "", v


def _consume_param(v: str) -> tuple[str, str, str]:
    rest = v.lstrip()
    if not rest.startswith(";"):
        return "", "", v
    rest = rest[1:].lstrip()
    name, rest = _consume_token(rest)
    name = name.lower()
    if not name:
        return "", "", v
    rest = rest.lstrip()
    if not rest.startswith("="):
        return "", "", v
    rest = rest[1:].lstrip()
    value, rest2 = _consume_value(rest)
    if value == "" and rest2 == rest:
        return "", "", v
    return name, value, rest2


def _percent_unescape(s: str) -> str:
    raw = s.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25:
            hexpart = raw[i + 1 : i + 3]
            if len(hexpart) < 2 or not all(c in b"0123456789abcdefABCDEF" for c in hexpart):
                raise MediaTypeError("mime: bogus characters after %")
            out.append(int(hexpart, 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")


def _decode_2231(v: str) -> str | None:
    pieces = v.split("'", 2)
    if len(pieces) != 3 or pieces[0].lower() not in ("us-ascii", "utf-8"):
        return None
    try:
        return _percent_unescape(pieces[2])
    except MediaTypeError:
        return None


def _check_media_type(mediatype: str) -> None:
    token, rest = _consume_token(mediatype)
    if not token:
        raise MediaTypeError("mime: no media type")
    if not rest:
        return
    if not rest.startswith("/"):
        raise MediaTypeError("mime: expected slash after first token")
    sub, rest = _consume_token(rest[1:])
    if not sub:
        raise MediaTypeError("mime: expected token after slash")
    if rest:
        raise MediaTypeError("mime: unexpected content after media subtype")


def parse_media_type(v: str) -> tuple[str, dict[str, str]]:
    """(lower-cased media type, parameters) like Go, or MediaTypeError where Go errs."""
    base = v.split(";", 1)[0]
    mediatype = base.strip().lower()
    _check_media_type(mediatype)
    params: dict[str, str] = {}
    continuation: dict[str, dict[str, str]] = {}
    v = v[len(base) :]
    while v:
        v = v.lstrip()
        if not v:
            break
        key, value, rest = _consume_param(v)
        if not key:
            if rest.strip() == ";":
                break  # a trailing semicolon is not an error
            raise MediaTypeError("mime: invalid media parameter")
        pmap = params
        if "*" in key:
            pmap = continuation.setdefault(key.split("*", 1)[0], {})
        # Equal duplicates are accepted since Go 1.20+ (golang/go#48866; Go 1.19 refuses them);
        # production Mattermost is built with Go >= 1.22, so the newer rule is the real one.
        if key in pmap and pmap[key] != value:
            raise MediaTypeError("mime: duplicate parameter name")
        pmap[key] = value
        v = rest
    for key, pieces in continuation.items():
        single = pieces.get(key + "*")
        if single is not None:
            decoded = _decode_2231(single)
            if decoded is not None:
                params[key] = decoded
            continue
        buf: list[str] = []
        valid = False
        n = 0
        while True:
            simple = f"{key}*{n}"
            if simple in pieces:
                valid = True
                buf.append(pieces[simple])
            elif simple + "*" in pieces:
                valid = True
                encoded = pieces[simple + "*"]
                if n == 0:
                    buf.append(_decode_2231(encoded) or "")
                else:
                    try:
                        buf.append(_percent_unescape(encoded))
                    except MediaTypeError:
                        buf.append("")
            else:
                break
            n += 1
        if valid:
            params[key] = "".join(buf)
    return mediatype, params


def part_names(disposition: str) -> tuple[str, str]:
    """(`Part.FormName()`, `Part.FileName()`) for a Content-Disposition header value.

    A header that does not parse, or whose type is not form-data, has no form name, so the
    upload handler skips the part (`if formname == "" { continue }`).
    """
    try:
        kind, params = parse_media_type(disposition)
    except MediaTypeError:
        kind, params = "", {}
    form_name = params.get("name", "") if kind == "form-data" else ""
    filename = params.get("filename", "")
    return form_name, base_name(filename) if filename else ""


def _query_unescape(s: str) -> str:
    raw = s.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x25:
            hexpart = raw[i + 1 : i + 3]
            if len(hexpart) < 2 or not all(h in b"0123456789abcdefABCDEF" for h in hexpart):
                bad = raw[i : i + 3].decode("utf-8", "replace")
                raise QueryError(f'invalid URL escape "{bad}"')
            out.append(int(hexpart, 16))
            i += 3
            continue
        out.append(0x20 if c == 0x2B else c)
        i += 1
    return out.decode("utf-8", "replace")


def parse_query(query: str) -> dict[str, list[str]]:
    """`url.ParseQuery`: QueryError on a bad escape or a `;` (Go >= 1.17), like Go."""
    values: dict[str, list[str]] = {}
    first: QueryError | None = None
    for pair in query.split("&"):
        if ";" in pair:
            first = first or QueryError("invalid semicolon separator in query")
            continue
        if not pair:
            continue
        key, _, value = pair.partition("=")
        try:
            key, value = _query_unescape(key), _query_unescape(value)
        except QueryError as exc:
            first = first or exc
            continue
        values.setdefault(key, []).append(value)
    if first is not None:
        raise first
    return values
