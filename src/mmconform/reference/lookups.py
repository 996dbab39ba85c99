"""Look-ups by name and a channel's posts: what a cleanup needs to find what it created when only
the name was recorded before a crash (`api4/user.go`, `team.go`, `channel.go`, `post.go`).

Looked up in mattermost/mattermost:
- `getUserByUsername`: `RequireUsername` (400 invalid_url_param `username`), then the lookup; a
  miss is 404 `app.user.get_by_username.app_error` unless the caller has view restrictions
  (no system-wide `view_members`, i.e. guests), who get 403 instead; a user the caller may not
  see (restricted, sharing no channel) is 403 `view_members`.
- `getTeamByName`: `RequireTeamName`, 404 `app.team.get_by_name.missing.app_error`, then
  `view_team` unless the team is open with open invites.
- `getChannelByName`: `RequireTeamId().RequireChannelName()`, `include_deleted` via
  `strconv.ParseBool`; 404 `app.channel.get_by_name.missing.app_error` for a miss and also for a
  private channel the caller may not read (no leak of its existence); an open channel needs
  `read_public_channel` on the team or `read_channel` on it (403 `read_public_channel`).
- `getPostsForChannel` (newest): the channel lookup (404), then read permission on the channel
  (403 `read_channel_content`); `{"order", "posts", "next_post_id", "prev_post_id"}`, newest
  first, deleted posts left out, `page`/`per_page` (default 60).
"""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference.channels import channel_json, get_channel_row
from mmconform.reference.context import Ctx, endpoint, json_response
from mmconform.reference.errors import AppError, invalid_url_param, permission_error
from mmconform.reference.posts import post_json
from mmconform.reference.teams import team_json
from mmconform.reference.users import user_json

_USERNAME = re.compile(r"^[a-z][a-z0-9.\-_]{2,63}$")
_TEAM_NAME = re.compile(r"^[a-z0-9]+([a-z0-9\-_]*[a-z0-9]+)?$")
_CHANNEL_NAME = re.compile(r"^[a-z0-9]+([a-z0-9\-_]*[a-z0-9]+)?$|^[a-z0-9]{26}__[a-z0-9]{26}$")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")


def _share_a_channel(ctx: Ctx, other_id: str) -> bool:
    row = ctx.state.store.one(
        "SELECT 1 FROM channel_members a JOIN channel_members b ON a.channel_id = b.channel_id "
        "WHERE a.user_id = ? AND b.user_id = ? LIMIT 1",
        ctx.session.user_id,
        other_id,
    )
    return row is not None


async def user_by_username(ctx: Ctx) -> Response:
    username = str(ctx.request.path_params.get("username", "")).lower()
    if not _USERNAME.match(username):
        raise invalid_url_param("username")
    restricted = not ctx.state.authz.to(ctx.session, "view_members")
    user = ctx.state.store.one("SELECT * FROM users WHERE username = ?", username)
    if user is None:
        if restricted:
            raise permission_error(ctx.session.user_id, "view_members")
        raise AppError("app.user.get_by_username.app_error", 404)
    if restricted and user["id"] != ctx.session.user_id and not _share_a_channel(ctx, user["id"]):
        raise permission_error(ctx.session.user_id, "view_members")
    return json_response(user_json(user))


async def team_by_name(ctx: Ctx) -> Response:
    name = str(ctx.request.path_params.get("team_name", ""))
    if not (2 <= len(name) <= 64) or not _TEAM_NAME.match(name):
        raise invalid_url_param("team_name")
    team = ctx.state.store.one("SELECT * FROM teams WHERE name = ?", name)
    if team is None:
        raise AppError("app.team.get_by_name.missing.app_error", 404)
    visible = team["type"] == "O" and team["allow_open_invite"]
    if not visible and not ctx.state.authz.to_team(ctx.session, str(team["id"]), "view_team"):
        raise permission_error(ctx.session.user_id, "view_team")
    return json_response(team_json(team))


async def channel_by_name(ctx: Ctx) -> Response:
    team_id = ctx.path_id("team_id")
    name = str(ctx.request.path_params.get("channel_name", ""))
    if not (1 <= len(name) <= 64) or not _CHANNEL_NAME.match(name):
        raise invalid_url_param("channel_name")
    include_deleted = ctx.request.query_params.get("include_deleted", "") in _TRUE
    channel = ctx.state.store.one(
        "SELECT * FROM channels WHERE team_id = ? AND name = ?", team_id, name
    )
    missing = AppError(
        "app.channel.get_by_name.missing.app_error", 404, detailed=f"teamId={team_id}"
    )
    if channel is None or (channel["delete_at"] and not include_deleted):
        raise missing
    authz = ctx.state.authz
    readable = authz.to_channel(ctx.session, str(channel["id"]), "read_channel")
    if channel["type"] == "O":
        if not readable and not authz.to_team(ctx.session, team_id, "read_public_channel"):
            raise permission_error(ctx.session.user_id, "read_public_channel")
    elif not readable:
        raise missing
    return json_response(channel_json(channel))


def _page(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.request.query_params.get(name, "")
    if not raw:
        return default
    if not raw.isdigit():
        raise invalid_url_param(name)
    return int(raw)


async def posts_for_channel(ctx: Ctx) -> Response:
    channel_id = ctx.path_id("channel_id")
    page = _page(ctx, "page", 0)
    per_page = min(_page(ctx, "per_page", 60), 200)
    get_channel_row(ctx.state, channel_id)
    if not ctx.state.authz.read_channel(ctx.session, channel_id):
        raise permission_error(ctx.session.user_id, "read_channel_content")
    rows = ctx.state.store.all(
        "SELECT * FROM posts WHERE channel_id = ? AND delete_at = 0 "
        "ORDER BY create_at DESC, id DESC LIMIT ? OFFSET ?",
        channel_id,
        per_page,
        page * per_page,
    )
    body = {
        "order": [r["id"] for r in rows],
        "posts": {r["id"]: post_json(r) for r in rows},
        "next_post_id": "",
        "prev_post_id": "",
    }
    return json_response(body)


ROUTES = [
    Route("/api/v4/users/username/{username}", endpoint(user_by_username), methods=["GET"]),
    Route("/api/v4/teams/name/{team_name}", endpoint(team_by_name), methods=["GET"]),
    Route(
        "/api/v4/teams/{team_id:mmid}/channels/name/{channel_name}",
        endpoint(channel_by_name),
        methods=["GET"],
    ),
    Route("/api/v4/channels/{channel_id:mmid}/posts", endpoint(posts_for_channel), methods=["GET"]),
]
