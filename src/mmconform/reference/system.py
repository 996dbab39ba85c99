"""GET /system/ping, GET /config and PUT /config/patch (`api4/system.go`, `api4/config.go`).

GET /config answers with the sanitised config (`PublicLinkSalt` shown as the FakeSetting); the
patch keeps the old secret when the FakeSetting comes back (desanitise). Reading needs a system
console read permission (system admin, system manager, read-only admin); patching needs
`manage_system`.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference.config import ConfigError
from mmconform.reference.context import Ctx, endpoint, json_response
from mmconform.reference.errors import AppError, invalid_body_param, permission_error

PING = {
    "status": "OK",
    "AndroidLatestVersion": "",
    "AndroidMinVersion": "",
    "IosLatestVersion": "",
    "IosMinVersion": "",
    "ActiveSearchBackend": "database",
}


async def ping(ctx: Ctx) -> Response:
    return json_response(PING)


async def get_config(ctx: Ctx) -> Response:
    authz = ctx.state.authz
    if not (
        authz.to(ctx.session, "manage_system")
        or authz.to(ctx.session, "sysconsole_read_environment")
    ):
        raise permission_error(ctx.session.user_id, "sysconsole_read_environment")
    return json_response(ctx.state.config.sanitized())


async def patch_config(ctx: Ctx) -> Response:
    body = await ctx.json_body()
    if not isinstance(body, dict):
        raise invalid_body_param("config")
    if not ctx.state.authz.to(ctx.session, "manage_system"):
        raise permission_error(ctx.session.user_id, "manage_system")
    try:
        ctx.state.config.patch(body)
    except ConfigError as exc:
        raise AppError("model.config.is_valid.app_error", 400, detailed=str(exc)) from exc
    return json_response(ctx.state.config.sanitized())


ROUTES = [
    Route("/api/v4/system/ping", endpoint(ping, session=False), methods=["GET"]),
    Route("/api/v4/config", endpoint(get_config), methods=["GET"]),
    Route("/api/v4/config/patch", endpoint(patch_config), methods=["PUT"]),
]
