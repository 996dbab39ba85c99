"""GET /files/{id}/info and GET /posts/{id}/files/info (behaviour doc §2, §6; upstream
TestGetFileInfo, TestGetFileInfosForPost).
"""

from __future__ import annotations

import json

from ref_support import Api, PNG_1x1, World, error_id

from mmconform.reference.ids import new_id

INFO_FIELDS = [
    "id",
    "user_id",
    "channel_id",
    "create_at",
    "update_at",
    "delete_at",
    "name",
    "extension",
    "size",
    "mime_type",
]


def test_get_file_info_cases(world: World) -> None:
    file_id = world.member.upload_id(world.private_id, "x.png", PNG_1x1)
    resp = world.member.get(f"/api/v4/files/{file_id}/info")
    assert resp.status_code == 200 and resp.text.endswith("}\n")
    assert resp.headers["Cache-Control"] == "max-age=2592000, private"
    assert resp.headers["Content-Type"] == "application/json"
    info = json.loads(resp.text)
    assert list(info)[:10] == INFO_FIELDS
    assert info["user_id"] == world.member_id and "post_id" not in info
    assert info["mime_type"] == "image/png" and info["width"] == 1
    assert not {"path", "thumbnail_path", "preview_path", "content"} & set(info)
    assert world.member.get("/api/v4/files/junk/info").status_code == 400
    assert world.member.get(f"/api/v4/files/{new_id()}/info").status_code == 404
    assert Api(world.server.url).get(f"/api/v4/files/{file_id}/info").status_code == 401
    stranger, _ = world.new_user()
    assert stranger.get(f"/api/v4/files/{file_id}/info").status_code == 403
    assert world.admin.get(f"/api/v4/files/{file_id}/info").status_code == 200


def test_file_infos_for_post_cases(world: World) -> None:
    ids = [world.member.upload_id(world.private_id, f"f{i}.txt") for i in range(3)]
    post_id = world.post_with(world.member, world.private_id, ids)
    path = f"/api/v4/posts/{post_id}/files/info"
    resp = world.member.get(path)
    infos = world.member.ok(resp)
    assert sorted(i["id"] for i in infos) == sorted(ids)
    assert all(i["post_id"] == post_id for i in infos)
    assert resp.headers["Cache-Control"] == "max-age=2592000, private"
    max_update = max(i["update_at"] for i in infos)
    assert resp.headers["ETag"] == f"11.5.0.{post_id}.{max_update}"
    cached = world.member.get(path, headers={"If-None-Match": resp.headers["ETag"]})
    assert cached.status_code == 304
    bare = world.post_with(world.member, world.private_id, [])
    assert world.member.ok(world.member.get(f"/api/v4/posts/{bare}/files/info")) == []
    assert world.member.get("/api/v4/posts/junk/files/info").status_code == 400
    random = world.member.get(f"/api/v4/posts/{new_id()}/files/info")
    assert random.status_code == 403 and error_id(random) == "api.context.permissions.app_error"
    assert world.admin.get(f"/api/v4/posts/{new_id()}/files/info").status_code == 404
    assert Api(world.server.url).get(path).status_code == 401
    assert world.admin.get(f"/api/v4/posts/{bare}/files/info").status_code == 200

    world.admin.ok(world.admin.delete(f"/api/v4/posts/{post_id}"))
    gone = world.member.get(path)
    assert gone.status_code == 404 and error_id(gone) == "app.post.get.app_error"
    assert world.member.get(path, params={"include_deleted": "true"}).status_code == 403
    assert world.admin.get(path).status_code == 404
    deleted = world.admin.ok(world.admin.get(path, params={"include_deleted": "true"}))
    assert len(deleted) == 3 and all(i["delete_at"] > 0 for i in deleted)
    # sqlstore FileInfoStore.DeleteForPost sets DeleteAt only (P4): update_at is untouched.
    assert sorted(i["update_at"] for i in deleted) == sorted(i["update_at"] for i in infos)


def test_public_channel_post_files_readable_by_team_non_member(world: World) -> None:
    file_id = world.member.upload_id(world.public_id)
    post_id = world.post_with(world.member, world.public_id, [file_id])
    team_only, _ = world.new_user(team=True)
    assert team_only.get(f"/api/v4/posts/{post_id}/files/info").status_code == 200
    private_post = world.post_with(world.member, world.private_id, [])
    assert team_only.get(f"/api/v4/posts/{private_post}/files/info").status_code == 403


def test_post_attaches_own_unattached_files_and_moves_them_to_its_channel(world: World) -> None:
    """D28, sqlstore `AttachToPost` (newest): `SET PostId, ChannelId` where `PostId = ''` and
    `CreatorId` is the poster (or 'nouser'); `app.attachFileIDsToPost` checks no channel. A file
    uploaded to another channel is attached and moves to the post's channel."""
    own = world.member.upload_id(world.public_id)
    others = world.admin.upload_id(world.public_id)
    elsewhere = world.member.upload_id(world.private_id)
    body = {"channel_id": world.public_id, "message": "m", "file_ids": [own, others, elsewhere]}
    post = world.member.ok(world.member.post("/api/v4/posts", json=body), 201)
    assert post["file_ids"] == [own, elsewhere]
    assert "post_id" not in world.admin.ok(world.admin.get(f"/api/v4/files/{others}/info"))
    moved = world.admin.ok(world.admin.get(f"/api/v4/files/{elsewhere}/info"))
    assert (moved["post_id"], moved["channel_id"]) == (post["id"], world.public_id)
    again = world.member.ok(world.member.post("/api/v4/posts", json=body), 201)
    assert again.get("file_ids", []) == []
