"""Probe a target before anything is created on it.

Every failure here is the user's to fix (wrong URL, not a Mattermost server, bad credentials, not an
admin), so each becomes one `UsageError` line naming the URL or user and the fix, exit code 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from mmconform.errors import TargetFailed, UsageError
from mmconform.live_target.client import API, Actor, Target, error_id_of
from mmconform.versions import parse_version

_VERSION_ID = re.compile(r"^\d+\.\d+\.\d+")


@dataclass(frozen=True)
class ProbeResult:
    url: str
    version_id: str
    version: str | None
    admin: Actor = field(repr=False)
    roles: str = ""
    # True when the probe logged in with a password: that session is the suite's to end
    # (`logout`); a token the user gave is never revoked.
    logged_in: bool = False
    # The licence as the run found it: {"licensed": bool, "sku": SkuShortName or None}. An
    # Enterprise image without a licence file may still run licensed as the "entry" SKU
    # (model.LicenseShortSkuMattermostEntry, which behaves as Enterprise), and guest rows and
    # licence rows then apply where an unlicensed server's would not.
    licence: dict[str, object] = field(default_factory=dict)


def check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port that is no number or out of range)
    except ValueError as exc:
        raise UsageError(
            f"--url {url!r} is not a valid URL ({exc}); give the server root, "
            "e.g. https://chat.example.com"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise UsageError(
            f"--url {url!r} is not an http(s) URL; give the server root, "
            "e.g. https://chat.example.com"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"--url {url!r} has a query or fragment; give the server root only")
    return url.rstrip("/")


def version_from_header(version_id: str) -> str | None:
    """`11.5.0.12345.abc.true` → `11.5.0`; `developer` → None (unknown)."""
    match = _VERSION_ID.match(version_id)
    return match.group(0) if match else None


def _ping(target: Target) -> str:
    url = target.url(API + "/system/ping")
    try:
        response = target.request("GET", API + "/system/ping")
    except TargetFailed as exc:
        cause = str(exc).split(": ", 1)[-1]
        raise UsageError(
            f"cannot reach {url} ({cause}); check --url and that the server is running "
            "and reachable from here"
        ) from None
    content_type = response.headers.get("content-type", "")
    version_id = str(response.headers.get("x-version-id", ""))
    is_json = content_type.split(";")[0].strip() == "application/json"
    if response.status_code != 200 or not is_json or not version_id:
        raise UsageError(
            f"{url} does not look like Mattermost (answered {response.status_code} "
            f"{content_type or 'no content type'}, "
            f"{'X-Version-Id ' + version_id if version_id else 'no X-Version-Id'}); "
            "point --url at the Mattermost server root, without /api/v4"
        )
    return version_id


def _login(target: Target, login: str, password: str) -> Actor:
    response = target.request(
        "POST", API + "/users/login", json={"login_id": login, "password": password}
    )
    token = response.headers.get("token", "")
    if response.status_code != 200 or not token:
        raise UsageError(
            f"login as {login!r} failed at {target.base_url} ({response.status_code} "
            f"{error_id_of(response) or 'no error id'}); check --login and --password"
        )
    target.secrets.add(token)
    return Actor(name="system_admin", token=token)


def _whoami(target: Target, actor: Actor, how: str) -> tuple[Actor, str]:
    response = target.request("GET", API + "/users/me", actor=actor)
    if response.status_code != 200:
        raise UsageError(
            f"{how} was rejected by {target.base_url} ({response.status_code} "
            f"{error_id_of(response) or 'no error id'}); give a valid token or "
            "--login/--password of a system admin"
        )
    try:
        me = response.json()
    except ValueError:
        me = None
    if not isinstance(me, dict) or not isinstance(me.get("id"), str) or not me["id"]:
        raise UsageError(
            f"{target.base_url} answered GET /api/v4/users/me without a user (no JSON object with "
            "an id); it does not behave like Mattermost: check --url"
        )
    roles = str(me.get("roles", ""))
    username = str(me.get("username", "?"))
    if "system_admin" not in roles.split():
        raise UsageError(
            f"user {username!r} is not a system admin (roles: {roles or 'none'}); "
            "the suite creates users, teams and config changes, so use a system admin account"
        )
    return Actor(
        name="system_admin", token=actor.token, user_id=str(me["id"]), username=username
    ), roles


def probe(
    url: str,
    *,
    token: str | None = None,
    login: str | None = None,
    password: str | None = None,
    server_version: str | None = None,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> ProbeResult:
    """Reachable, speaks Mattermost, credentials are a system admin; detect the version."""
    url = check_url(url)
    if token and (login or password):
        raise UsageError("give either --token or --login/--password, not both")
    if not token and not (login and password):
        raise UsageError(
            "no credentials: give --token (a system admin's personal access token) "
            "or both --login and --password"
        )
    if server_version is not None:
        try:
            parse_version(server_version)
        except ValueError:
            raise UsageError(
                f"--server-version {server_version!r} is not a version; write e.g. 11.5.0"
            ) from None
    target = Target(url, timeout=timeout, transport=transport)
    target.secrets.add(token)
    target.secrets.add(password)
    try:
        version_id = _ping(target)
        if token:
            admin, roles = _whoami(target, Actor("system_admin", token=token), "the token")
        else:
            assert login is not None and password is not None
            session = _login(target, login, password)
            try:
                admin, roles = _whoami(target, session, f"login {login!r}")
            except UsageError:  # not usable: the session we opened is ended at once
                target.request("POST", API + "/users/logout", actor=session)
                raise
        licence = licence_facts(target, admin)
    finally:
        target.close()
    version = server_version or version_from_header(version_id)
    return ProbeResult(
        url=url,
        version_id=version_id,
        version=version,
        admin=admin,
        roles=roles,
        logged_in=not token,
        licence=licence,
    )


def licence_facts(target: Target, admin: Actor) -> dict[str, object]:
    """Licensed or not, and the SKU (`GET /api/v4/license/client?format=old`, api4/license.go
    getClientLicense: IsLicensed, SkuShortName); {} when the target does not say."""
    try:
        response = target.request("GET", API + "/license/client?format=old", actor=admin)
        body = response.json() if response.status_code == 200 else None
    except (TargetFailed, ValueError):
        return {}
    if not isinstance(body, dict):
        return {}
    licensed = str(body.get("IsLicensed", "false")) == "true"
    sku = str(body.get("SkuShortName") or "") or None
    return {"licensed": licensed, "sku": sku if licensed else None}


def logout(result: ProbeResult, *, transport: httpx.BaseTransport | None = None) -> None:
    """End the session the probe logged in (POST /api/v4/users/logout revokes the session of
    the token it is sent with, `api4/user.go Logout`); a token the user gave stays valid."""
    if not result.logged_in:
        return
    target = Target(result.url, transport=transport)
    try:
        target.request("POST", API + "/users/logout", actor=result.admin)
    except TargetFailed:
        pass  # the target is gone; so is the session's use
    finally:
        target.close()
