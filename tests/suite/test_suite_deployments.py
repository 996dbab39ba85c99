"""`mmconform run` against the reference server in real deployment shapes (issue 11, section 2).

Each shape is one a genuine Mattermost server is run in, and each must give the right verdict:
rate limited at Mattermost's defaults (`RateLimitSettings` PerSec 10, MaxBurst 100,
model/config.go SetDefaults), under a SiteURL subpath (app/server.go NewServer: the router is
`PathPrefix(subpath)`), and behind a TLS-terminating proxy that adds X-Forwarded-Proto: https
and X-Forwarded-For (web/handlers.go ServeHTTP: the link's scheme is `GetProtocol(r)`). A clean
server is CONFORMANT in every shape, and a seeded fault is still killed in every shape (a short
`-k` run; the whole catalogue stays in `.ci/run`). Facts: docs/facts/deployments.md.
"""

from __future__ import annotations

import http.cookiejar
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from suite_support import Licensed, license_server, rewriting_proxy, serve_app

from mmconform.cli import main
from mmconform.live_target.client import Target
from mmconform.reference.server import running_server

DEFAULT_LIMIT = {"Enable": True, "PerSec": 10, "MaxBurst": 100}


@contextmanager
def deployed(
    tmp_path: Path,
    *,
    site_url: str | None = None,
    rate_limit: dict[str, Any] | None = None,
    faults: tuple[str, ...] = (),
) -> Iterator[Licensed]:
    """A licensed reference server in the given shape (config file as an admin would write)."""
    config: dict[str, Any] = {}
    if rate_limit is not None:
        config["RateLimitSettings"] = rate_limit
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    with running_server(
        site_url=site_url, config_file=config_file, faults=frozenset(faults)
    ) as server:
        yield license_server(server, tmp_path, now_ms=int(time.time() * 1000))


def tls_proxy(upstream: str) -> Starlette:
    """What nginx does in Mattermost's documented setup after terminating TLS: Host passed
    through, X-Forwarded-Proto https, X-Forwarded-For the client's address appended. Like
    nginx it keeps no cookies (an httpx client's jar sent one user's browser-login cookie with
    every later request: the admin's POSTs became CSRF refusals) and passes each Set-Cookie
    header on as its own line."""
    no_cookies = http.cookiejar.CookieJar(
        policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
    )
    client = httpx.AsyncClient(timeout=30, cookies=no_cookies)

    async def forward(request: Request) -> Response:
        headers = dict(request.headers)
        peer = request.client.host if request.client else "127.0.0.1"
        prior = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{prior}, {peer}" if prior else peer
        headers["x-forwarded-proto"] = "https"
        # The raw target, as nginx passes it: fuzzed paths hold %1F and the like.
        raw = bytes(request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
        query = bytes(request.scope.get("query_string", b"")).decode("latin-1")
        answer = await client.request(
            request.method,
            upstream + raw + (f"?{query}" if query else ""),
            content=await request.body(),
            headers=headers,
        )
        drop = {"content-length", "transfer-encoding", "content-encoding", "connection"}
        response = Response(answer.content, status_code=answer.status_code)
        response.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.multi_items()
            if k.lower() not in drop
        ] + [(b"content-length", str(len(answer.content)).encode())]
        return response

    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


def run(
    url: str,
    licensed: Licensed,
    reports: Path,
    monkeypatch: pytest.MonkeyPatch,
    *pytest_args: str,
) -> tuple[int, dict[str, Any]]:
    """`mmconform run --url` as an admin runs it against a disposable server; code, results."""
    monkeypatch.setenv("MMCONFORM_PASSWORD", licensed.server.admin_password)
    args = [
        "run",
        "--url",
        url,
        "--login",
        licensed.server.admin_login,
        "--allow-config-changes",
        "--allow-license-changes",
        "--license-file",
        str(licensed.licence_path),
        "--profile",
        "ci",
        "--seed",
        "7",
        "--reports",
        str(reports),
    ]
    code = main([*args, "--", *pytest_args] if pytest_args else args)
    results = json.loads((reports / "latest" / "results.json").read_text())
    return code, results


def failed(results: dict[str, Any]) -> set[str]:
    return {k for k, v in results["requirements"].items() if v["verdict"] == "failed"}


# The GetFile rows: ~270 requests with provisioning, well past the default burst of 100, so the
# run meets the limiter for ~17 s instead of the whole ci profile's ~160 s (the whole profile
# behind the default limiter is measured in benchmarks/rate_limited.py).
GET_FILE_ROWS = "test_permission and GetFile and not GetFileInfosForPost and not GetFileLink"


@pytest.mark.slow
def test_rate_limited_at_mattermost_defaults_fails_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with deployed(tmp_path, rate_limit=DEFAULT_LIMIT) as licensed:
        _code, results = run(
            licensed.server.url, licensed, tmp_path / "r", monkeypatch, "-k", GET_FILE_ROWS
        )
    out = capsys.readouterr().out
    assert failed(results) == set(), out[-3000:]
    assert all(t["outcome"] != "failed" for t in results["tests"])
    assert results["traffic"]["rate_limited"] > 0  # the rows outrun 10/s after 101
    assert "answered 429 (rate limited" in out


def test_a_tight_rate_limit_fails_nothing_and_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Burst 5 at 20/s: a short run keeps meeting 429s, and none of them is a verdict."""
    limit = {"Enable": True, "PerSec": 20, "MaxBurst": 5}
    with deployed(tmp_path, rate_limit=limit) as licensed:
        _code, results = run(
            licensed.server.url, licensed, tmp_path / "r", monkeypatch, "-k", "GetFileLink"
        )
    out = capsys.readouterr().out
    assert failed(results) == set(), out[-3000:]
    assert all(t["outcome"] != "failed" for t in results["tests"])
    assert results["traffic"]["rate_limited"] >= 5  # each wait is 1 s (ceil), the bucket refills
    assert results["traffic"]["rate_limit_wait_s"] > 0
    assert f"{results['traffic']['rate_limited']} answered 429" in out


def test_a_fault_is_killed_behind_a_rate_limiter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with deployed(tmp_path, rate_limit=DEFAULT_LIMIT, faults=("bola-get-file-link",)) as lic:
        code, results = run(lic.server.url, lic, tmp_path / "r", monkeypatch, "-k", "GetFileLink")
    assert code == 1
    assert "FILES-READ-004" in failed(results)


@pytest.mark.slow
def test_under_a_subpath_is_conformant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with deployed(tmp_path, site_url="http://127.0.0.1/chat") as licensed:
        assert licensed.server.url.endswith("/chat")
        code, results = run(licensed.server.url, licensed, tmp_path / "r", monkeypatch)
    assert code == 0, capsys.readouterr().out[-3000:]
    assert results["target"]["url"].endswith("/chat")
    assert results["requirements"]["DEPLOY-LINK-001"]["verdict"] == "passed"


def test_a_link_dropping_the_subpath_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with deployed(
        tmp_path, site_url="http://127.0.0.1/chat", faults=("link-drops-subpath",)
    ) as lic:
        code, results = run(lic.server.url, lic, tmp_path / "r", monkeypatch, "-k", "GetFileLink")
    assert code == 1
    assert "DEPLOY-LINK-001" in failed(results)


def test_a_fault_is_killed_under_a_subpath(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with deployed(
        tmp_path, site_url="http://127.0.0.1/chat", faults=("bola-get-file-link",)
    ) as lic:
        code, results = run(lic.server.url, lic, tmp_path / "r", monkeypatch, "-k", "GetFileLink")
    assert code == 1
    assert "FILES-READ-004" in failed(results)
    assert "DEPLOY-LINK-001" not in failed(results)  # the subpath itself is handled right


@pytest.mark.slow
def test_behind_a_tls_terminating_proxy_is_conformant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with deployed(tmp_path) as licensed, serve_app(tls_proxy(licensed.server.url)) as url:
        code, results = run(url, licensed, tmp_path / "r", monkeypatch)
    assert code == 0, capsys.readouterr().out[-3000:]
    assert results["requirements"]["DEPLOY-LINK-001"]["verdict"] == "passed"


def test_links_come_back_https_behind_the_proxy_and_faults_are_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = ("link-drops-subpath", "bola-get-file-link")
    with (
        deployed(tmp_path, site_url="http://127.0.0.1/chat", faults=faults) as lic,
        serve_app(tls_proxy(lic.server.url.removesuffix("/chat"))) as proxy,
    ):
        url = proxy + "/chat"
        code, results = run(url, lic, tmp_path / "r", monkeypatch, "-k", "GetFileLink")
        target = Target(url)
        try:
            upload = target.api(
                "POST",
                "/files",
                lic.admin,
                params={"channel_id": _a_channel(target, lic)},
                files={"files": ("a.txt", b"abc")},
            )
            file_id = upload["file_infos"][0]["id"]
            target.api("POST", "/posts", lic.admin, json=_post(target, lic, file_id))
            target.api(
                "PUT", "/config/patch", lic.admin, json={"FileSettings": {"EnablePublicLink": True}}
            )
            link = target.api("GET", f"/files/{file_id}/link", lic.admin)["link"]
        finally:
            target.close()
    assert link.startswith(f"https://{proxy.removeprefix('http://')}/files/")  # the fault
    assert code == 1
    assert {"DEPLOY-LINK-001", "FILES-READ-004"} <= failed(results)


def _a_channel(target: Target, lic: Licensed) -> str:
    team = target.api(
        "POST", "/teams", lic.admin, json={"name": "deployx", "display_name": "d", "type": "O"}
    )
    channel = target.api(
        "POST",
        "/channels",
        lic.admin,
        json={"team_id": team["id"], "name": "deployc", "display_name": "c", "type": "O"},
    )
    return str(channel["id"])


def _post(target: Target, lic: Licensed, file_id: str) -> dict[str, Any]:
    info = target.api("GET", f"/files/{file_id}/info", lic.admin)
    return {"channel_id": info["channel_id"], "message": "m", "file_ids": [file_id]}


@pytest.mark.slow
def test_a_target_dying_under_the_fuzzer_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fuzz tests send through schemathesis, outside `run_checked`; the target's death must
    still be exit 3 with one line, not a failed requirement (plugin.pytest_runtest_call)."""
    stop = threading.Event()
    with deployed(tmp_path) as licensed:
        proxy = rewriting_proxy(licensed.server.url, _same, stop_after=260, stop=stop)
        with serve_app(proxy, stop) as url:
            monkeypatch.setenv("MMCONFORM_PASSWORD", licensed.server.admin_password)
            code = main(
                [
                    "run",
                    "--url",
                    url,
                    "--login",
                    licensed.server.admin_login,
                    "--reports",
                    str(tmp_path / "r"),
                    "--seed",
                    "3",
                    "--",
                    "-k",
                    "test_fuzz_positive",
                ]
            )
    err = capsys.readouterr().err
    assert code == 3, err[-2000:]
    assert "the target stopped answering (after 4 attempts)" in err
    assert licensed.server.admin_password not in err


def _same(request: Any, status: int, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    return status, headers
