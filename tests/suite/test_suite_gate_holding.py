"""gate.holding: one exclusive section of settings for a batch of rows (overlap.batch_key)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx

from mmconform.live_target.client import Actor, Target
from mmconform.live_target.gate import Gate, Permissions
from mmconform.live_target.ledger import Ledger


def _target(config: dict[str, Any], sent: list[str]) -> Target:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url.path}")
        if request.method == "PUT":
            for section, values in json.loads(request.content).items():
                config.setdefault(section, {}).update(values)
        return httpx.Response(200, json=config)

    return Target("http://mm.test", transport=httpx.MockTransport(handler))


def test_joined_threads_run_under_the_held_settings_and_they_are_restored(tmp_path: Path) -> None:
    config: dict[str, Any] = {"FileSettings": {"EnablePublicLink": True}}
    sent: list[str] = []
    target = _target(config, sent)
    gate = Gate(
        tmp_path / "lock",
        target,
        Actor("system_admin", token="t0ken-admin"),
        Ledger(tmp_path / "ledger.jsonl", "w"),
        Permissions(allow_config_changes=True),
    )
    off = {"FileSettings.EnablePublicLink": False}
    seen: list[bool] = []

    def row() -> None:
        with gate.joined(), gate.settings(off):
            seen.append(config["FileSettings"]["EnablePublicLink"])

    with gate.holding(off):
        patches = sent.count("PUT /api/v4/config/patch")
        threads = [threading.Thread(target=row) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sent.count("PUT /api/v4/config/patch") == patches, "joined rows patch nothing"
    assert seen == [False, False, False]
    assert config["FileSettings"]["EnablePublicLink"] is True, "restored after the section"
    assert sent.count("PUT /api/v4/config/patch") == 2  # one change, one restore
    target.close()
