"""Differential: POST /api/v4/files on the reference server versus Go's libraries (tests/oracle).

Each case is one request, sent byte for byte to the oracle's /lib/upload (which runs the library
calls of upstream's `api4/file.go uploadFileStream` / `uploadFileSimple` / `uploadFileMultipart` /
`uploadFileMultipartLegacy` and derives the handler's status from what they return) and to the
reference server as a channel member. The two must agree on the status, the error id and, on 201,
the stored file names and sizes and the client ids. The licence cases compare the reference's
decoder with `base64.StdEncoding.Decode` as `utils/license.go ValidateLicense` calls it.
"""

from __future__ import annotations

import base64
import http.client
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mmconform.reference import RunningServer, gomime, licensing, running_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from ref_support import World, build_world

BOUNDARY = "OrAcLeB0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
CHANNEL = "{channel}"  # replaced by the world's public channel id


def parts(*items: tuple[str, bytes]) -> bytes:
    """Parts given as (Content-Disposition value, data), in order, with exact headers."""
    out = b""
    for disposition, data in items:
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def field_part(name: str, value: bytes | str) -> tuple[str, bytes]:
    return f'form-data; name="{name}"', value.encode() if isinstance(value, str) else value


def file_part(filename: str, data: bytes, name: str = "files") -> tuple[str, bytes]:
    return f'form-data; name="{name}"; filename="{filename}"', data


@dataclass
class Case:
    name: str
    body: bytes | None
    query: str = ""
    content_type: str | None = MULTIPART
    chunked: bool = False
    headers: dict[str, str] = field(default_factory=dict)


CH = CHANNEL.encode()
CASES = [
    Case(
        "no Content-Length, no body (D4)",
        None,
        f"channel_id={CHANNEL}&filename=a.txt",
        "text/plain",
    ),
    Case("Content-Length 0", b"", f"channel_id={CHANNEL}&filename=a.txt", "text/plain"),
    Case("chunked raw body", b"hello", f"channel_id={CHANNEL}&filename=a.txt", "text/plain", True),
    Case("raw body", b"hello", f"channel_id={CHANNEL}&filename=a.txt&client_id=q1", "text/plain"),
    Case("no Content-Type", b"hello", f"channel_id={CHANNEL}&filename=a.txt", None),
    Case(
        "urlencoded raw body is eaten by ParseForm (D13)",
        b"a=1&client_id=zzz",
        f"channel_id={CHANNEL}&filename=u.txt",
        "application/x-www-form-urlencoded",
    ),
    Case(
        "urlencoded body with a bad escape (D13)",
        b"a=%zz",
        f"channel_id={CHANNEL}&filename=u.txt",
        "application/x-www-form-urlencoded",
    ),
    Case(
        "bad escape in the query",
        b"abc",
        f"channel_id={CHANNEL}&filename=u.txt&x=%zz",
        "text/plain",
    ),
    Case("semicolon in the query", b"abc", f"channel_id={CHANNEL}&filename=u.txt;x", "text/plain"),
    Case(
        "Content-Type ParseMediaType rejects",
        b"abc",
        f"channel_id={CHANNEL}&filename=u.txt",
        "text/plain; charset",
    ),
    Case(
        "multipart without boundary",
        b"abc",
        f"channel_id={CHANNEL}&filename=u.txt",
        "multipart/form-data",
    ),
    Case(
        "multipart/mixed is a raw body",
        b"abc",
        f"channel_id={CHANNEL}&filename=m.txt",
        f"multipart/mixed; boundary={BOUNDARY}",
    ),
    Case("streaming happy path", parts(field_part("channel_id", CH), file_part("x.txt", b"abc"))),
    Case(
        "empty filename is a field (D5)", parts(field_part("channel_id", CH), file_part("", b"abc"))
    ),
    Case(
        "RFC 2231 filename* (D6)",
        parts(
            field_part("channel_id", CH),
            ("form-data; name=\"files\"; filename*=UTF-8''na%C3%AFve%20x.txt", b"abc"),
        ),
    ),
    Case(
        "filename* wins over filename (D6)",
        parts(
            field_part("channel_id", CH),
            ('form-data; name="files"; filename="p.txt"; filename*=UTF-8\'\'st%C3%A4r.txt', b"abc"),
        ),
    ),
    Case(
        "client_ids after the first file (D7)",
        parts(
            field_part("channel_id", CH), file_part("x.txt", b"abc"), field_part("client_ids", "c1")
        ),
    ),
    Case(
        "client_ids before the files",
        parts(
            field_part("channel_id", CH),
            field_part("client_ids", "c1"),
            field_part("client_ids", "c2"),
            file_part("x.txt", b"a"),
            file_part("y.txt", b"bb"),
        ),
    ),
    Case(
        "two differing channel_id parts (D8)",
        parts(
            field_part("channel_id", CH),
            field_part("channel_id", "b" * 26),
            file_part("x.txt", b"abc"),
        ),
    ),
    Case(
        "channel_id part differing from the query",
        parts(field_part("channel_id", "b" * 26), file_part("x.txt", b"abc")),
        f"channel_id={CHANNEL}",
    ),
    Case(
        "a part with no name is skipped (D9)",
        parts(
            field_part("channel_id", CH),
            ('form-data; filename="x.txt"', b"abc"),
            file_part("y.txt", b"abcd"),
        ),
    ),
    Case(
        "attachment disposition is skipped",
        parts(
            field_part("channel_id", CH), ('attachment; name="files"; filename="y.txt"', b"abcd")
        ),
    ),
    Case(
        "duplicate filename params are skipped",
        parts(
            field_part("channel_id", CH),
            ('form-data; name="files"; filename="a.txt"; filename="b.txt"', b"abcd"),
        ),
    ),
    Case(
        "filename with directories",
        parts(field_part("channel_id", CH), file_part("../../etc/x.txt", b"abcd")),
    ),
    Case("channel_id and no file (D10)", parts(field_part("channel_id", "junk"))),
    Case("no channel and no file (D10)", parts()),
    Case("client_ids only", parts(field_part("client_ids", "c1"))),
    Case("unknown field", parts(field_part("other", "v"), field_part("channel_id", CH))),
    Case(
        "form value over 10 KB is truncated (D11)",
        parts(
            field_part("channel_id", CH),
            field_part("client_ids", "c" * 20000),
            file_part("x.txt", b"abc"),
        ),
    ),
    Case("empty channel_id part", parts(field_part("channel_id", ""), file_part("a.txt", b"abcd"))),
    Case(
        "legacy: file before channel_id",
        parts(file_part("a.txt", b"abcd"), field_part("channel_id", CH)),
    ),
    Case(
        "legacy: other fields ignored, values whole",
        parts(
            file_part("a.txt", b"abcd"),
            field_part("other", "v"),
            field_part("client_ids", "c" * 20000),
            field_part("channel_id", CH),
        ),
    ),
    Case("legacy: no channel_id", parts(file_part("a.txt", b"abcd"))),
    Case(
        "legacy: empty-filename files part is a value",
        parts(file_part("a.txt", b"abcd"), file_part("", b"zz"), field_part("channel_id", CH)),
    ),
    Case(
        "legacy: client id count",
        parts(
            field_part("client_ids", "c1"),
            file_part("a.txt", b"a"),
            file_part("b.txt", b"b"),
            field_part("channel_id", CH),
        ),
    ),
    # issue 12 (helper shapes): raw-body and legacy errors, names, zero bytes (docs/facts/shapes.md)
    Case(
        "legacy: junk channel_id",
        parts(file_part("a.txt", b"abcd"), field_part("channel_id", "junk")),
    ),
    Case(
        "raw: directory parts dropped",
        b"abc",
        f"channel_id={CHANNEL}&filename=../../up.txt",
        "text/plain",
    ),
    Case(
        "raw: backslash kept", b"abc", f"channel_id={CHANNEL}&filename=..%5Cback.txt", "text/plain"
    ),
    Case("raw: no filename", b"abc", f"channel_id={CHANNEL}", "text/plain"),
    Case("raw: junk channel_id", b"abc", "channel_id=junk&filename=a.txt", "text/plain"),
    Case("raw: no channel_id", b"abc", "filename=a.txt", "text/plain"),
    Case("zero-byte file part", parts(field_part("channel_id", CH), file_part("empty.txt", b""))),
    Case(
        "nested directories in a part",
        parts(field_part("channel_id", CH), file_part("dir/sub/inner.txt", b"abcd")),
    ),
]

SMALL = 1024
SMALL_CASES = [
    Case(
        "legacy body over the cap is a 500 (D12)",
        parts(file_part("x.txt", b"x" * 5000), field_part("channel_id", CH)),
    ),
    Case(
        "streaming file over MaxFileSize",
        parts(field_part("channel_id", CH), file_part("x.txt", b"x" * 5000)),
    ),
    Case(
        "streaming field over the cap",
        parts(field_part("channel_id", CH), field_part("client_ids", "c" * 5000)),
    ),
    Case(
        "legacy file just over MaxFileSize",
        parts(file_part("x.txt", b"x" * (SMALL + 100)), field_part("channel_id", CH)),
    ),
    Case(
        "raw body over MaxFileSize",
        b"x" * 2000,
        f"channel_id={CHANNEL}&filename=a.txt",
        "text/plain",
    ),
    Case(
        "chunked raw body over MaxFileSize",
        b"x" * 2000,
        f"channel_id={CHANNEL}&filename=a.txt",
        "text/plain",
        True,
    ),
    Case(
        "urlencoded body over the cap",
        b"a=" + b"x" * 3000,
        f"channel_id={CHANNEL}&filename=u.txt",
        "application/x-www-form-urlencoded",
    ),
]


def send(
    base: str, path: str, case: Case, channel: str, headers: dict[str, str]
) -> tuple[int, Any]:
    """The request exactly as the case says: no header http.client would add on its own."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    query = case.query.replace(CHANNEL, channel)
    conn.putrequest("POST", path + ("?" + query if query else ""), skip_accept_encoding=True)
    for name, value in {**headers, **case.headers}.items():
        conn.putheader(name, value)
    if case.content_type is not None:
        conn.putheader("Content-Type", case.content_type)
    body = None if case.body is None else case.body.replace(CH, channel.encode())
    if case.chunked and body is not None:
        conn.putheader("Transfer-Encoding", "chunked")
        body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    elif body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    if body:
        conn.send(body)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, json.loads(data) if data else None


def verdict_of_oracle(answer: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"status": answer["status"], "id": answer["id"]}
    if answer["status"] == 201:
        out["files"] = [(f["name"], f["size"]) for f in answer["files"]]
        out["client_ids"] = answer["client_ids"]
    return out


def verdict_of_reference(status: int, body: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "id": "" if status == 201 else body.get("id", "")}
    if status == 201:
        out["files"] = [(i["name"], i["size"]) for i in body["file_infos"]]
        out["client_ids"] = body["client_ids"]
    return out


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def world(server: RunningServer) -> World:
    return build_world(server)


def compare(oracle_url: str, world: World, case: Case, max_size: int | None = None) -> None:
    extra = {"X-Oracle-Max-File-Size": str(max_size)} if max_size else {}
    o_status, o_body = send(oracle_url, "/lib/upload", case, world.public_id, extra)
    assert o_status == 200, o_body
    auth = {"Authorization": f"Bearer {world.member.token}"}
    r_status, r_body = send(world.server.url, "/api/v4/files", case, world.public_id, auth)
    expected = verdict_of_oracle(o_body)
    assert verdict_of_reference(r_status, r_body) == expected, (case.name, o_body["detail"])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_upload_parsing_matches_go(oracle_url: str, world: World, case: Case) -> None:
    compare(oracle_url, world, case)


@pytest.fixture(scope="module")
def small_limit(world: World) -> Iterator[int]:
    world.admin.patch_config("FileSettings", MaxFileSize=SMALL)
    yield SMALL
    world.admin.patch_config("FileSettings", MaxFileSize=104857600)


@pytest.mark.parametrize("case", SMALL_CASES, ids=[c.name for c in SMALL_CASES])
def test_upload_limits_match_go(
    oracle_url: str, world: World, small_limit: int, case: Case
) -> None:
    compare(oracle_url, world, case, small_limit)


def _licence_variants(good: str) -> list[tuple[str, bytes]]:
    mid = len(good) // 2
    return [
        ("as minted", good.encode()),
        (
            "CRLF line breaks every 76",
            "\r\n".join(good[i : i + 76] for i in range(0, len(good), 76)).encode(),
        ),
        ("trailing newline", (good + "\n").encode()),
        ("trailing spaces (D23)", (good + "  ").encode()),
        ("a space inside (D23)", (good[:mid] + " " + good[mid:]).encode()),
        ("a star inside (D23)", (good[:mid] + "*" + good[mid:]).encode()),
        ("a tab inside", (good[:mid] + "\t" + good[mid:]).encode()),
        ("padding missing", good.rstrip("=").encode()),
        ("url-safe alphabet", good.replace("+", "-").replace("/", "_").encode()),
        ("garbage", b"garbage"),
        ("NUL padding decoded", base64.b64encode(base64.b64decode(good) + b"\x00\x00")),
    ]


def test_licence_base64_matches_go(oracle_url: str, world: World) -> None:
    good = world.mint()
    for label, data in _licence_variants(good):
        conn = http.client.HTTPConnection(urlsplit(oracle_url).hostname, urlsplit(oracle_url).port)
        conn.request("POST", "/lib/license/decode", body=data)
        answer = json.loads(conn.getresponse().read())
        conn.close()
        try:
            ours: str | None = licensing.go_base64_decode(data).rstrip(b"\x00").hex()
        except licensing.LicenseInvalid:
            ours = None
        theirs = None if answer["error"] else answer["stripped_hex"]
        assert ours == theirs, (label, answer["error"])


MEDIA_TYPES = [
    "multipart/form-data; boundary=abc",
    'Multipart/Form-Data; BOUNDARY="a b"',
    'form-data; name="files"; filename="a.txt"',
    'form-data; name="files"; filename=""',
    "form-data; name=files; filename*=UTF-8''na%C3%AFve%20x.txt",
    "form-data; name=files; filename*=iso-8859-1''x.txt",
    "form-data; name=files; filename*=UTF-8''bad%zz.txt",
    'form-data; name=files; filename*0="par"; filename*1="ts.txt"',
    "form-data; name=files; filename*0*=UTF-8''%C3%A4; filename*1=b.txt",
    'form-data; name="files"; filename="a.txt"; filename="b.txt"',
    'form-data; name="files"; filename="a.txt"; filename="a.txt"',
    'form-data; name="files";',
    'form-data; name="files"; ;',
    'form-data; name="C:\\dir\\x.txt"',
    'form-data; name="a\\"b"',
    'form-data; name="unterminated',
    "form-data; name",
    "text/plain; charset",
    "",
    "a/b/c",
    "attachment; name=files; filename=x.txt",
]


# Values whose meaning changed between Go releases: compared only on a Go that has the newer rule.
NEWER_GO_ONLY = {
    # golang/go#48866 (accepted 2021): equal duplicate parameters are allowed. Go 1.19.8 still
    # refuses them, Go 1.27.3 accepts them; production Mattermost builds with Go >= 1.22.
    'form-data; name="files"; filename="a.txt"; filename="a.txt"': (1, 27),
}


def test_parse_media_type_matches_go(oracle_url: str) -> None:
    """`gomime.parse_media_type` against `mime.ParseMediaType` itself."""
    go = httpx.get(f"{oracle_url}/lib/ping").json()["go"]
    go_version = tuple(int(p) for p in go.removeprefix("go").split(".")[:2])
    differ = []
    for value in MEDIA_TYPES:
        if go_version < NEWER_GO_ONLY.get(value, (0, 0)):
            continue
        conn = http.client.HTTPConnection(urlsplit(oracle_url).hostname, urlsplit(oracle_url).port)
        conn.request("POST", "/lib/mime/parse", body=value.encode())
        answer = json.loads(conn.getresponse().read())
        conn.close()
        try:
            media, params = gomime.parse_media_type(value)
            ours: Any = (media, params)
        except gomime.MediaTypeError:
            ours = "error"
        theirs = "error" if answer["error"] else (answer["media_type"], answer["params"] or {})
        if ours != theirs:
            differ.append((value, ours, answer))
    assert differ == []
