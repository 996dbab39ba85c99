"""GET /api/v4/files/{id} (behaviour doc §4; upstream TestGetFile, TestGetFileAsSystemAdmin,
TestGetFileHeaders) plus the ServeContent behaviours (HEAD, Range, If-Modified-Since).
"""

from __future__ import annotations

import pytest
from ref_support import Api, World, error_id

from mmconform.reference.ids import new_id


def test_uploader_gets_bytes_and_error_cases(world: World) -> None:
    file_id = world.member.upload_id(world.private_id, "a.txt", b"hello bytes")
    resp = world.member.get(f"/api/v4/files/{file_id}")
    assert resp.status_code == 200 and resp.content == b"hello bytes"
    assert world.member.get("/api/v4/files/junk").status_code == 400
    missing = world.member.get(f"/api/v4/files/{new_id()}")
    assert missing.status_code == 404 and error_id(missing) == "app.file_info.get.app_error"
    assert Api(world.server.url).get(f"/api/v4/files/{file_id}").status_code == 401


def test_other_user_is_403_and_channel_member_may_read_unattached(world: World) -> None:
    file_id = world.member.upload_id(world.private_id)
    outsider, _ = world.new_user(team=True)
    resp = outsider.get(f"/api/v4/files/{file_id}")
    assert resp.status_code == 403 and error_id(resp) == "api.context.permissions.app_error"
    peer, _ = world.new_user(team=True, channels=(world.private_id,))
    assert peer.get(f"/api/v4/files/{file_id}").status_code == 200


def test_team_member_may_read_public_channel_file_unless_compliance(world: World) -> None:
    file_id = world.member.upload_id(world.public_id)
    team_only, _ = world.new_user(team=True)
    assert team_only.get(f"/api/v4/files/{file_id}").status_code == 200
    world.admin.patch_config("ComplianceSettings", Enable=True)
    try:
        assert team_only.get(f"/api/v4/files/{file_id}").status_code == 403
    finally:
        world.admin.patch_config("ComplianceSettings", Enable=False)
    other_team, _ = world.new_user()
    assert other_team.get(f"/api/v4/files/{file_id}").status_code == 403


@pytest.mark.parametrize("kind", ["O", "P", "D"])
def test_system_admin_reads_files_in_every_channel_kind(world: World, kind: str) -> None:
    user, uid = world.new_user(team=True)
    if kind == "D":
        _, oid = world.new_user(team=True)
        channel = user.ok(user.post("/api/v4/channels/direct", json=[uid, oid]), 201)["id"]
    else:
        body = {
            "team_id": world.team_id,
            "name": f"k{new_id()[:10]}",
            "display_name": "K",
            "type": kind,
        }
        channel = user.ok(user.post("/api/v4/channels", json=body), 201)["id"]
    file_id = user.upload_id(channel)
    assert world.admin.get(f"/api/v4/files/{file_id}").status_code == 200


HEADER_TABLE = [
    ("a.png", "image/png", "inline"),
    ("a.gif", "image/gif", "inline"),
    ("a.mp4", "video/mp4", "inline"),
    ("a.mp3", "audio/mpeg", "inline"),
    ("a.pdf", "application/pdf", "attachment"),
    ("a.txt", "text/plain", "attachment"),
    ("a.html", "text/plain", "attachment"),
    ("a.js", "text/plain", "attachment"),
    ("a.zip", "application/zip", "attachment"),
    ("noext", "application/octet-stream", "attachment"),
    ("a.svg", "image/svg+xml", "attachment"),
]


@pytest.mark.parametrize(("name", "ctype", "disposition"), HEADER_TABLE)
def test_get_file_headers(world: World, name: str, ctype: str, disposition: str) -> None:
    file_id = world.member.upload_id(world.public_id, name, b"<html>content</html>")
    resp = world.member.get(f"/api/v4/files/{file_id}")
    assert resp.headers["Content-Type"].startswith(ctype)
    assert resp.headers["Content-Disposition"].startswith(disposition + ";")
    assert resp.headers["Cache-Control"] == "private, max-age=86400"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Content-Security-Policy"] == "Frame-ancestors 'none'"
    assert resp.headers["Content-Length"] == str(len(b"<html>content</html>"))
    assert "Last-Modified" in resp.headers
    forced = world.member.get(f"/api/v4/files/{file_id}", params={"download": "true"})
    assert forced.headers["Content-Disposition"].startswith("attachment;")


def test_filename_is_rfc5987_path_escaped(world: World) -> None:
    file_id = world.member.upload_id(world.public_id, "r\u00e9sum\u00e9 a+b;c.png", b"x")
    disp = world.member.get(f"/api/v4/files/{file_id}").headers["Content-Disposition"]
    esc = "r%C3%A9sum%C3%A9%20a+b%3Bc.png"
    assert disp == f"inline;filename=\"{esc}\"; filename*=UTF-8''{esc}"


def test_head_range_and_if_modified_since(world: World) -> None:
    file_id = world.member.upload_id(world.public_id, "r.bin", b"0123456789")
    path = f"/api/v4/files/{file_id}"
    head = world.member.head(path)
    assert (
        head.status_code == 200 and head.content == b"" and head.headers["Content-Length"] == "10"
    )
    part = world.member.get(path, headers={"Range": "bytes=2-5"})
    assert part.status_code == 206 and part.content == b"2345"
    assert part.headers["Content-Range"] == "bytes 2-5/10"
    assert world.member.get(path, headers={"Range": "bytes=-3"}).content == b"789"
    bad = world.member.get(path, headers={"Range": "bytes=50-60"})
    assert bad.status_code == 416 and bad.headers["Content-Range"] == "bytes */10"
    last_modified = world.member.get(path).headers["Last-Modified"]
    cached = world.member.get(path, headers={"If-Modified-Since": last_modified})
    assert cached.status_code == 304 and cached.content == b""
    old = world.member.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert old.status_code == 200


def test_deleted_file_is_404(world: World) -> None:
    file_id = world.member.upload_id(world.public_id)
    post_id = world.post_with(world.member, world.public_id, [file_id])
    world.member.ok(world.member.delete(f"/api/v4/posts/{post_id}"))
    resp = world.member.get(f"/api/v4/files/{file_id}")
    assert resp.status_code == 404 and error_id(resp) == "app.file_info.get.app_error"


def test_empty_file_is_served_complete(world: World) -> None:
    file_id = world.member.upload_id(world.public_id, "empty.txt", b"")
    resp = world.member.get(f"/api/v4/files/{file_id}")
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["Content-Length"] == "0"
    again = world.member.get(f"/api/v4/files/{file_id}/info")  # same keep-alive connection
    assert again.status_code == 200 and again.json()["size"] == 0
