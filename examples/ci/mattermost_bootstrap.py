"""Make a fresh Mattermost server ready for `mmconform run`: wait for it, create its first admin.

Standard library only, so it runs in any CI image that has the Python mmconform needs. Reads
MMCONFORM_URL, MMCONFORM_LOGIN and MMCONFORM_PASSWORD (the same variables `mmconform run` reads,
so the password is never on a command line) and MM_WAIT_SECONDS (default 300).

1. Polls GET /api/v4/system/ping until it answers 200: a new server migrates its database first.
2. POST /api/v4/users: on a server with no users the first account becomes a system admin
   (app/user.go CreateUserFromSignup allows it without an open server). On a server that already
   has users the answer is a 4xx, and the account is expected to exist already.
3. Logs in and checks the account really is a system admin, so a misconfigured job fails here
   with one clear line rather than later inside the suite.

Exit 0 ready, 1 not ready (each failure is one line on stderr; the password is never printed).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any


def _call(url: str, method: str = "GET", body: Any = None, token: str = "") -> tuple[int, Any, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("X-Requested-With", "XMLHttpRequest")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as exc:
        raw, status, headers = exc.read(), exc.code, exc.headers
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    return status, payload, headers


def wait_for_ping(base: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            status, _, _ = _call(base + "/api/v4/system/ping")
            if status == 200:
                return True
        except (OSError, urllib.error.URLError):
            pass  # not listening yet
        if time.monotonic() >= deadline:
            return False
        time.sleep(2)


def main() -> int:
    base = os.environ.get("MMCONFORM_URL", "").rstrip("/")
    login = os.environ.get("MMCONFORM_LOGIN", "")
    password = os.environ.get("MMCONFORM_PASSWORD", "")
    if not (base and login and password):
        print(
            "bootstrap: set MMCONFORM_URL, MMCONFORM_LOGIN and MMCONFORM_PASSWORD",
            file=sys.stderr,
        )
        return 1
    wait = float(os.environ.get("MM_WAIT_SECONDS", "300"))
    if not wait_for_ping(base, wait):
        print(
            f"bootstrap: {base}/api/v4/system/ping did not answer 200 in {wait:g}s", file=sys.stderr
        )
        return 1
    email = os.environ.get("MM_ADMIN_EMAIL", f"{login}@example.com")
    user = {"username": login, "email": email, "password": password}
    status, payload, _ = _call(base + "/api/v4/users", "POST", user)
    if status == 201:
        print(f"bootstrap: created the first user {login!r}")
    else:
        error_id = (payload or {}).get("id", "no error id") if isinstance(payload, dict) else "?"
        print(
            f"bootstrap: first user not created ({status} {error_id}); expecting {login!r} to exist"
        )
    status, _, headers = _call(
        base + "/api/v4/users/login", "POST", {"login_id": login, "password": password}
    )
    token = headers.get("Token", "") if headers is not None else ""
    if status != 200 or not token:
        print(
            f"bootstrap: login as {login!r} failed ({status}); check the password", file=sys.stderr
        )
        return 1
    status, me, _ = _call(base + "/api/v4/users/me", token=token)
    roles = str((me or {}).get("roles", "")) if isinstance(me, dict) else ""
    if status != 200 or "system_admin" not in roles.split():
        print(
            f"bootstrap: {login!r} is not a system admin (roles: {roles or 'none'})",
            file=sys.stderr,
        )
        return 1
    print(f"bootstrap: {base} is up and {login!r} is a system admin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
