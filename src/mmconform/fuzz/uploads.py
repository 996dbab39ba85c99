"""Fuzzed uploads go into the cleanup ledger like every other object the suite creates.

A generated POST /api/v4/files that the server accepts creates files nobody asked for by name;
without a ledger entry cleanup could not find them (no API lists a user's unattached files). The
intent is written before the request, each created file id right after the answer; cleanup then
retires them like any other unattached file (live_target/cleanup.py `retire_files`).
"""

from __future__ import annotations

from typing import Any

UPLOAD = "POST /api/v4/files"


def before(fuzz: Any, case: Any) -> str | None:
    """The ledger key of the upload `case` is about to make, or None (not an upload)."""
    world = getattr(fuzz, "world", None)
    if world is None or case.operation.label != UPLOAD:
        return None
    return str(world.ledger.intent("file", f"{world.prefix} fuzz upload", via="fuzz"))


def after(fuzz: Any, key: str | None, response: Any) -> None:
    """Complete the intent with every file the server says it created (or mark none made)."""
    if key is None:
        return
    ledger = fuzz.world.ledger
    ids: list[str] = []
    if response is not None and 200 <= int(response.status_code) < 300:
        try:
            body = response.json()
            infos = body.get("file_infos") if isinstance(body, dict) else None
            ids = [str(i["id"]) for i in infos or [] if isinstance(i, dict) and i.get("id")]
        except (ValueError, TypeError):
            ids = []
    if not ids:
        # 2xx without file ids cannot be followed up; anything else created nothing.
        ledger.removed(key, "never-created")
        return
    ledger.created(key, ids[0])
    for extra in ids[1:]:  # one request, several files: each its own entry
        ledger.created(ledger.intent("file", f"{fuzz.world.prefix} fuzz upload", via="fuzz"), extra)
