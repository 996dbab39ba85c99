"""POST /api/v4/files (behaviour doc §3; upstream TestUploadFiles)."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

import httpx
import pytest
from ref_support import Api, PNG_1x1, World, error_id

from mmconform.reference.ids import new_id

BOUNDARY = "b0undaryXYZ"


Part = tuple[str, str | None, bytes]


def multipart(*parts: Part) -> bytes:
    """(name, filename or None, data) parts in exactly the given order."""
    out = b""
    for name, filename, data in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disp}\r\n".encode()
        if filename:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def post_multipart(api: Api, body: bytes, **params: str) -> httpx.Response:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return api.post("/api/v4/files", content=body, headers=headers, params=params)


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return PNG_1x1[:16] + ihdr + PNG_1x1[29:]


def webp_vp8x(width: int, height: int) -> bytes:
    chunk = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    chunk += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@pytest.fixture
def small_limit(world: World) -> Iterator[int]:
    world.admin.patch_config("FileSettings", MaxFileSize=10 * 1024)
    yield 10 * 1024
    world.admin.patch_config("FileSettings", MaxFileSize=104857600)


def test_happy_multipart_returns_201_with_infos(world: World) -> None:
    resp = world.member.upload(world.public_id, "test.png", png(408, 336))
    body = world.member.ok(resp, 201)
    assert resp.headers["Content-Type"] == "application/json"
    info = body["file_infos"][0]
    assert body["client_ids"] == []
    assert info["user_id"] == world.member_id and info["channel_id"] == world.public_id
    assert (info["width"], info["height"], info["mime_type"]) == (408, 336, "image/png")
    assert "post_id" not in info and "path" not in info and info["extension"] == "png"


def test_happy_simple_mode_and_client_id(world: World) -> None:
    params = {"channel_id": world.public_id, "filename": "a.tar.gz", "client_id": "c1"}
    resp = world.member.post("/api/v4/files", content=b"x" * 100, params=params)
    body = world.member.ok(resp, 201)
    assert body["client_ids"] == ["c1"]
    info = body["file_infos"][0]
    assert (info["name"], info["extension"], info["size"]) == ("a.tar.gz", "gz", 100)
    no_client = world.member.post("/api/v4/files", content=b"x", params=params | {"client_id": ""})
    assert world.member.ok(no_client, 201)["client_ids"] is None


def test_happy_client_ids_are_echoed_in_order(world: World) -> None:
    ids = [str(i) for i in range(1, 6)]
    parts: list[Part] = [("channel_id", None, world.public_id.encode())]
    parts += [("client_ids", None, i.encode()) for i in ids]
    parts += [("files", f"f{i}.md", b"# x") for i in ids]
    body = world.member.ok(post_multipart(world.member, multipart(*parts)), 201)
    assert body["client_ids"] == ids
    assert [i["name"] for i in body["file_infos"]] == [f"f{i}.md" for i in ids]


def test_happy_legacy_mode_file_before_channel_id(world: World) -> None:
    body = multipart(("files", "a.txt", b"abc"), ("channel_id", None, world.public_id.encode()))
    out = world.member.ok(post_multipart(world.member, body), 201)
    assert out["file_infos"][0]["size"] == 3


def test_legacy_mode_without_channel_id_is_400(world: World) -> None:
    resp = post_multipart(world.member, multipart(("files", "a.txt", b"abc")))
    assert resp.status_code == 400
    assert error_id(resp) == "api.context.invalid_body_param.app_error"


def test_happy_image_sizes_and_invalid_image(world: World) -> None:
    webp = world.member.ok(world.member.upload(world.public_id, "w.webp", webp_vp8x(128, 256)), 201)
    assert (webp["file_infos"][0]["width"], webp["file_infos"][0]["height"]) == (128, 256)
    fake = world.member.ok(world.member.upload(world.public_id, "fake.gif", b"# md"), 201)
    assert "width" not in fake["file_infos"][0]


def test_happy_chunked_simple_upload(world: World) -> None:
    def gen() -> Iterator[bytes]:
        yield b"a" * 1000
        yield b"b" * 1000

    params = {"channel_id": world.public_id, "filename": "chunked.bin"}
    body = world.member.ok(world.member.post("/api/v4/files", content=gen(), params=params), 201)
    assert body["file_infos"][0]["size"] == 2000


def test_happy_admin_upload_creator_is_admin(world: World) -> None:
    body = world.admin.ok(world.admin.upload(world.private_id), 201)
    me = world.admin.ok(world.admin.get("/api/v4/users/me"))
    assert body["file_infos"][0]["user_id"] == me["id"]


def test_happy_stream_exactly_at_limit(world: World) -> None:
    world.admin.patch_config("FileSettings", MaxFileSize=1024 * 1024)
    try:
        data = random.Random(7).randbytes(1024 * 1024)
        params = {"channel_id": world.public_id, "filename": "stream.bin"}
        resp = world.member.post(
            "/api/v4/files", content=iter([data[:4096], data[4096:]]), params=params
        )
        assert world.member.ok(resp, 201)["file_infos"][0]["size"] == len(data)
    finally:
        world.admin.patch_config("FileSettings", MaxFileSize=104857600)


@pytest.mark.parametrize("who", ["member", "admin"])
def test_nonexistent_channel_is_403(world: World, who: str) -> None:
    api = world.member if who == "member" else world.admin
    resp = api.upload(new_id())
    assert resp.status_code == 403 and error_id(resp) == "api.context.permissions.app_error"


@pytest.mark.parametrize("who", ["member", "admin"])
def test_invalid_channel_id_is_400(world: World, who: str) -> None:
    api = world.member if who == "member" else world.admin
    resp = api.upload("../../junk")
    assert resp.status_code == 400 and error_id(resp) == "api.context.invalid_url_param.app_error"
    simple = api.post(
        "/api/v4/files", content=b"x", params={"channel_id": "../../junk", "filename": "a"}
    )
    assert simple.status_code == 400


def test_too_few_client_ids_is_400(world: World) -> None:
    parts: list[Part] = [("channel_id", None, world.public_id.encode())]
    parts += [("client_ids", None, b"1"), ("client_ids", None, b"2")]
    parts += [("files", f"f{i}.txt", b"x") for i in range(3)]
    resp = post_multipart(world.member, multipart(*parts))
    assert resp.status_code == 400
    assert error_id(resp) == "api.context.invalid_body_param.app_error"  # streaming mode
    legacy: list[Part] = [("files", f"f{i}.txt", b"x") for i in range(3)]
    legacy += [("channel_id", None, world.public_id.encode()), ("client_ids", None, b"1")]
    resp = post_multipart(world.member, multipart(*legacy))
    assert error_id(resp) == "api.file.upload_file.incorrect_number_of_client_ids.app_error"


def test_too_many_client_ids_is_incorrect_number(world: World) -> None:
    parts: list[Part] = [("channel_id", None, world.public_id.encode())]
    parts += [("client_ids", None, b"1"), ("client_ids", None, b"2")]
    parts += [("files", "f.txt", b"x")]
    resp = post_multipart(world.member, multipart(*parts))
    assert error_id(resp) == "api.file.upload_file.incorrect_number_of_client_ids.app_error"


def test_disabled_attachments_is_403_before_anything(world: World) -> None:
    world.admin.patch_config("FileSettings", EnableFileAttachments=False)
    try:
        resp = world.admin.post("/api/v4/files", content=b"")
        assert resp.status_code == 403
        assert error_id(resp) == "api.file.attachments.disabled.app_error"
    finally:
        world.admin.patch_config("FileSettings", EnableFileAttachments=True)


def test_content_length_zero_is_400(world: World) -> None:
    resp = world.member.post(
        "/api/v4/files", content=b"", params={"channel_id": world.public_id, "filename": "a"}
    )
    assert resp.status_code == 400
    assert error_id(resp) == "api.file.upload_file.read_request.app_error"


def test_file_too_large_is_413(world: World, small_limit: int) -> None:
    resp = world.member.upload(world.public_id, "big.bin", b"x" * (small_limit + 1))
    assert resp.status_code == 413
    assert error_id(resp) == "api.file.upload_file.too_large_detailed.app_error"
    params = {"channel_id": world.public_id, "filename": "big.bin"}
    simple = world.member.post("/api/v4/files", content=b"x" * (small_limit + 1), params=params)
    assert error_id(simple) == "api.file.upload_file.too_large_detailed.app_error"


def test_chunked_and_stream_too_large_is_413(world: World, small_limit: int) -> None:
    params = {"channel_id": world.public_id, "filename": "big.bin"}
    chunks = iter([b"x" * 4096] * 256)  # 1 MiB against a 10 KiB limit, no Content-Length
    resp = world.member.post("/api/v4/files", content=chunks, params=params)
    assert resp.status_code == 413
    assert error_id(resp) == "api.file.upload_file.too_large_detailed.app_error"
    many = multipart(
        ("channel_id", None, world.public_id.encode()),
        *[("files", f"{i}.bin", b"x" * 4000) for i in range(5)],
    )
    capped = post_multipart(world.member, many)
    assert capped.status_code == 413
    assert error_id(capped) == "api.context.request_body_too_large.app_error"


def test_image_too_large_is_400(world: World) -> None:
    world.admin.patch_config("FileSettings", MaxImageResolution=90000)
    try:
        resp = world.member.upload(world.public_id, "huge.png", png(1000, 1000))
        assert resp.status_code == 400
        assert error_id(resp) == "api.file.upload_file.large_image_detailed.app_error"
    finally:
        world.admin.patch_config("FileSettings", MaxImageResolution=33177600)


def test_conflicting_channel_ids_and_unknown_fields_are_400(world: World) -> None:
    body = multipart(("channel_id", None, world.public_id.encode()), ("files", "a", b"x"))
    resp = post_multipart(world.member, body, channel_id=world.private_id)
    assert error_id(resp) == "api.file.upload_file.multiple_channel_ids.app_error"
    same = post_multipart(world.member, body, channel_id=world.public_id)
    assert same.status_code == 201
    extra = multipart(("channel_id", None, world.public_id.encode()), ("bogus", None, b"1"))
    resp = post_multipart(world.member, extra)
    assert error_id(resp) == "api.context.invalid_body_param.app_error"


def test_simple_mode_needs_filename_and_multipart_needs_boundary(world: World) -> None:
    resp = world.member.post("/api/v4/files", content=b"x", params={"channel_id": world.public_id})
    assert resp.status_code == 400 and "filename" in resp.json()["message"]
    bad = world.member.post(
        "/api/v4/files", content=b"x", headers={"Content-Type": "multipart/form-data"}
    )
    assert error_id(bad) == "api.file.upload_file.read_request.app_error"


def test_non_member_outside_team_cannot_upload(world: World) -> None:
    outsider, _ = world.new_user()
    assert outsider.upload(world.public_id).status_code == 403
    team_only, _ = world.new_user(team=True)
    assert team_only.upload(world.public_id).status_code == 403  # team_user lacks upload_file


def test_bookmark_upload_creator_is_bookmark(world: World) -> None:
    body = world.member.ok(world.member.upload(world.public_id, bookmark="true"), 201)
    assert body["file_infos"][0]["user_id"] == "bookmark"


def test_bookmark_flag_is_read_from_9_3() -> None:
    """api/v4/source/files.yaml: bookmark=true from 9.3; @05022281 has no bookmark code."""
    from mmconform.reference.versions import rules_for

    assert "bookmark-upload" in rules_for("9.3.0")
    assert "bookmark-upload" in rules_for("11.5.0")
    assert "bookmark-upload" not in rules_for("9.2.4")


def test_head_on_file_info_is_the_catch_all_404(world: World) -> None:
    """/info is GET only in every file.go: gorilla hands HEAD to the /api/v4 catch-all."""
    file_id = world.member.upload_id(world.public_id)
    assert world.member.head(f"/api/v4/files/{file_id}/info").status_code == 404
    outsider, _ = world.new_user()
    assert outsider.head(f"/api/v4/files/{file_id}/info").status_code == 404


def test_query_and_form_channel_ids_that_differ_are_refused(world: World) -> None:
    """uploadFileMultipart: the form's channel_id must equal the query's (neither wins)."""
    body = multipart(("channel_id", None, world.private_id.encode()), ("files", "a.txt", b"x"))
    resp = post_multipart(world.member, body, channel_id=world.public_id)
    assert resp.status_code == 400
    assert error_id(resp) == "api.file.upload_file.multiple_channel_ids.app_error"
