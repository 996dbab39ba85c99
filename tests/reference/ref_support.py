"""Helpers for the reference-server tests: an HTTP client per actor and a small world builder.

Tests talk to the server only over HTTP (loopback), exactly as the suite does.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mmconform.reference import RunningServer
from mmconform.reference.licensing import DAY_MS, mint_license

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
_COUNTER = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{int(time.time() * 1000) % 10**8}{next(_COUNTER)}"


class Api:
    """One actor: an httpx client with that actor's bearer token (or none)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)
        self.url = url
        self.token = token

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def head(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.head(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.put(path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def ok(self, resp: httpx.Response, status: int = 200) -> Any:
        assert resp.status_code == status, resp.text
        return resp.json()

    def upload(
        self, channel_id: str, name: str = "a.txt", data: bytes = b"hello", **params: str
    ) -> httpx.Response:
        return self.post(
            "/api/v4/files",
            data={"channel_id": channel_id},
            files={"files": (name, data, "application/octet-stream")},
            params=params,
        )

    def upload_id(self, channel_id: str, name: str = "a.txt", data: bytes = b"hello") -> str:
        body = self.ok(self.upload(channel_id, name, data), 201)
        return str(body["file_infos"][0]["id"])

    def patch_config(self, section: str, **values: Any) -> None:
        self.ok(self.put("/api/v4/config/patch", json={section: values}))


def error_id(resp: httpx.Response) -> str:
    return str(resp.json()["id"])


@dataclass
class World:
    """Admin, a team with a public and a private channel, and a member user in both."""

    server: RunningServer
    admin: Api
    team_id: str
    public_id: str
    private_id: str
    member: Api
    member_id: str

    def new_user(self, *, team: bool = False, channels: tuple[str, ...] = ()) -> tuple[Api, str]:
        name = unique("u")
        body = {"username": name, "email": f"{name}@example.com", "password": "pw-" + name}
        user = self.admin.ok(self.admin.post("/api/v4/users", json=body), 201)
        if team:
            self.admin.ok(
                self.admin.post(
                    f"/api/v4/teams/{self.team_id}/members",
                    json={"team_id": self.team_id, "user_id": user["id"]},
                ),
                201,
            )
        for channel in channels:
            self.admin.ok(
                self.admin.post(
                    f"/api/v4/channels/{channel}/members", json={"user_id": user["id"]}
                ),
                201,
            )
        return login(self.server.url, name, "pw-" + name), str(user["id"])

    def post_with(self, api: Api, channel_id: str, file_ids: list[str]) -> str:
        body = {"channel_id": channel_id, "message": "m", "file_ids": file_ids}
        return str(api.ok(api.post("/api/v4/posts", json=body), 201)["id"])

    def mint(self, **kw: Any) -> str:
        key = self.server.signing_key_path
        assert key is not None
        kw.setdefault("users", 1000)
        kw.setdefault("expires_at_ms", int(time.time() * 1000) + 30 * DAY_MS + 5 * 3600_000)
        return mint_license(Path(key).read_bytes(), **kw)


def login(url: str, login_id: str, password: str) -> Api:
    resp = httpx.post(
        f"{url}/api/v4/users/login", json={"login_id": login_id, "password": password}
    )
    assert resp.status_code == 200, resp.text
    return Api(url, resp.headers["Token"])


def build_world(server: RunningServer) -> World:
    admin = login(server.url, server.admin_login, server.admin_password)
    team = admin.ok(
        admin.post("/api/v4/teams", json={"name": unique("t"), "display_name": "T", "type": "O"}),
        201,
    )
    chans = []
    for ctype in ("O", "P"):
        body = {"team_id": team["id"], "name": unique("c"), "display_name": "C", "type": ctype}
        chans.append(admin.ok(admin.post("/api/v4/channels", json=body), 201)["id"])
    world = World(server, admin, team["id"], chans[0], chans[1], Api(server.url), "")
    world.member, world.member_id = world.new_user(team=True, channels=(chans[0], chans[1]))
    return world
