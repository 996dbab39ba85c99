"""POST /api/v4/files parsing edge cases where Go's libraries decide (issue 11, D4-D13, D29).

Upstream: `server/channels/api4/file.go` `uploadFileStream` (ParseForm, ContentLength),
`uploadFileSimple`, `uploadFileMultipart` (NextPart, FormName/FileName, io.CopyN 10240),
`uploadFileMultipartLegacy` (ReadForm); `app/file.go UploadFileX` (501 driver check). Each answer
here was also checked against Go 1.19 itself by tests/oracle/test_diff_upload.py.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from ref_support import Api, World, build_world, error_id

from mmconform.reference import gomime, running_server

B = "pArSeB0undary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={B}"}


def body_of(*parts: tuple[str, bytes | str]) -> bytes:
    out = b""
    for disposition, data in parts:
        raw = data.encode() if isinstance(data, str) else data
        out += f"--{B}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + raw + b"\r\n"
    return out + f"--{B}--\r\n".encode()


def field(name: str, value: str) -> tuple[str, str]:
    return f'form-data; name="{name}"', value


def a_file(filename: str, data: bytes = b"abc", name: str = "files") -> tuple[str, bytes]:
    return f'form-data; name="{name}"; filename="{filename}"', data


def post(api: Api, body: bytes, headers: dict[str, str] | None = None, **params: str) -> Any:
    return api.post("/api/v4/files", content=body, headers=headers or MULTIPART, params=params)


def raw_post(api: Api, target: str, headers: dict[str, str], body: bytes = b"") -> Any:
    """A POST with exactly these headers: http.client adds no Content-Length this way."""
    url = urlsplit(api.url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    conn.putrequest("POST", target, skip_accept_encoding=True)
    conn.putheader("Authorization", f"Bearer {api.token}")
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    if body:
        conn.send(body)
    resp = conn.getresponse()
    status, data = resp.status, json.loads(resp.read())
    conn.close()
    return status, data


def test_no_content_length_and_no_chunked_body_is_400(world: World) -> None:
    """D4: net/http gives such a request ContentLength 0; chunked is -1 and allowed."""
    target = f"/api/v4/files?channel_id={world.public_id}&filename=e.txt"
    status, body = raw_post(world.member, target, {"Content-Type": "text/plain"})
    assert (status, body["id"]) == (400, "api.file.upload_file.read_request.app_error")
    chunked = b"5\r\nhello\r\n0\r\n\r\n"
    status, body = raw_post(world.member, target, {"Transfer-Encoding": "chunked"}, chunked)
    assert status == 201 and body["file_infos"][0]["size"] == 5


def test_empty_filename_is_a_form_field(world: World) -> None:
    """D5: `Part.FileName()` is "" so `files` is an unknown form field: invalid_body_param."""
    resp = post(world.member, body_of(field("channel_id", world.public_id), a_file("")))
    assert resp.status_code == 400
    assert resp.json()["id"] == "api.context.invalid_body_param.app_error"


def test_rfc2231_filename_names_a_file(world: World) -> None:
    """D6: `mime.ParseMediaType` decodes `filename*`, and it wins over a plain `filename`."""
    disp = 'form-data; name="files"; filename="p.txt"; filename*=UTF-8\'\'na%C3%AFve%20x.txt'
    resp = post(world.member, body_of(field("channel_id", world.public_id), (disp, b"abc")))
    assert world.member.ok(resp, 201)["file_infos"][0]["name"] == "naïve x.txt"


def test_client_ids_after_the_first_file_is_400(world: World) -> None:
    """D7: no ids before the first file sets expectClientIds=false; a later one is invalid."""
    body = body_of(field("channel_id", world.public_id), a_file("x.txt"), field("client_ids", "c"))
    resp = post(world.member, body)
    assert (
        resp.status_code == 400 and resp.json()["id"] == "api.context.invalid_body_param.app_error"
    )


def test_two_differing_channel_id_parts_is_400(world: World) -> None:
    """D8: the second channel_id part is compared with the first one, not only with the query."""
    body = body_of(
        field("channel_id", world.public_id), field("channel_id", world.private_id), a_file("x")
    )
    resp = post(world.member, body)
    assert error_id(resp) == "api.file.upload_file.multiple_channel_ids.app_error"


def test_parts_without_a_form_name_are_skipped(world: World) -> None:
    """D9: `if formname == "" { continue }`; an `attachment` disposition has no form name."""
    body = body_of(
        field("channel_id", world.public_id),
        ('form-data; filename="x.txt"', b"abc"),
        ('attachment; name="files"; filename="z.txt"', b"abc"),
        a_file("y.txt"),
    )
    infos = world.member.ok(post(world.member, body), 201)["file_infos"]
    assert [i["name"] for i in infos] == ["y.txt"]


def test_no_file_part_is_201_empty_without_channel_checks(world: World) -> None:
    """D10: RequireChannelId and upload_file run per file part only."""
    outsider, _ = world.new_user()
    for channel in (world.private_id, "junk"):
        resp = post(outsider, body_of(field("channel_id", channel)))
        assert world.member.ok(resp, 201) == {"file_infos": [], "client_ids": []}
    assert world.member.ok(post(outsider, body_of()), 201)["file_infos"] == []


def test_long_form_value_is_truncated_not_rejected(world: World) -> None:
    """D11: `io.CopyN(&b, part, 10240)` returns nil on a longer part: the value is cut."""
    body = body_of(
        field("channel_id", world.public_id), field("client_ids", "c" * 20000), a_file("x.txt")
    )
    assert world.member.ok(post(world.member, body), 201)["client_ids"] == ["c" * 10240]


@pytest.fixture
def small_limit(world: World) -> Iterator[int]:
    world.admin.patch_config("FileSettings", MaxFileSize=1024)
    yield 1024
    world.admin.patch_config("FileSettings", MaxFileSize=104857600)


def test_legacy_body_over_the_cap_is_500(world: World, small_limit: int) -> None:
    """D12: ReadForm's MaxBytesReader error goes into the detail, not Wrap: 500 read_request.
    With channel_id first (streaming) the same file is 413 too_large_detailed."""
    legacy = body_of(a_file("x.txt", b"x" * 5000), field("channel_id", world.public_id))
    resp = post(world.member, legacy)
    assert (resp.status_code, error_id(resp)) == (
        500,
        "api.file.upload_file.read_request.app_error",
    )
    streaming = body_of(field("channel_id", world.public_id), a_file("x.txt", b"x" * 5000))
    resp = post(world.member, streaming)
    assert (resp.status_code, error_id(resp)) == (
        413,
        "api.file.upload_file.too_large_detailed.app_error",
    )


def test_urlencoded_raw_body_is_eaten_by_parse_form(world: World) -> None:
    """D13: ParseForm reads a urlencoded POST body: 0 bytes stored, client_id from the body;
    a bad escape there, in the query, or a `;` in the query is 400 read_request."""
    urlenc = {"Content-Type": "application/x-www-form-urlencoded"}
    params = {"channel_id": world.public_id, "filename": "u.txt"}
    body = world.member.ok(post(world.member, b"a=1&client_id=zzz", urlenc, **params), 201)
    assert body["file_infos"][0]["size"] == 0 and body["client_ids"] == ["zzz"]
    assert error_id(post(world.member, b"a=%zz", urlenc, **params)) == (
        "api.file.upload_file.read_request.app_error"
    )
    target = f"/api/v4/files?channel_id={world.public_id}&filename=u.txt"
    for query in ("&x=%zz", ";x"):
        status, answer = raw_post(
            world.member,
            target + query,
            {"Content-Type": "text/plain", "Content-Length": "3"},
            b"abc",
        )
        assert (status, answer["id"]) == (400, "api.file.upload_file.read_request.app_error")


def test_storage_driver_501_comes_after_channel_checks(tmp_path: Path) -> None:
    """D29: `UploadFileX` checks DriverName, after RequireChannelId and upload_file, and only
    for a file: a body without file parts never reaches it."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"FileSettings": {"DriverName": ""}}))
    with running_server(data_dir=tmp_path / "data", config_file=config) as srv:
        world = build_world(srv)
        outsider, _ = world.new_user()
        assert outsider.upload(world.private_id).status_code == 403
        assert world.member.upload("junk").status_code == 400
        empty = post(world.member, body_of(field("channel_id", world.public_id)))
        assert empty.status_code == 201
        resp = world.member.upload(world.public_id)
        assert (resp.status_code, error_id(resp)) == (501, "api.file.upload_file.storage.app_error")


def test_go_library_ports_agree_with_what_go_answered() -> None:
    """`gomime` ports of mime.ParseMediaType / url.ParseQuery, pinned to answers Go gave
    (tests/oracle/test_diff_upload.py compares them with Go itself where go is installed)."""
    assert gomime.part_names("form-data; name=files; filename*=UTF-8''a%20b.txt") == (
        "files",
        "a b.txt",
    )
    assert gomime.part_names('form-data; name="files"; filename="p"; filename*=UTF-8\'\'q') == (
        "files",
        "q",
    )
    assert gomime.part_names('attachment; name="files"; filename="x"') == ("", "x")
    assert gomime.part_names('form-data; name="f"; filename="a"; filename="b"') == ("", "")
    assert gomime.part_names('form-data; name="f"; filename="../../x.txt"') == ("f", "x.txt")
    assert gomime.parse_media_type('form-data; name*0="a"; name*1="b"')[1] == {"name": "ab"}
    with pytest.raises(gomime.MediaTypeError):
        gomime.parse_media_type("text/plain; charset")
    assert gomime.parse_query("a=1&b=x+y&&c") == {"a": ["1"], "b": ["x y"], "c": [""]}
    for bad in ("a=%zz", "a=1;b=2", "%g0=1"):
        with pytest.raises(gomime.QueryError):
            gomime.parse_query(bad)
