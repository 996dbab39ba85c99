"""Server config changes: read, patch, restore, always through the ledger.

A setting is named by its dotted path (`FileSettings.EnablePublicLink`). The value recorded for a
restore is what GET /config returned, so secrets are recorded in their sanitised form and sending
that form back keeps the old secret (the real server's documented round-trip).
"""

from __future__ import annotations

from typing import Any

import httpx

from mmconform.live_target.client import API, Actor, Target
from mmconform.live_target.ledger import Ledger

SANITISED = "********************************"


def get_setting(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def nested_patch(values: dict[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for dotted, value in values.items():
        node = patch
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return patch


def read_config(target: Target, admin: Actor) -> dict[str, Any]:
    config = target.api("GET", "/config", admin)
    return config if isinstance(config, dict) else {}


def differences(config: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if get_setting(config, k) != v}


def apply_settings(
    target: Target, admin: Actor, ledger: Ledger, wanted: dict[str, Any]
) -> list[tuple[str, str, Any]]:
    """Patch what differs; returns (ledger key, setting, old value) for each change made."""
    config = read_config(target, admin)
    changes = differences(config, wanted)
    made: list[tuple[str, str, Any]] = []
    for setting in changes:
        old = get_setting(config, setting)
        made.append((ledger.config_change(setting, old, changes[setting]), setting, old))
    if changes:
        target.api("PUT", "/config/patch", admin, json=nested_patch(changes))
        _await_settings(target, admin, changes)
    return made


def _await_settings(target: Target, admin: Actor, wanted: dict[str, Any]) -> None:
    """On a cluster the node answering the next request may not have the new config yet."""

    def read() -> httpx.Response:
        return target.request("GET", API + "/config", actor=admin)

    def done(response: httpx.Response) -> bool:
        try:
            return response.status_code == 200 and not differences(response.json(), wanted)
        except ValueError:
            return False

    target.eventually(read, done)


def restore_settings(
    target: Target, admin: Actor, ledger: Ledger, made: list[tuple[str, str, Any]]
) -> None:
    if not made:
        return
    target.api("PUT", "/config/patch", admin, json=nested_patch({s: old for _, s, old in made}))
    _await_settings(target, admin, {s: old for _, s, old in made if old != SANITISED})
    for key, _, _ in made:
        ledger.config_restored(key)
