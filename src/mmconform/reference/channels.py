"""Channel endpoints (`api4/channel.go`): create (O/P), direct, group, get, archive/permanent
delete, add member. Guests join as `channel_guest`; creators become `channel_user channel_admin`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference.context import Ctx, State, endpoint, json_response, now_ms, status_ok
from mmconform.reference.errors import AppError, invalid_body_param, permission_error
from mmconform.reference.ids import is_valid_id, new_id
from mmconform.reference.teams import get_team_row, is_guest

_CHANNEL_NAME = re.compile(r"^[a-z0-9]+([a-z0-9\-_]*[a-z0-9]+)?$")


def channel_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "create_at": row["create_at"],
        "update_at": row["update_at"],
        "delete_at": row["delete_at"],
        "team_id": row["team_id"],
        "type": row["type"],
        "display_name": row["display_name"],
        "name": row["name"],
        "header": "",
        "purpose": "",
        "last_post_at": 0,
        "total_msg_count": 0,
        "extra_update_at": 0,
        "creator_id": row["creator_id"],
        "scheme_id": None,
        "props": None,
        "group_constrained": None,
        "shared": None,
        "total_msg_count_root": 0,
        "policy_id": None,
        "last_root_post_at": 0,
    }


def member_json(channel_id: str, user_id: str, roles: str) -> dict[str, Any]:
    parts = roles.split()
    return {
        "channel_id": channel_id,
        "user_id": user_id,
        "roles": "",
        "last_viewed_at": 0,
        "msg_count": 0,
        "mention_count": 0,
        "mention_count_root": 0,
        "urgent_mention_count": 0,
        "msg_count_root": 0,
        "notify_props": {"desktop": "default", "mark_unread": "all"},
        "last_update_at": now_ms(),
        "scheme_guest": "channel_guest" in parts,
        "scheme_user": "channel_user" in parts,
        "scheme_admin": "channel_admin" in parts,
        "explicit_roles": "",
    }


def add_channel_member(
    state: State, channel_id: str, user: dict[str, Any], admin: bool = False
) -> str:
    if is_guest(user):
        roles = "channel_guest"
    else:
        roles = "channel_user channel_admin" if admin else "channel_user"
    state.store.run(
        "INSERT OR REPLACE INTO channel_members (channel_id, user_id, roles) VALUES (?, ?, ?)",
        channel_id,
        user["id"],
        roles,
    )
    return roles


def get_channel_row(state: State, channel_id: str) -> dict[str, Any]:
    row = state.store.one("SELECT * FROM channels WHERE id = ?", channel_id)
    if row is None:
        raise AppError("app.channel.get.existing.app_error", 404)
    return row


async def create_channel(ctx: Ctx) -> Response:
    body = await ctx.json_object("channel")
    team_id = str(body.get("team_id") or "")
    ctype = str(body.get("type") or "")
    name = str(body.get("name") or "")
    if ctype not in ("O", "P"):
        raise invalid_body_param("type")
    if not is_valid_id(team_id):
        raise invalid_body_param("team_id")
    perm = "create_public_channel" if ctype == "O" else "create_private_channel"
    if not ctx.state.authz.to_team(ctx.session, team_id, perm):
        raise permission_error(ctx.session.user_id, perm)
    get_team_row(ctx.state, team_id)
    if not (1 <= len(name) <= 64) or not _CHANNEL_NAME.match(name):
        raise AppError("model.channel.is_valid.name.app_error", 400)
    if ctx.state.store.one("SELECT 1 FROM channels WHERE team_id = ? AND name = ?", team_id, name):
        raise AppError("store.sql_channel.save_channel.exists.app_error", 400)
    now = now_ms()
    row = {
        "id": new_id(),
        "team_id": team_id,
        "type": ctype,
        "name": name,
        "display_name": str(body.get("display_name") or name),
        "creator_id": ctx.session.user_id,
        "create_at": now,
        "update_at": now,
        "delete_at": 0,
    }
    ctx.state.store.insert("channels", row)
    add_channel_member(ctx.state, str(row["id"]), ctx.session.user, admin=True)
    return json_response(channel_json(row), 201)


async def create_direct(ctx: Ctx) -> Response:
    body = await ctx.json_body()
    if (
        not isinstance(body, list)
        or len(body) != 2
        or not all(isinstance(u, str) and is_valid_id(u) for u in body)
    ):
        raise invalid_body_param("user_ids")
    if not ctx.state.authz.to(ctx.session, "create_direct_channel"):
        raise permission_error(ctx.session.user_id, "create_direct_channel")
    if ctx.session.user_id not in body and not ctx.state.authz.to(ctx.session, "manage_system"):
        raise permission_error(ctx.session.user_id, "manage_system")
    users = [ctx.state.store.one("SELECT * FROM users WHERE id = ?", u) for u in body]
    if any(u is None for u in users):
        raise AppError("api.channel.create_direct_channel.invalid_user.app_error", 400)
    a, b = sorted(body)
    name = f"{a}__{b}"
    existing = ctx.state.store.one("SELECT * FROM channels WHERE type = 'D' AND name = ?", name)
    if existing is not None:
        return json_response(channel_json(existing), 201)
    return _new_teamless_channel(ctx, "D", name, "", users)


GROUP_MIN_USERS, GROUP_MAX_USERS = 3, 8  # model.ChannelGroupMinUsers / ChannelGroupMaxUsers


async def create_group(ctx: Ctx) -> Response:
    """`createGroupChannel` (api4/channel.go): ids checked, the caller added if missing, then
    create_group_channel; `App.CreateGroupChannel` wants 3..8 distinct existing users and
    returns the existing channel for the same set (name = sha1 of the sorted ids)."""
    body = await ctx.json_body()
    if not isinstance(body, list) or not body:
        raise invalid_body_param("user_ids")
    if not all(isinstance(u, str) and is_valid_id(u) for u in body):
        raise invalid_body_param("user_id")
    ids = [str(u) for u in body]
    if ctx.session.user_id not in ids:
        ids.append(ctx.session.user_id)
    if not ctx.state.authz.to(ctx.session, "create_group_channel"):
        raise permission_error(ctx.session.user_id, "create_group_channel")
    unique = sorted(set(ids))
    if not GROUP_MIN_USERS <= len(unique) <= GROUP_MAX_USERS:
        raise AppError("api.channel.create_group.bad_size.app_error", 400)
    users = [ctx.state.store.one("SELECT * FROM users WHERE id = ?", u) for u in unique]
    if any(u is None for u in users):
        raise AppError("api.channel.create_group.bad_user.app_error", 400)
    name = hashlib.sha1(",".join(unique).encode()).hexdigest()
    existing = ctx.state.store.one("SELECT * FROM channels WHERE type = 'G' AND name = ?", name)
    if existing is not None:
        return json_response(channel_json(existing), 201)
    display = ", ".join(str(u["username"]) for u in users if u is not None)
    return _new_teamless_channel(ctx, "G", name, display, users)


def _new_teamless_channel(
    ctx: Ctx, kind: str, name: str, display_name: str, users: list[Any]
) -> Response:
    """A direct ("D") or group ("G") channel with `users` as its members; 201 with it."""
    now = now_ms()
    row = {
        "id": new_id(),
        "team_id": "",
        "type": kind,
        "name": name,
        "display_name": display_name,
        "creator_id": ctx.session.user_id,
        "create_at": now,
        "update_at": now,
        "delete_at": 0,
    }
    ctx.state.store.insert("channels", row)
    for user in users:
        if user is not None:
            add_channel_member(ctx.state, str(row["id"]), user)
    return json_response(channel_json(row), 201)


async def get_channel(ctx: Ctx) -> Response:
    channel = get_channel_row(ctx.state, ctx.path_id("channel_id"))
    authz = ctx.state.authz
    if not authz.to_channel(ctx.session, str(channel["id"]), "read_channel"):
        public_ok = channel["type"] == "O" and authz.to_team(
            ctx.session, str(channel["team_id"]), "read_public_channel"
        )
        if not public_ok:
            raise permission_error(ctx.session.user_id, "read_channel")
    return json_response(channel_json(channel))


async def delete_channel(ctx: Ctx) -> Response:
    channel = get_channel_row(ctx.state, ctx.path_id("channel_id"))
    if channel["type"] in ("D", "G"):
        raise AppError("api.channel.delete_channel.type.invalid", 400)
    perm = "delete_public_channel" if channel["type"] == "O" else "delete_private_channel"
    if not ctx.state.authz.to_channel(ctx.session, str(channel["id"]), perm):
        raise permission_error(ctx.session.user_id, perm)
    store = ctx.state.store
    if ctx.query_flag("permanent"):
        if not ctx.state.config.get("ServiceSettings", "EnableAPIChannelDeletion"):
            raise AppError("api.channel.delete_channel.not_enabled.app_error", 401)
        if not ctx.state.authz.to(ctx.session, "manage_system"):
            raise permission_error(ctx.session.user_id, "manage_system")
        store.run("DELETE FROM channel_members WHERE channel_id = ?", channel["id"])
        store.run("DELETE FROM channels WHERE id = ?", channel["id"])
        return status_ok()
    if channel["delete_at"]:
        raise AppError("api.channel.delete_channel.deleted.app_error", 400)
    now = now_ms()
    store.run(
        "UPDATE channels SET delete_at = ?, update_at = ? WHERE id = ?", now, now, channel["id"]
    )
    return status_ok()


async def add_member(ctx: Ctx) -> Response:
    channel_id = ctx.path_id("channel_id")
    body = await ctx.json_object("user_id")
    user_id = str(body.get("user_id") or "")
    if not is_valid_id(user_id):
        raise invalid_body_param("user_id")
    channel = get_channel_row(ctx.state, channel_id)
    perm = (
        "manage_public_channel_members"
        if channel["type"] == "O"
        else "manage_private_channel_members"
    )
    self_join = user_id == ctx.session.user_id and channel["type"] == "O"
    allowed = (
        ctx.state.authz.to_team(ctx.session, str(channel["team_id"]), "join_public_channels")
        if self_join
        else ctx.state.authz.to_channel(ctx.session, channel_id, perm)
    )
    if not allowed:
        raise permission_error(ctx.session.user_id, perm)
    if channel["delete_at"]:
        raise AppError("api.channel.add_user_to_channel.deleted.app_error", 400)
    user = ctx.state.store.one("SELECT * FROM users WHERE id = ?", user_id)
    if user is None:
        raise AppError("app.user.missing_account.const", 404)
    in_team = ctx.state.store.one(
        "SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ? AND delete_at = 0",
        channel["team_id"],
        user_id,
    )
    if channel["team_id"] and in_team is None:
        raise AppError("api.channel.add_user.to.channel.failed.deleted.app_error", 403)
    roles = add_channel_member(ctx.state, channel_id, user)
    return json_response(member_json(channel_id, user_id, roles), 201)


async def remove_member(ctx: Ctx) -> Response:
    """`api4/channel.go removeChannelMember`: a team channel only (400 otherwise); removing
    someone else needs manage_public/private_channel_members on the channel, leaving needs
    nothing; `App.RemoveUserFromChannel` deletes the membership (and, upstream, invalidates the
    channel-member caches, which the seeded fault channel-member-cache-stale skips)."""
    channel_id = ctx.path_id("channel_id")
    user_id = ctx.path_id("user_id")
    channel = get_channel_row(ctx.state, channel_id)
    user = ctx.state.store.one("SELECT * FROM users WHERE id = ?", user_id)
    if user is None:
        raise AppError("app.user.missing_account.const", 404)
    if channel["type"] not in ("O", "P"):
        raise AppError("api.channel.remove_channel_member.type.app_error", 400)
    if user_id != ctx.session.user_id:
        perm = (
            "manage_public_channel_members"
            if channel["type"] == "O"
            else "manage_private_channel_members"
        )
        if not ctx.state.authz.to_channel(ctx.session, channel_id, perm):
            raise permission_error(ctx.session.user_id, perm)
    ctx.state.store.run(
        "DELETE FROM channel_members WHERE channel_id = ? AND user_id = ?", channel_id, user_id
    )
    return status_ok()


ROUTES = [
    Route("/api/v4/channels", endpoint(create_channel), methods=["POST"]),
    Route("/api/v4/channels/direct", endpoint(create_direct), methods=["POST"]),
    Route("/api/v4/channels/group", endpoint(create_group), methods=["POST"]),
    Route("/api/v4/channels/{channel_id:mmid}", endpoint(get_channel), methods=["GET"]),
    Route("/api/v4/channels/{channel_id:mmid}", endpoint(delete_channel), methods=["DELETE"]),
    Route("/api/v4/channels/{channel_id:mmid}/members", endpoint(add_member), methods=["POST"]),
    Route(
        "/api/v4/channels/{channel_id:mmid}/members/{user_id:mmid}",
        endpoint(remove_member),
        methods=["DELETE"],
    ),
]
