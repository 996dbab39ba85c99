"""Which server a ledger belongs to, so that cleanup never touches another one.

The first record of every ledger binds it to its target: the URL, the admin user the run worked
as (a 26-character id no other server shares), the username, the X-Version-Id, and the
diagnostic (telemetry) id when the server shows it (`GET /api/v4/config/client?format=old`,
`config/client.go GenerateLimitedClientConfig` sets `DiagnosticId`; newer servers may leave it
out, so it is optional). A URL alone proves nothing: a proxy, a DNS change or a restored staging
box can put another server behind it, and ids of users, teams and posts name nothing there.
"""

from __future__ import annotations

from typing import Any

from mmconform.errors import UsageError
from mmconform.live_target.client import API, Actor, Target


def diagnostic_id(target: Target, admin: Actor) -> str:
    """The server's diagnostic id, or '' when it does not show one."""
    try:
        response = target.request("GET", API + "/config/client?format=old", actor=admin)
        body = response.json() if response.status_code == 200 else {}
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("DiagnosticId") or body.get("TelemetryId") or "")


def server_identity(target: Target, admin: Actor, version_id: str) -> dict[str, Any]:
    return {
        "url": target.base_url,
        "admin_user_id": admin.user_id or "",
        "admin_username": admin.username or "",
        "version_id": version_id,
        "diagnostic_id": diagnostic_id(target, admin),
    }


def check_same_server(
    target: Target, admin: Actor, bound: dict[str, Any] | None, ledger: str
) -> list[str]:
    """UsageError unless `target` is the server `bound` describes; notes worth printing."""
    if not bound or not bound.get("admin_user_id"):
        raise UsageError(
            f"{ledger}: the ledger does not name the server it was written on (an older "
            "mmconform, or not a run's ledger); nothing was touched"
        )
    where = f"{target.base_url} is not the server of {ledger} (written on {bound.get('url')})"
    now = diagnostic_id(target, admin)
    if bound.get("diagnostic_id") and now and now != bound["diagnostic_id"]:
        raise UsageError(f"{where}: diagnostic id differs; give that server's --url")
    response = target.request("GET", f"{API}/users/{bound['admin_user_id']}", actor=admin)
    try:
        user = response.json() if response.status_code == 200 else {}
    except ValueError:
        user = {}
    if not isinstance(user, dict) or user.get("username") != bound.get("admin_username"):
        raise UsageError(
            f"{where}: it has no user {bound.get('admin_username')!r} with the run admin's id; "
            "give that server's --url"
        )
    notes = []
    if bound.get("url") != target.base_url:
        notes.append(f"note: the run used {bound.get('url')}; same server, reached differently")
    return notes
