"""The cleanup ledger: written before every create, and enough to finish cleanup after a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from suite_support import lookup_proxy, serve_app

from mmconform.cli import main
from mmconform.live_target.client import Actor, Target
from mmconform.live_target.identity import server_identity
from mmconform.live_target.ledger import Ledger, read_ledger
from mmconform.live_target.probe import probe
from mmconform.live_target.world import provision
from mmconform.reference.server import RunningServer

CREATES = {
    "/api/v4/users",
    "/api/v4/teams",
    "/api/v4/channels",
    "/api/v4/channels/direct",
    "/api/v4/channels/group",
    "/api/v4/posts",
    "/api/v4/files",
}


class SimulatedCrash(Exception):
    pass


class Watching(httpx.BaseTransport):
    """Forwards requests; checks the ledger before each create; can crash after the Nth create."""

    def __init__(
        self, ledger: Path, crash_after: int | None = None, crash_on: str | None = None
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self.ledger = ledger
        self.crash_after = crash_after
        self.crash_on = crash_on  # or crash after the first create at this path
        self.creates = 0
        self.violations: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        is_create = request.method == "POST" and request.url.path in CREATES
        if is_create:
            self.creates += 1
            records = [json.loads(line) for line in self.ledger.read_text().splitlines()]
            # Provisioning records a step's intents first, then sends its creates side by side:
            # each create must be named by an intent recorded before it and not yet created.
            done = {r["key"] for r in records if r.get("t") == "created"}
            pending = [r for r in records if r.get("t") == "intent" and r["key"] not in done]
            body = request.read()
            teamless = request.url.path.endswith(("direct", "group"))
            named = [
                r
                for r in pending
                if (
                    r.get("extra", {}).get("type") in ("D", "G")
                    if teamless
                    else r["name"].encode() in body
                )
            ]
            if not named:
                last = records[-1] if records else {}
                self.violations.append(f"{request.url.path}: last ledger record {last}")
        response = self.inner.handle_request(request)
        if is_create and (self.creates == self.crash_after or request.url.path == self.crash_on):
            response.read()
            raise SimulatedCrash(f"after create #{self.creates} {request.url.path}")
        return response


def admin_of(server: RunningServer, url: str | None = None) -> Actor:
    return probe(url or server.url, login=server.admin_login, password=server.admin_password).admin


def test_every_create_is_preceded_by_its_intent(ref_server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path, "w0")
    watcher = Watching(path)
    target = Target(ref_server.url, transport=watcher)
    world = provision(target, admin_of(ref_server), ledger, "mmcledger", seed=3)
    assert watcher.creates >= 20
    assert watcher.violations == []
    state = read_ledger(path)
    assert all(o.id is not None for o in state.objects.values())
    assert len(world.files) == 12  # 4 channel kinds x 3 file states


def _gone(target: Target, admin: Actor, kind: str, object_id: str) -> bool:
    if kind == "user":
        return int(target.api("GET", f"/users/{object_id}", admin).get("delete_at", 0)) > 0
    paths = {
        "team": f"/teams/{object_id}",
        "channel": f"/channels/{object_id}",
        "post": f"/posts/{object_id}",
    }
    response = target.request("GET", "/api/v4" + paths[kind], actor=admin)
    if response.status_code == 404:
        return True
    body: Any = response.json()
    return int(body.get("delete_at", 0)) > 0


@pytest.mark.parametrize(
    ("crash_after", "crash_on"),
    [(7, None), (None, "/api/v4/posts")],
    ids=["crash-at-user", "crash-at-post"],
)
def test_cleanup_resumes_after_a_crash(
    ref_server: RunningServer,
    tmp_path: Path,
    crash_after: int | None,
    crash_on: str | None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "ledger.jsonl"
    with serve_app(lookup_proxy(ref_server.url)) as url:
        admin = admin_of(ref_server, url)
        watcher = Watching(path, crash_after=crash_after, crash_on=crash_on)
        target = Target(url, transport=watcher)
        ledger = Ledger(path, "w0")
        ledger.bind(server_identity(Target(url), admin, "test"))
        with pytest.raises(SimulatedCrash):
            provision(target, admin, ledger, "mmccrash", seed=4)
        state = read_ledger(path)
        orphan = [o for o in state.objects.values() if o.id is None]
        # The crashed create is an intent without id; so are the rest of its step's objects,
        # whose intents were recorded before any of the step's creates (world.create_many).
        assert orphan, "the crashed create is an intent without id"
        assert {o.kind for o in orphan} == {"user" if crash_on is None else "post"}

        monkeypatch.setenv("MMCONFORM_PASSWORD", ref_server.admin_password)
        args = ["cleanup", "--ledger", str(path), "--url", url, "--login", ref_server.admin_login]
        assert main(args) == 0
        first = capsys.readouterr().out
        assert "0 left" in first
        assert ref_server.admin_password not in first

        check = Target(url)
        after = read_ledger(path).objects
        resolved = [o for o in orphan if after[o.key].id is not None]
        assert len(resolved) == 1, "the crashed create is found on the target by its name"
        for obj in after.values():
            if obj.kind == "file" or obj.removed == "never-created":
                continue
            assert obj.id is not None, f"{obj.kind} {obj.name} was never resolved"
            if obj.extra.get("type") in ("D", "G"):  # kept: the API cannot delete them
                continue
            assert _gone(check, admin, obj.kind, obj.id), f"{obj.kind} {obj.name} left behind"

        assert main(args) == 0
        assert "cleanup: 0 removed, 0 restored, 0 left" in capsys.readouterr().out
