"""User, session and access-token endpoints (`api4/user.go`), as far as provisioning needs.

Login masks wrong passwords and unknown users as 401
`api.user.login.invalid_credentials_email_username` but reports a deactivated account (checked
before the password) as 401 `api.user.login.inactive.app_error`. Deactivation revokes every
session of the user (they stay invalid after reactivation).
Guest demotion needs a licence and `GuestAccountsSettings.Enable` (501 each, checked first);
promotion does not (newest `promoteGuestToUser`).

Looked up in mattermost/mattermost `api4/user.go`: `demoteUserToGuest` checks the licence (501
`api.team.demote_user_to_guest.license.error`), then `GuestAccountsSettings.Enable` (501
`api.team.demote_user_to_guest.disabled.error`), then `demote_to_guest`; `promoteGuestToUser`
answers 501 `api.user.promote_guest_to_user.no_guest.app_error` for a non-guest. Login masking
(`api.user.login.invalid_credentials_email_username`, 401) and `checkUserNotDisabled` (401
`api.user.login.inactive.app_error`, before the password check) come from `app/login.go` /
`api4/user.go login`. Passwords are PBKDF2 here (bcrypt upstream); nothing observable depends on it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference.context import Ctx, State, endpoint, json_response, now_ms, status_ok
from mmconform.reference.errors import AppError, invalid_body_param, permission_error
from mmconform.reference.ids import new_id
from mmconform.reference.roles import valid_user_roles

_USERNAME = re.compile(r"^[a-z][a-z0-9.\-_]{2,21}$")
_ITERATIONS = 20_000


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    return f"{salt.hex()}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    salt_hex, _, digest_hex = stored.partition("$")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt_hex), _ITERATIONS)
    return hmac.compare_digest(digest.hex(), digest_hex)


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    """`model.User` after `Sanitize`: never the password hash."""
    return {
        "id": row["id"],
        "create_at": row["create_at"],
        "update_at": row["update_at"],
        "delete_at": row["delete_at"],
        "username": row["username"],
        "auth_data": "",
        "auth_service": "",
        "email": row["email"],
        "email_verified": True,
        "nickname": row["nickname"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "position": "",
        "roles": row["roles"],
        "notify_props": {},
        "last_password_update": row["create_at"],
        "locale": "en",
        "timezone": {"automaticTimezone": "", "manualTimezone": "", "useAutomaticTimezone": "true"},
        "disable_welcome_email": False,
    }


def create_user_row(state: State, body: dict[str, Any], roles: str) -> dict[str, Any]:
    """Validate and insert; the errors are the `model.User.IsValid` / store ids."""
    username = str(body.get("username") or "")
    email = str(body.get("email") or "").lower()
    password = str(body.get("password") or "")
    if not _USERNAME.match(username):
        raise AppError("model.user.is_valid.username.app_error", 400)
    if "@" not in email or len(email) > 128:
        raise AppError("model.user.is_valid.email.app_error", 400)
    if len(password) < 5:
        raise AppError("model.user.is_valid.pwd_length.app_error", 400)
    store = state.store
    if store.one("SELECT 1 FROM users WHERE username = ?", username):
        raise AppError("app.user.save.username_exists.app_error", 400)
    if store.one("SELECT 1 FROM users WHERE email = ?", email):
        raise AppError("app.user.save.email_exists.app_error", 400)
    now = now_ms()
    row = {
        "id": new_id(),
        "username": username,
        "email": email,
        "password_hash": hash_password(password),
        "roles": roles,
        "create_at": now,
        "update_at": now,
        "delete_at": 0,
        "first_name": str(body.get("first_name") or ""),
        "last_name": str(body.get("last_name") or ""),
        "nickname": str(body.get("nickname") or ""),
    }
    store.insert("users", row)
    return row


async def create_user(ctx: Ctx) -> Response:
    body = await ctx.json_object("user")
    store = ctx.state.store
    first = store.one("SELECT 1 FROM users LIMIT 1") is None
    if first:
        roles = "system_admin system_user"
    elif (ctx.has_session and ctx.state.authz.to(ctx.session, "manage_system")) or (
        ctx.state.config.get("TeamSettings", "EnableOpenServer")
    ):
        roles = "system_user"
    else:
        raise AppError("api.user.create_user.no_open_server", 403)
    return json_response(user_json(create_user_row(ctx.state, body, roles)), 201)


def new_session(state: State, user_id: str) -> tuple[str, str]:
    """(token, csrf): the session row's id doubles as its CSRF value (the `MMCSRF` cookie)."""
    token = new_id()
    csrf = new_id()
    state.store.insert(
        "sessions", {"token": token, "id": csrf, "user_id": user_id, "create_at": now_ms()}
    )
    return token, csrf


def revoke_sessions(state: State, user_id: str) -> None:
    """`RevokeAllSessions`: the sessions go from the store and from the session cache. The seeded
    fault session-cache-survives-deactivation leaves the cache alone, so a token already used
    (cached) keeps working after the deactivation; one never used is refused."""
    state.store.run("DELETE FROM sessions WHERE user_id = ?", user_id)
    if state.fault("session-cache-survives-deactivation"):
        return
    for token in [t for t, (uid, _) in state.session_cache.items() if uid == user_id]:
        del state.session_cache[token]


async def login(ctx: Ctx) -> Response:
    body = await ctx.json_object("login_id")
    login_id = str(body.get("login_id") or "")
    password = str(body.get("password") or "")
    if not password:
        raise AppError("api.user.login.blank_pwd.app_error", 400)
    user = ctx.state.store.one(
        "SELECT * FROM users WHERE username = ? OR email = ?", login_id, login_id.lower()
    )
    masked = AppError("api.user.login.invalid_credentials_email_username", 401)
    if user is None:
        raise masked
    if user["delete_at"]:
        raise AppError("api.user.login.inactive.app_error", 401)
    if not check_password(str(user["password_hash"]), password):
        raise masked
    token, csrf = new_session(ctx.state, str(user["id"]))
    resp = json_response(user_json(user), 200, {"Token": token})
    if ctx.request.headers.get("x-requested-with") == "XMLHttpRequest":
        # AttachSessionCookies: only browser-style (XHR) logins get cookies.
        resp.set_cookie("MMAUTHTOKEN", token, path="/", httponly=True)
        resp.set_cookie("MMUSERID", str(user["id"]), path="/")
        resp.set_cookie("MMCSRF", csrf, path="/")
    return resp


async def logout(ctx: Ctx) -> Response:
    if ctx.has_session:
        ctx.state.store.run("DELETE FROM sessions WHERE token = ?", ctx.session.token)
        ctx.state.session_cache.pop(ctx.session.token, None)
    resp = status_ok()
    resp.headers["Set-Cookie"] = "MMAUTHTOKEN=; Path=/; Max-Age=0; HttpOnly"
    return resp


def _target_user(ctx: Ctx) -> dict[str, Any]:
    raw = str(ctx.request.path_params.get("user_id", ""))
    user_id = ctx.session.user_id if raw == "me" else ctx.path_id("user_id")
    user = ctx.state.store.one("SELECT * FROM users WHERE id = ?", user_id)
    if user is None:
        raise AppError("app.user.missing_account.const", 404)
    return user


async def get_user(ctx: Ctx) -> Response:
    return json_response(user_json(_target_user(ctx)))


async def update_roles(ctx: Ctx) -> Response:
    ctx.path_id("user_id")
    body = await ctx.json_object("roles")
    roles = str(body.get("roles") or "")
    if not valid_user_roles(roles):
        raise invalid_body_param("roles")
    if not ctx.state.authz.to(ctx.session, "manage_roles"):
        raise permission_error(ctx.session.user_id, "manage_roles")
    user = _target_user(ctx)
    ctx.state.store.run(
        "UPDATE users SET roles = ?, update_at = ? WHERE id = ?", roles, now_ms(), user["id"]
    )
    return status_ok()


def _may_deactivate(ctx: Ctx, user_id: str, perm: str) -> None:
    own = user_id == ctx.session.user_id
    if own and ctx.state.config.get("ServiceSettings", "EnableUserDeactivation"):
        return
    if not ctx.state.authz.to(ctx.session, perm):
        raise permission_error(ctx.session.user_id, perm)


def set_active(state: State, user_id: str, active: bool) -> None:
    now = now_ms()
    state.store.run(
        "UPDATE users SET delete_at = ?, update_at = ? WHERE id = ?",
        0 if active else now,
        now,
        user_id,
    )
    if not active and not state.fault("auth-deactivated-user-accepted"):
        revoke_sessions(state, user_id)


async def update_active(ctx: Ctx) -> Response:
    user_id = ctx.path_id("user_id")
    body = await ctx.json_object("active")
    active = body.get("active")
    if not isinstance(active, bool):
        raise invalid_body_param("active")
    _may_deactivate(ctx, user_id, "manage_system")
    user = _target_user(ctx)
    set_active(ctx.state, str(user["id"]), active)
    return status_ok()


async def delete_user(ctx: Ctx) -> Response:
    user_id = ctx.path_id("user_id")
    _may_deactivate(ctx, user_id, "edit_other_users")
    user = _target_user(ctx)
    if ctx.query_flag("permanent"):
        if not ctx.state.config.get("ServiceSettings", "EnableAPIUserDeletion"):
            raise AppError("api.user.delete_user.not_enabled.app_error", 401)
        if not ctx.state.authz.to(ctx.session, "manage_system"):
            raise permission_error(ctx.session.user_id, "manage_system")
    set_active(ctx.state, str(user["id"]), False)
    return status_ok()


def _swap_member_roles(state: State, user_id: str, to_guest: bool) -> None:
    team_roles = "team_guest" if to_guest else "team_user"
    channel_roles = "channel_guest" if to_guest else "channel_user"
    state.store.run("UPDATE team_members SET roles = ? WHERE user_id = ?", team_roles, user_id)
    state.store.run(
        "UPDATE channel_members SET roles = ? WHERE user_id = ?", channel_roles, user_id
    )


async def demote(ctx: Ctx) -> Response:
    ctx.path_id("user_id")
    if ctx.state.license is None:
        raise AppError("api.team.demote_user_to_guest.license.error", 501)
    if not ctx.state.config.get("GuestAccountsSettings", "Enable"):
        raise AppError("api.team.demote_user_to_guest.disabled.error", 501)
    if not ctx.state.authz.to(ctx.session, "demote_to_guest"):
        raise permission_error(ctx.session.user_id, "demote_to_guest")
    user = _target_user(ctx)
    if "system_guest" in str(user["roles"]).split():
        raise AppError("api.user.demote_user_to_guest.already_guest.app_error", 501)
    ctx.state.store.run("UPDATE users SET roles = 'system_guest' WHERE id = ?", user["id"])
    _swap_member_roles(ctx.state, str(user["id"]), True)
    return status_ok()


async def promote(ctx: Ctx) -> Response:
    ctx.path_id("user_id")
    if not ctx.state.authz.to(ctx.session, "promote_guest"):
        raise permission_error(ctx.session.user_id, "promote_guest")
    user = _target_user(ctx)
    if "system_guest" not in str(user["roles"]).split():
        raise AppError("api.user.promote_guest_to_user.no_guest.app_error", 501)
    ctx.state.store.run("UPDATE users SET roles = 'system_user' WHERE id = ?", user["id"])
    _swap_member_roles(ctx.state, str(user["id"]), False)
    return status_ok()


async def create_token(ctx: Ctx) -> Response:
    user_id = ctx.path_id("user_id")
    if not ctx.state.config.get("ServiceSettings", "EnableUserAccessTokens"):
        raise AppError("api.user.create_user_access_token.disabled.app_error", 501)
    body = await ctx.json_object("description")
    description = str(body.get("description") or "")
    if not ctx.state.authz.to(ctx.session, "create_user_access_token"):
        raise permission_error(ctx.session.user_id, "create_user_access_token")
    if user_id != ctx.session.user_id and not ctx.state.authz.to(ctx.session, "edit_other_users"):
        raise permission_error(ctx.session.user_id, "edit_other_users")
    if not description:
        raise AppError("model.user_access_token.is_valid.description.app_error", 400)
    user = _target_user(ctx)
    row = {
        "id": new_id(),
        "token": new_id(),
        "user_id": user["id"],
        "description": description,
        "is_active": 1,
    }
    ctx.state.store.insert("access_tokens", row)
    return json_response({**row, "is_active": True})


async def revoke_token(ctx: Ctx) -> Response:
    """`api4/user.go revokeUserAccessToken`: revoke_user_access_token (system), the token by id
    (`GetUserAccessToken`: unknown → 404 app.user_access_token.get_by_user.app_error), and
    edit_other_users for someone else's token (`SessionHasPermissionToUserOrBot`); then
    `App.RevokeUserAccessToken` deletes the token and revokes the session made from it (cache
    included: a revoked PAT is 401 at once). The seeded fault revoked-pat-still-accepted deletes
    the token but keeps the cached session. Upstream does not return after an empty token_id's
    SetInvalidParam; here that is simply 400 invalid_body_param (not checked by the suite)."""
    body = await ctx.json_object("token_id")
    token_id = str(body.get("token_id") or "")
    if not token_id:
        raise invalid_body_param("token_id")
    if not ctx.state.authz.to(ctx.session, "revoke_user_access_token"):
        raise permission_error(ctx.session.user_id, "revoke_user_access_token")
    row = ctx.state.store.one("SELECT * FROM access_tokens WHERE id = ?", token_id)
    if row is None:
        raise AppError("app.user_access_token.get_by_user.app_error", 404)
    if row["user_id"] != ctx.session.user_id and not ctx.state.authz.to(
        ctx.session, "edit_other_users"
    ):
        raise permission_error(ctx.session.user_id, "edit_other_users")
    ctx.state.store.run("DELETE FROM access_tokens WHERE id = ?", token_id)
    if not ctx.state.fault("revoked-pat-still-accepted"):
        ctx.state.session_cache.pop(str(row["token"]), None)
    return status_ok()


async def update_password(ctx: Ctx) -> Response:
    """`api4/user.go updatePassword` (plain-password flow): yourself with current_password, or
    another user with manage_system (target is an admin) or
    sysconsole_write_user_management_users (anyone else); otherwise 403. The "already_hashed"
    flow is not modelled. Upstream then mails the user (`UpdatePasswordByUserIdSendEmail`)."""
    ctx.path_id("user_id")
    body = await ctx.json_object("new_password")
    new_password = str(body.get("new_password") or "")
    user = _target_user(ctx)
    is_admin = "system_admin" in str(user["roles"]).split()
    needed = "manage_system" if is_admin else "sysconsole_write_user_management_users"
    if user["id"] == ctx.session.user_id:
        current = str(body.get("current_password") or "")
        if not current:
            raise invalid_body_param("current_password")
        if not check_password(str(user["password_hash"]), current):
            raise AppError("api.user.check_user_password.invalid.app_error", 401)
    elif not ctx.state.authz.to(ctx.session, needed):
        raise AppError("api.user.update_password.context.app_error", 403)
    if len(new_password) < 5:
        raise AppError("model.user.is_valid.pwd_length.app_error", 400)
    ctx.state.store.run(
        "UPDATE users SET password_hash = ?, update_at = ? WHERE id = ?",
        hash_password(new_password),
        now_ms(),
        user["id"],
    )
    return status_ok()


async def filtered_users_stats(ctx: Ctx) -> Response:
    """`getFilteredUsersStats` (api4/user.go): `User().Count(UserCountOptions{…})` from the query;
    with no parameters the options are zero, the very count SaveLicense compares with
    `features.users` (deleted users and bots excluded; this server has no bots)."""
    include_deleted = ctx.query_flag("include_deleted")
    if not ctx.state.authz.to(ctx.session, "sysconsole_read_user_management_users"):
        raise permission_error(ctx.session.user_id, "sysconsole_read_user_management_users")
    sql = "SELECT COUNT(*) AS n FROM users" + ("" if include_deleted else " WHERE delete_at = 0")
    row = ctx.state.store.one(sql)
    return json_response({"total_users_count": int(row["n"]) if row else 0})


ROUTES = [
    Route("/api/v4/users", endpoint(create_user, session=False), methods=["POST"]),
    Route("/api/v4/users/stats/filtered", endpoint(filtered_users_stats), methods=["GET"]),
    Route("/api/v4/users/{user_id:mmid}/password", endpoint(update_password), methods=["PUT"]),
    Route("/api/v4/users/tokens/revoke", endpoint(revoke_token), methods=["POST"]),
    Route("/api/v4/users/login", endpoint(login, session=False), methods=["POST"]),
    Route("/api/v4/users/logout", endpoint(logout, session=False), methods=["POST"]),
    Route("/api/v4/users/{user_id:mmid}", endpoint(get_user), methods=["GET"]),
    Route("/api/v4/users/{user_id:mmid}/roles", endpoint(update_roles), methods=["PUT"]),
    Route("/api/v4/users/{user_id:mmid}/active", endpoint(update_active), methods=["PUT"]),
    Route("/api/v4/users/{user_id:mmid}", endpoint(delete_user), methods=["DELETE"]),
    Route("/api/v4/users/{user_id:mmid}/demote", endpoint(demote), methods=["POST"]),
    Route("/api/v4/users/{user_id:mmid}/promote", endpoint(promote), methods=["POST"]),
    Route("/api/v4/users/{user_id:mmid}/tokens", endpoint(create_token), methods=["POST"]),
]
