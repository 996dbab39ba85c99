"""`create_app(settings)`: the Starlette app of the reference server.

Routes use the `mmid` convertor (`[A-Za-z0-9]+`, like gorilla's `{file_id:[A-Za-z0-9]+}`), so a
non-alphanumeric id misses the route; a wrong-length alphanumeric id reaches the handler and gets
400 `api.context.invalid_url_param.app_error`. What answers a miss (the /api/v4 catch-all, the
webapp, gorilla's own 301/404/405) is `routing.py`, established by running gorilla/mux
(tests/oracle/routing.go).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware

from mmconform.reference import (
    channels,
    files,
    license_api,
    licensing,
    lookups,
    posts,
    routing,
    scheme_roles,
    system,
    teams,
    upload,
    users,
)
from mmconform.reference.authz import Authz
from mmconform.reference.config import Config
from mmconform.reference.context import CommonHeaders, State
from mmconform.reference.deployment import subpath_of
from mmconform.reference.routing import PathCleaning
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
        faults=faults,
    )
    if settings.license_public_key is not None:
        public_pem = Path(settings.license_public_key).read_bytes()
    else:
        public_pem = licensing.load_or_create_keypair(data_dir).public_key_pem
    state = State(settings, store, config, authz, public_pem, files_dir, tmp_dir)
    state.subpath = subpath_of(str(config.get("ServiceSettings", "SiteURL") or ""))
    license_api.load_active(state)
    if settings.had_trial:
        state.store.set_system(license_api.HAD_TRIAL_KEY, "true")
    _bootstrap_admin(state)
    return state


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
        *scheme_roles.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(PathCleaning), Middleware(CommonHeaders)],
        exception_handlers={405: routing.method_not_allowed},
    )
    app.state.mm = state
    # Same routes, same answers, fewer tried per request (routing.IndexedRouter).
    app.router = routing.IndexedRouter(routes=routes)
    app.router.default = routing.not_found_app
    app.router.redirect_slashes = False  # gorilla has no StrictSlash: a trailing slash misses
    return app
