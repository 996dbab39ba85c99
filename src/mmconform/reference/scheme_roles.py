"""Scheme-role endpoints: make a team member a team admin, a channel member a channel admin.

Upstream `api4/team.go updateTeamMemberSchemeRoles` and `api4/channel.go
updateChannelMemberSchemeRoles` (both: Require*Id, decode `model.SchemeRoles`, else 400
invalid_param `scheme_roles`; then the permission, `manage_team_roles` through
SessionHasPermissionToTeam, `manage_channel_roles` through SessionHasPermissionToChannel, else
403; then `App.UpdateTeamMemberSchemeRoles` / `UpdateChannelMemberSchemeRoles`: the member must
exist, scheme_user and scheme_guest together → 400 `…guest_and_user.app_error`; 200
`{"status":"OK"}`). Kept apart from teams.py and channels.py so the world's role changes are one
room. The missing-member error ids are `App.GetTeamMember` / `GetChannelMember`'s not-found ids.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference.context import Ctx, endpoint, status_ok
from mmconform.reference.errors import AppError, invalid_body_param, permission_error

_FLAGS = ("scheme_admin", "scheme_user", "scheme_guest")


async def _scheme_roles(ctx: Ctx) -> dict[str, bool]:
    """`json.NewDecoder(r.Body).Decode(&model.SchemeRoles)`: absent fields are false, a field of
    the wrong type or a body that is not one JSON object (or null) fails the decode."""
    raw = await ctx.request.body()
    body: Any = await ctx.json_body() if raw.strip() else ...
    if body is ... or (body is not None and not isinstance(body, dict)):
        raise invalid_body_param("scheme_roles")
    flags = {name: False for name in _FLAGS}
    for name in _FLAGS:
        value = (body or {}).get(name, False)
        if not isinstance(value, bool):
            raise invalid_body_param("scheme_roles")
        flags[name] = value
    return flags


def _roles(prefix: str, flags: dict[str, bool]) -> str:
    """The member's roles column from the scheme flags (`team_user team_admin`, …)."""
    if flags["scheme_user"] and flags["scheme_guest"]:
        kind = "team" if prefix == "team" else "channel"
        raise AppError(f"api.{kind}.update_{kind}_member_roles.guest_and_user.app_error", 400)
    parts = [
        f"{prefix}_{name.removeprefix('scheme_')}"
        for name in ("scheme_guest", "scheme_user", "scheme_admin")
        if flags[name]
    ]
    return " ".join(parts)


async def update_team_member_scheme_roles(ctx: Ctx) -> Response:
    team_id = ctx.path_id("team_id")
    user_id = ctx.path_id("user_id")
    flags = await _scheme_roles(ctx)
    if not ctx.state.authz.to_team(ctx.session, team_id, "manage_team_roles"):
        raise permission_error(ctx.session.user_id, "manage_team_roles")
    store = ctx.state.store
    member = store.one(
        "SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ? AND delete_at = 0",
        team_id,
        user_id,
    )
    if member is None:
        raise AppError("app.team.get_member.missing.app_error", 404)
    store.run(
        "UPDATE team_members SET roles = ? WHERE team_id = ? AND user_id = ?",
        _roles("team", flags),
        team_id,
        user_id,
    )
    return status_ok()


async def update_channel_member_scheme_roles(ctx: Ctx) -> Response:
    channel_id = ctx.path_id("channel_id")
    user_id = ctx.path_id("user_id")
    flags = await _scheme_roles(ctx)
    if not ctx.state.authz.to_channel(ctx.session, channel_id, "manage_channel_roles"):
        raise permission_error(ctx.session.user_id, "manage_channel_roles")
    store = ctx.state.store
    member = store.one(
        "SELECT 1 FROM channel_members WHERE channel_id = ? AND user_id = ?", channel_id, user_id
    )
    if member is None:
        raise AppError("app.channel.get_member.missing.app_error", 404)
    store.run(
        "UPDATE channel_members SET roles = ? WHERE channel_id = ? AND user_id = ?",
        _roles("channel", flags),
        channel_id,
        user_id,
    )
    return status_ok()


ROUTES = [
    Route(
        "/api/v4/teams/{team_id:mmid}/members/{user_id:mmid}/schemeRoles",
        endpoint(update_team_member_scheme_roles),
        methods=["PUT"],
    ),
    Route(
        "/api/v4/channels/{channel_id:mmid}/members/{user_id:mmid}/schemeRoles",
        endpoint(update_channel_member_scheme_roles),
        methods=["PUT"],
    ),
]
