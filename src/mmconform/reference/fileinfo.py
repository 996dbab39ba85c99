"""The FileInfo JSON (`model/file_info.go`) and the shared lookup/permission rule for files.

Field order and omitempty follow the Go struct: `post_id`, `width`, `height`,
`has_preview_image` and `extra_info` are omitted when empty; `path`, `thumbnail_path`,
`preview_path` and `content` are `json:"-"` and never leave the server.
"""

from __future__ import annotations

from typing import Any

from mmconform.reference.context import Ctx
from mmconform.reference.errors import AppError, permission_error

BOOKMARK_OWNER = "bookmark"


def file_info_json(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"],
        "user_id": row["creator_id"],
        "channel_id": row["channel_id"],
        "create_at": row["create_at"],
        "update_at": row["update_at"],
        "delete_at": row["delete_at"],
        "name": row["name"],
        "extension": row["extension"],
        "size": row["size"],
        "mime_type": row["mime_type"],
    }
    if row["post_id"]:
        out = {
            "id": row["id"],
            "user_id": row["creator_id"],
            "post_id": row["post_id"],
            **{k: v for k, v in out.items() if k not in ("id", "user_id")},
        }
    if row["width"]:
        out["width"] = row["width"]
    if row["height"]:
        out["height"] = row["height"]
    if row["has_preview_image"]:
        out["has_preview_image"] = True
    out["mini_preview"] = None
    out["remote_id"] = ""
    out["archived"] = False
    return out


def get_live_file(
    ctx: Ctx, file_id: str, deleted_fault: str = "deleted-file-still-served"
) -> dict[str, Any]:
    """`App.GetFileInfo`: the store filters `DeleteAt = 0`, so deleted and missing are both 404."""
    cached = ctx.state.fault("file-info-cache-stale")
    if cached and file_id in ctx.state.file_info_cache:
        # A fork caching FileInfos by id and never invalidating them when the post is deleted.
        return ctx.state.file_info_cache[file_id]
    sql = "SELECT * FROM file_infos WHERE id = ?"
    if not ctx.state.fault(deleted_fault):
        sql += " AND delete_at = 0"
    row = ctx.state.store.one(sql, file_id)
    if row is None:
        raise AppError("app.file_info.get.app_error", 404, detailed=f"file_id={file_id}")
    if cached:
        ctx.state.file_info_cache[file_id] = row
    return row


def _read_permission(ctx: Ctx, info: dict[str, Any]) -> bool:
    """The read check of the emulated version (versions.yaml): through the post before 9.7,
    read_channel_content on the file's channel until the public-channel read came (9.11 and
    the 9.9.3/9.10.2 picks), then HasPermissionToReadChannel."""
    state = ctx.state
    if not state.has_rule("file-read-by-channel"):
        return state.authz.by_post(ctx.session, str(info["post_id"]), "read_channel_content")
    if not state.has_rule("file-read-public-channel"):
        return state.authz.to_channel(ctx.session, str(info["channel_id"]), "read_channel_content")
    return state.authz.read_channel(ctx.session, str(info["channel_id"]))


def require_file_read(ctx: Ctx, info: dict[str, Any]) -> None:
    """Uploader, or read permission on the file's channel; bookmark files need the permission."""
    allowed = _read_permission(ctx, info)
    if not allowed and ctx.state.fault("guest-reads-public-channel"):
        allowed = _guest_public_read(ctx, str(info["channel_id"]))
    if info["creator_id"] == BOOKMARK_OWNER:
        if not allowed:
            raise permission_error(ctx.session.user_id, "read_channel_content")
        return
    if info["creator_id"] != ctx.session.user_id and not allowed:
        raise permission_error(ctx.session.user_id, "read_channel_content")


def _guest_public_read(ctx: Ctx, channel_id: str) -> bool:
    """Fault `guest-reads-public-channel`: any team member (team_guest too) reads open channels."""
    channel = ctx.state.store.one("SELECT team_id, type FROM channels WHERE id = ?", channel_id)
    if channel is None or channel["type"] != "O":
        return False
    return ctx.state.authz.to_team(ctx.session, str(channel["team_id"]), "view_team")
