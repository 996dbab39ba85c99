"""`create_app(settings)`: the Starlette app of the reference server.

Routes use the `mmid` convertor (`[A-Za-z0-9]+`, like gorilla's `{file_id:[A-Za-z0-9]+}`), so a
non-alphanumeric id misses the route and gets the router's 404 (`api.context.404.app_error`,
`Handle404`: JSON under /api/, an HTML page elsewhere); a wrong-length alphanumeric id reaches the
handler and gets 400 `api.context.invalid_url_param.app_error`.

Looked up: `Handle404` (app/server.go, web/handlers.go) builds `api.context.404.app_error` and
renders it through `RenderWebAppError`, which answers JSON for `/api/` paths.

A known path with the wrong method: api4/api.go `Init` registers, after every API route, the
catch-all `srv.Router.Handle("/api/v4/{anything:.*}", api.Handle404)`. gorilla/mux (1.8) records a
method mismatch but keeps looking, and a later route that matches fully clears it, so under
/api/v4 a wrong method (HEAD on a GET-only route included: mux does not map HEAD to GET) is the
same 404 `api.context.404.app_error`. Outside /api/v4 (the public file route) nothing matches
and mux answers its plain 405. (The mux behaviour is read from its Route.Match, not run.)
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from mmconform.reference import (
    channels,
    files,
    license_api,
    licensing,
    lookups,
    posts,
    system,
    teams,
    upload,
    users,
)
from mmconform.reference.authz import Authz
from mmconform.reference.config import Config
from mmconform.reference.context import CommonHeaders, State, error_response
from mmconform.reference.deployment import subpath_of
from mmconform.reference.errors import AppError
from mmconform.reference.settings import Settings
from mmconform.reference.store import Store

CREDENTIALS_FILE = "admin-credentials.json"


def _write_private_json(path: Path, data: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    tmp.replace(path)


def admin_password_for(settings: Settings) -> str:
    """The given password, else the one remembered in the data dir, else a fresh random one."""
    if settings.admin_password:
        return settings.admin_password
    cred = settings.data_dir / CREDENTIALS_FILE
    if cred.exists():
        stored = json.loads(cred.read_text())
        if stored.get("login") == settings.admin_login and stored.get("password"):
            return str(stored["password"])
    return secrets.token_urlsafe(18)


def _bootstrap_admin(state: State) -> None:
    settings = state.settings
    password = admin_password_for(settings)
    login = settings.admin_login
    row = state.store.one("SELECT * FROM users WHERE username = ?", login)
    if row is None:
        body = {"username": login, "email": f"{login}@example.invalid", "password": password}
        users.create_user_row(state, body, "system_admin system_user")
    else:
        state.store.run(
            "UPDATE users SET password_hash = ?, delete_at = 0 WHERE id = ?",
            users.hash_password(password),
            row["id"],
        )
    _write_private_json(
        settings.data_dir / CREDENTIALS_FILE, {"login": login, "password": password}
    )


def build_state(settings: Settings) -> State:
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    files_dir = data_dir / "files"
    tmp_dir = data_dir / "tmp"
    files_dir.mkdir(exist_ok=True)
    tmp_dir.mkdir(exist_ok=True)
    config = Config(data_dir / "config.json", settings.config_file)
    if settings.site_url:  # `serve --site-url` stands for ServiceSettings.SiteURL
        config.values["ServiceSettings"]["SiteURL"] = settings.site_url
    store = Store(data_dir / "mmconform-reference.sqlite3")
    faults = settings.faults
    authz = Authz(
        store,
        (lambda: False)
        if "compliance-ignored" in faults
        else (lambda: bool(config.get("ComplianceSettings", "Enable"))),
        (lambda: False)
        if "license-restricted-admin-allowed" in faults
        else (lambda: bool(config.get("ExperimentalSettings", "RestrictSystemAdmin"))),
    )
    if settings.license_public_key is not None:
        public_pem = Path(settings.license_public_key).read_bytes()
    else:
        public_pem = licensing.load_or_create_keypair(data_dir).public_key_pem
    state = State(settings, store, config, authz, public_pem, files_dir, tmp_dir)
    state.subpath = subpath_of(str(config.get("ServiceSettings", "SiteURL") or ""))
    license_api.load_active(state)
    _bootstrap_admin(state)
    return state


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    state: State = request.app.state.mm
    err = AppError(
        "api.context.404.app_error",
        404,
        detailed=f"There doesn't appear to be an api call for the url='{request.url.path}'.",
    )
    response: Response = error_response(err, request, state)
    await response(scope, receive, send)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """Starlette raises 405 for a known path with another method; see the module docstring."""
    if request.url.path.startswith("/api/v4/"):
        state: State = request.app.state.mm
        err = AppError(
            "api.context.404.app_error",
            404,
            detailed=f"There doesn't appear to be an api call for the url='{request.url.path}'.",
        )
        return error_response(err, request, state)
    headers = getattr(exc, "headers", None)
    return PlainTextResponse("405 method not allowed", status_code=405, headers=headers)


def create_app(settings: Settings) -> Starlette:
    """The ASGI app; builds (or reopens) the data dir, its config, store, keys and admin."""
    state = build_state(settings)
    routes = [
        *system.ROUTES,
        *users.ROUTES,
        *teams.ROUTES,
        *channels.ROUTES,
        *posts.ROUTES,
        *upload.ROUTES,
        *files.ROUTES,
        *license_api.ROUTES,
        *lookups.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(CommonHeaders)],
        exception_handlers={405: _method_not_allowed},
    )
    app.state.mm = state
    app.router.default = _not_found
    return app
