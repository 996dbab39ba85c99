"""The target client: tokens never leave in clear, cookies never authenticate the next actor."""

from __future__ import annotations

import httpx

from mmconform.live_target.client import Actor, Secrets, Target, curl_line, error_id_of


def test_no_cookie_survives_to_the_next_request() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "MMAUTHTOKEN=sessiontoken; Path=/"})

    target = Target("http://127.0.0.1:9", transport=httpx.MockTransport(handler))
    target.request("POST", "/api/v4/users/login", json={"login_id": "a", "password": "b"})
    target.request("GET", "/api/v4/files/x", actor=Actor("anonymous"))
    assert seen == [None, None]


def test_tokens_are_redacted_and_never_in_repro_lines() -> None:
    secrets = Secrets()
    token = "abcdefghijklmnopqrstuvwxyz"
    actor = Actor("guest_in_channel", token=token)
    line = curl_line("GET", "http://h/api/v4/files/x", actor)
    assert token not in line and "$MM_TOKEN_GUEST_IN_CHANNEL" in line
    secrets.add(token)
    assert secrets.redact(f"Bearer {token}!") == "Bearer <redacted>!"


def test_error_id_only_from_error_answers() -> None:
    body = {"id": "x" * 26, "message": "m"}
    assert error_id_of(httpx.Response(200, json=body)) == ""
    assert error_id_of(httpx.Response(403, json=body)) == "x" * 26
    assert error_id_of(httpx.Response(404, text="<html>")) == ""
