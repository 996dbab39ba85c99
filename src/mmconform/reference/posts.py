"""Post endpoints (`api4/post.go`) and GET /posts/{post_id}/files/info.

`getFileInfosForPost` follows the newest code: `SessionHasPermissionToReadPost` (non-members may
read public-channel posts unless compliance is on; a post with no channel falls back to a
system-level check, hence 403 for a random id), then `include_deleted` needs `manage_system`,
then `GetFileInfosForPostWithMigration` (no infos → look the post up → 404 if missing/deleted),
ETag `model.GetEtagForFileInfos` = `Etag(post_id, max update_at)` and 304 on If-None-Match.

Looked up: `model.Etag(parts...)` (model/utils.go) is `CurrentVersion` followed by ".<part>" for
each part, so a post's ETag reads `11.5.0.<post_id>.<max update_at>` and an empty list `11.5.0`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference.context import Ctx, endpoint, json_response, now_ms, status_ok
from mmconform.reference.errors import AppError, invalid_body_param, permission_error
from mmconform.reference.fileinfo import file_info_json
from mmconform.reference.ids import is_valid_id, new_id

INFO_CACHE_CONTROL = "max-age=2592000, private"


def post_json(row: dict[str, Any]) -> dict[str, Any]:
    file_ids = json.loads(row["file_ids"] or "[]")
    out: dict[str, Any] = {
        "id": row["id"],
        "create_at": row["create_at"],
        "update_at": row["update_at"],
        "edit_at": 0,
        "delete_at": row["delete_at"],
        "is_pinned": False,
        "user_id": row["user_id"],
        "channel_id": row["channel_id"],
        "root_id": row["root_id"],
        "original_id": "",
        "message": row["message"],
        "type": "",
        "props": {},
        "hashtags": "",
        "pending_post_id": "",
        "reply_count": 0,
        "last_reply_at": 0,
        "participants": None,
        "metadata": {},
    }
    if file_ids:
        out["file_ids"] = file_ids
    return out


async def create_post(ctx: Ctx) -> Response:
    body = await ctx.json_object("post")
    channel_id = str(body.get("channel_id") or "")
    if not is_valid_id(channel_id):
        raise invalid_body_param("channel_id")
    if not ctx.state.authz.to_channel(ctx.session, channel_id, "create_post"):
        raise permission_error(ctx.session.user_id, "create_post")
    channel = ctx.state.store.one("SELECT * FROM channels WHERE id = ?", channel_id)
    if channel is None:
        raise AppError("app.channel.get.existing.app_error", 404)
    if channel["delete_at"]:
        raise AppError("api.post.create_post.can_not_post_to_deleted.error", 400)
    raw_ids = body.get("file_ids") or []
    if not isinstance(raw_ids, list):
        raise invalid_body_param("file_ids")
    now = now_ms()
    post_id = new_id()
    attached = _attach_files(ctx, post_id, channel_id, [str(f) for f in raw_ids][:10])
    row = {
        "id": post_id,
        "channel_id": channel_id,
        "user_id": ctx.session.user_id,
        "root_id": str(body.get("root_id") or ""),
        "message": str(body.get("message") or ""),
        "create_at": now,
        "update_at": now,
        "delete_at": 0,
        "file_ids": json.dumps(attached),
    }
    ctx.state.store.insert("posts", row)
    return json_response(post_json(row), 201)


def _attach_files(ctx: Ctx, post_id: str, channel_id: str, file_ids: list[str]) -> list[str]:
    """`attachFileIDsToPost` → sqlstore `AttachToPost` (newest): the poster's own unattached files.

    The store sets `ChannelId` to the post's channel and checks no channel: a file uploaded to
    channel A and attached to a post in channel B moves to B, whose permissions govern it after.
    """
    attached = []
    for file_id in file_ids:
        changed = ctx.state.store.run(
            "UPDATE file_infos SET post_id = ?, channel_id = ? WHERE id = ? AND post_id = '' "
            "AND (creator_id = ? OR creator_id = 'nouser')",
            post_id,
            channel_id,
            file_id,
            ctx.session.user_id,
        )
        if changed:
            attached.append(file_id)
    return attached


def _post_row(ctx: Ctx, post_id: str, include_deleted: bool) -> dict[str, Any]:
    row = ctx.state.store.one("SELECT * FROM posts WHERE id = ?", post_id)
    if row is None or (row["delete_at"] and not include_deleted):
        raise AppError("app.post.get.app_error", 404, detailed=f"id={post_id}")
    return row


async def get_post(ctx: Ctx) -> Response:
    post_id = ctx.path_id("post_id")
    row = _post_row(ctx, post_id, False)
    if not ctx.state.authz.read_post(ctx.session, post_id):
        raise permission_error(ctx.session.user_id, "read_channel_content")
    return json_response(post_json(row))


async def delete_post(ctx: Ctx) -> Response:
    post_id = ctx.path_id("post_id")
    row = _post_row(ctx, post_id, False)
    perm = "delete_post" if row["user_id"] == ctx.session.user_id else "delete_others_posts"
    if not ctx.state.authz.to_channel(ctx.session, str(row["channel_id"]), perm):
        raise permission_error(ctx.session.user_id, perm)
    now = now_ms()
    store = ctx.state.store
    store.run("UPDATE posts SET delete_at = ?, update_at = ? WHERE id = ?", now, now, post_id)
    # sqlstore FileInfoStore.DeleteForPost sets DeleteAt only (every copy read, the newest
    # GetMasterX one included): update_at, and so the include_deleted ETag, stay as they were (P4).
    store.run(
        "UPDATE file_infos SET delete_at = ? WHERE post_id = ? AND delete_at = 0", now, post_id
    )
    return status_ok()


def etag_for(version: str, infos: list[dict[str, Any]]) -> str:
    if not infos:
        return version
    max_update = max(int(i["update_at"]) for i in infos)
    return f"{version}.{infos[0]['post_id']}.{max_update}"


def _may_read_post(ctx: Ctx, post_id: str) -> bool:
    """SessionHasPermissionToReadPost from 11.5 (and 10.11.11), ...ToChannelByPost before."""
    if ctx.state.has_rule("post-infos-public-channel"):
        return ctx.state.authz.read_post(ctx.session, post_id)
    return ctx.state.authz.by_post(ctx.session, post_id, "read_channel_content")


async def file_infos_for_post(ctx: Ctx) -> Response:
    post_id = ctx.path_id("post_id")
    faults = ctx.state.settings.faults
    if (
        faults
        and "unknown-post-500" in faults
        and ctx.state.store.one("SELECT 1 FROM posts WHERE id = ?", post_id) is None
    ):
        raise RuntimeError("fault unknown-post-500: post lookup dereferenced nil")
    given_etag = ctx.request.headers.get("if-none-match")
    if faults and "etag-before-permission" in faults and given_etag:
        # A fork answering from its ETag cache before it asks who is reading.
        live = ctx.state.store.all(
            "SELECT * FROM file_infos WHERE post_id = ? AND delete_at = 0 ORDER BY create_at, id",
            post_id,
        )
        etag = etag_for(ctx.state.settings.server_version, live)
        if given_etag == etag:
            return Response(status_code=304, headers={"ETag": etag})
    if "bola-post-file-infos" not in faults and not _may_read_post(ctx, post_id):
        raise permission_error(ctx.session.user_id, "read_channel_content")
    # Ignored before 7.3 (versions.yaml `include-deleted`).
    include_deleted = ctx.query_flag("include_deleted") and ctx.state.has_rule("include-deleted")
    ignored = include_deleted and faults and "include-deleted-ignored" in faults
    admin_only = "include-deleted-for-non-admins" not in faults
    if include_deleted and admin_only and not ctx.state.authz.to(ctx.session, "manage_system"):
        raise permission_error(ctx.session.user_id, "manage_system")
    if ignored:  # permission checked, then the flag dropped: a deleted post is 404 to all
        include_deleted = False
    sql = "SELECT * FROM file_infos WHERE post_id = ?"
    if not include_deleted:
        sql += " AND delete_at = 0"
    infos = ctx.state.store.all(sql + " ORDER BY create_at, id", post_id)
    if faults and "post-infos-first-file-only" in faults:
        infos = infos[:1]
    if faults and "post-infos-other-post" in faults:
        infos += _channel_post_infos(ctx, post_id)
    if not infos and "deleted-post-infos-served" not in faults:
        _post_row(ctx, post_id, include_deleted)
    etag = etag_for(ctx.state.settings.server_version, infos)
    if given_etag == etag or (faults and "etag-any-match" in faults and given_etag):
        return Response(status_code=304, headers={"ETag": etag})
    headers = {"Cache-Control": INFO_CACHE_CONTROL, "ETag": etag}
    return json_response([file_info_json(i) for i in infos], 200, headers)


def _channel_post_infos(ctx: Ctx, post_id: str) -> list[dict[str, Any]]:
    """Fault `post-infos-other-post`: the live files of the channel's other posts."""
    return ctx.state.store.all(
        "SELECT f.* FROM file_infos f JOIN posts me ON me.channel_id = f.channel_id "
        "WHERE me.id = ? AND f.post_id != '' AND f.post_id != me.id AND f.delete_at = 0 "
        "ORDER BY f.create_at, f.id",
        post_id,
    )


ROUTES = [
    Route("/api/v4/posts", endpoint(create_post), methods=["POST"]),
    Route("/api/v4/posts/{post_id:mmid}", endpoint(get_post), methods=["GET"]),
    Route("/api/v4/posts/{post_id:mmid}", endpoint(delete_post), methods=["DELETE"]),
    Route(
        "/api/v4/posts/{post_id:mmid}/files/info",
        endpoint(file_infos_for_post, bad_token_fault="auth-bad-token-post-file-infos"),
        methods=["GET"],
    ),
]
