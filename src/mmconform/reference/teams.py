"""Team endpoints (`api4/team.go`): create, get, delete (soft, or permanent when
`ServiceSettings.EnableAPITeamDeletion`), add member. Guests join as `team_guest`.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference.context import Ctx, State, endpoint, json_response, now_ms, status_ok
from mmconform.reference.errors import AppError, invalid_body_param, permission_error
from mmconform.reference.ids import new_id

_TEAM_NAME = re.compile(r"^[a-z0-9]+([a-z0-9\-_]*[a-z0-9]+)?$")


def team_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "create_at": row["create_at"],
        "update_at": row["update_at"],
        "delete_at": row["delete_at"],
        "display_name": row["display_name"],
        "name": row["name"],
        "description": "",
        "email": "",
        "type": row["type"],
        "company_name": "",
        "allowed_domains": "",
        "invite_id": "",
        "allow_open_invite": bool(row["allow_open_invite"]),
        "scheme_id": None,
        "group_constrained": None,
        "policy_id": None,
    }


def member_json(team_id: str, user_id: str, roles: str, delete_at: int = 0) -> dict[str, Any]:
    parts = roles.split()
    return {
        "team_id": team_id,
        "user_id": user_id,
        "roles": "",
        "delete_at": delete_at,
        "scheme_user": "team_user" in parts,
        "scheme_admin": "team_admin" in parts,
        "scheme_guest": "team_guest" in parts,
        "explicit_roles": "",
    }


def is_guest(user: dict[str, Any]) -> bool:
    return "system_guest" in str(user["roles"]).split()


def add_team_member(state: State, team_id: str, user: dict[str, Any], admin: bool = False) -> str:
    roles = "team_guest" if is_guest(user) else ("team_user team_admin" if admin else "team_user")
    state.store.run(
        "INSERT OR REPLACE INTO team_members (team_id, user_id, roles, delete_at) VALUES (?,?,?,0)",
        team_id,
        user["id"],
        roles,
    )
    return roles


async def create_team(ctx: Ctx) -> Response:
    body = await ctx.json_object("team")
    if not ctx.state.authz.to(ctx.session, "create_team"):
        raise permission_error(ctx.session.user_id, "create_team")
    name = str(body.get("name") or "")
    display = str(body.get("display_name") or "")
    team_type = str(body.get("type") or "")
    if not (2 <= len(name) <= 64) or not _TEAM_NAME.match(name):
        raise AppError("model.team.is_valid.url.app_error", 400)
    if not display:
        raise AppError("model.team.is_valid.name.app_error", 400)
    if team_type not in ("O", "I"):
        raise AppError("model.team.is_valid.type.app_error", 400)
    if ctx.state.store.one("SELECT 1 FROM teams WHERE name = ?", name):
        raise AppError("app.team.save.existing.app_error", 400)
    now = now_ms()
    row = {
        "id": new_id(),
        "name": name,
        "display_name": display,
        "type": team_type,
        "create_at": now,
        "update_at": now,
        "delete_at": 0,
        "allow_open_invite": int(bool(body.get("allow_open_invite"))),
    }
    ctx.state.store.insert("teams", row)
    add_team_member(ctx.state, str(row["id"]), ctx.session.user, admin=True)
    return json_response(team_json(row), 201)


def get_team_row(state: State, team_id: str) -> dict[str, Any]:
    row = state.store.one("SELECT * FROM teams WHERE id = ?", team_id)
    if row is None:
        raise AppError("app.team.get.find.app_error", 404)
    return row


async def get_team(ctx: Ctx) -> Response:
    team = get_team_row(ctx.state, ctx.path_id("team_id"))
    visible = team["type"] == "O" and team["allow_open_invite"]
    if not visible and not ctx.state.authz.to_team(ctx.session, str(team["id"]), "view_team"):
        raise permission_error(ctx.session.user_id, "view_team")
    return json_response(team_json(team))


async def delete_team(ctx: Ctx) -> Response:
    team_id = ctx.path_id("team_id")
    if not ctx.state.authz.to_team(ctx.session, team_id, "manage_team"):
        raise permission_error(ctx.session.user_id, "manage_team")
    get_team_row(ctx.state, team_id)
    store = ctx.state.store
    if ctx.query_flag("permanent"):
        if not ctx.state.config.get("ServiceSettings", "EnableAPITeamDeletion"):
            raise AppError("api.user.delete_team.not_enabled.app_error", 401)
        store.run("DELETE FROM team_members WHERE team_id = ?", team_id)
        store.run("DELETE FROM teams WHERE id = ?", team_id)
    else:
        now = now_ms()
        store.run("UPDATE teams SET delete_at = ?, update_at = ? WHERE id = ?", now, now, team_id)
    return status_ok()


async def add_member(ctx: Ctx) -> Response:
    team_id = ctx.path_id("team_id")
    body = await ctx.json_object("team_member")
    if str(body.get("team_id") or "") != team_id:
        raise invalid_body_param("team_id")
    user_id = str(body.get("user_id") or "")
    team = get_team_row(ctx.state, team_id)
    own_open = user_id == ctx.session.user_id and team["type"] == "O"
    perm = "join_public_teams" if own_open else "add_user_to_team"
    allowed = (
        ctx.state.authz.to(ctx.session, perm)
        if own_open
        else ctx.state.authz.to_team(ctx.session, team_id, perm)
    )
    if not allowed:
        raise permission_error(ctx.session.user_id, perm)
    user = ctx.state.store.one("SELECT * FROM users WHERE id = ?", user_id)
    if user is None:
        raise AppError("app.user.missing_account.const", 404)
    roles = add_team_member(ctx.state, team_id, user)
    return json_response(member_json(team_id, user_id, roles), 201)


async def remove_member(ctx: Ctx) -> Response:
    """`api4/team.go removeTeamMember` → `App.RemoveUserFromTeam` → `LeaveTeam`: removing
    someone else needs remove_user_from_team on the team, leaving needs nothing; not a member →
    400 api.team.remove_user_from_team.missing.app_error; the team membership is soft-deleted
    (DeleteAt) and the user leaves every channel of the team (`LeaveTeam`: Channel().RemoveMember
    for each channel of the team that is not a DM or GM)."""
    team_id = ctx.path_id("team_id")
    user_id = ctx.path_id("user_id")
    if user_id != ctx.session.user_id and not ctx.state.authz.to_team(
        ctx.session, team_id, "remove_user_from_team"
    ):
        raise permission_error(ctx.session.user_id, "remove_user_from_team")
    get_team_row(ctx.state, team_id)
    store = ctx.state.store
    if store.one("SELECT * FROM users WHERE id = ?", user_id) is None:
        raise AppError("app.user.missing_account.const", 404)
    member = store.one(
        "SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ? AND delete_at = 0",
        team_id,
        user_id,
    )
    if member is None:
        raise AppError("api.team.remove_user_from_team.missing.app_error", 400)
    store.run(
        "DELETE FROM channel_members WHERE user_id = ? AND channel_id IN "
        "(SELECT id FROM channels WHERE team_id = ?)",
        user_id,
        team_id,
    )
    store.run(
        "UPDATE team_members SET delete_at = ? WHERE team_id = ? AND user_id = ?",
        now_ms(),
        team_id,
        user_id,
    )
    return status_ok()


ROUTES = [
    Route("/api/v4/teams", endpoint(create_team), methods=["POST"]),
    Route("/api/v4/teams/{team_id:mmid}", endpoint(get_team), methods=["GET"]),
    Route("/api/v4/teams/{team_id:mmid}", endpoint(delete_team), methods=["DELETE"]),
    Route("/api/v4/teams/{team_id:mmid}/members", endpoint(add_member), methods=["POST"]),
    Route(
        "/api/v4/teams/{team_id:mmid}/members/{user_id:mmid}",
        endpoint(remove_member),
        methods=["DELETE"],
    ),
]
