"""The probe: every way a target can be wrong is one line, exit 2, before anything is created."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from suite_support import serve_app

from mmconform.cli import main
from mmconform.errors import UsageError
from mmconform.live_target.client import Target
from mmconform.live_target.probe import probe, version_from_header
from mmconform.reference.server import RunningServer


@pytest.fixture
def plain_http() -> Iterator[str]:
    """A web server that is not Mattermost (http.server serving a temp folder)."""
    handler = http.server.SimpleHTTPRequestHandler
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def closed_port() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors (already one line, exit 2)
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    return code, err


def test_closed_port_is_one_line_exit_2(
    closed_port: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(
        ["run", "--url", closed_port, "--token", "sekrit-token", "--reports", str(tmp_path)],
        capsys,
    )
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot reach {closed_port}/api/v4/system/ping" in err and "--url" in err
    assert "sekrit-token" not in err
    assert not any(tmp_path.iterdir()), "nothing may be created before the probe passes"


def test_plain_web_server_is_not_mattermost(plain_http: str) -> None:
    with pytest.raises(UsageError, match=r"does not look like Mattermost .*no X-Version-Id"):
        probe(plain_http, token="t0ken-value")


def test_json_app_without_version_header_is_not_mattermost() -> None:
    app = Starlette(routes=[Route("/api/v4/system/ping", lambda r: JSONResponse({"x": 1}))])
    with serve_app(app) as url, pytest.raises(UsageError, match="no X-Version-Id"):
        probe(url, token="t0ken-value")


def test_bad_url_and_missing_credentials() -> None:
    with pytest.raises(UsageError, match="not an http"):
        probe("chat.example.com", token="x")
    with pytest.raises(UsageError, match="no credentials"):
        probe("http://127.0.0.1:1")


def test_wrong_password(ref_server: RunningServer) -> None:
    with pytest.raises(UsageError) as info:
        probe(ref_server.url, login=ref_server.admin_login, password="wrong-password")
    text = str(info.value)
    assert "login as" in text and "401" in text and "--password" in text
    assert "wrong-password" not in text


def test_bad_token(ref_server: RunningServer) -> None:
    with pytest.raises(UsageError, match=r"the token was rejected .*401"):
        probe(ref_server.url, token="abcdefghijklmnopqrstuvwxyz")


def test_non_admin_user_is_refused(ref_server: RunningServer) -> None:
    admin = probe(
        ref_server.url, login=ref_server.admin_login, password=ref_server.admin_password
    ).admin
    target = Target(ref_server.url)
    target.api(
        "POST",
        "/users",
        admin,
        json={"email": "plain@example.com", "username": "plainuser", "password": "Passw0rd-123!"},
    )
    target.close()
    with pytest.raises(UsageError, match="'plainuser' is not a system admin"):
        probe(ref_server.url, login="plainuser", password="Passw0rd-123!")


def test_admin_probe_detects_version_and_override(ref_server: RunningServer) -> None:
    result = probe(ref_server.url, login=ref_server.admin_login, password=ref_server.admin_password)
    assert result.version == version_from_header(result.version_id)
    assert result.version is not None and result.version.count(".") == 2
    forced = probe(
        ref_server.url,
        login=ref_server.admin_login,
        password=ref_server.admin_password,
        server_version="9.5.0",
    )
    assert forced.version == "9.5.0"
    with pytest.raises(UsageError, match="--server-version"):
        probe(ref_server.url, token="x" * 26, server_version="latest")


def test_version_header_parsing() -> None:
    assert version_from_header("11.5.0.12345.abcdef.true") == "11.5.0"
    assert version_from_header("developer") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["run", "--token", "x"], "credentials given without --url", id="creds-no-url"),
        pytest.param(
            ["run", "--url", "http://127.0.0.1:1", "--token", "x", "--allow-license-changes"],
            "--allow-license-changes needs --license-file",
            id="licence-changes-without-file",
        ),
        pytest.param(
            ["run", "--url", "http://127.0.0.1:1", "--token", "x", "--license-file", "/nope"],
            "--license-file /nope: No such file or directory",
            id="missing-licence-file",
        ),
        pytest.param(["run", "-n", "0"], "must be 1 or more", id="zero-workers"),
        pytest.param(
            ["cleanup", "--ledger", "/nope.jsonl", "--url", "http://127.0.0.1:1"],
            "--ledger /nope.jsonl: no such file",
            id="cleanup-missing-ledger",
        ),
        pytest.param(["run", "--profile", "turbo"], "invalid choice: 'turbo'", id="bad-profile"),
    ],
)
def test_bad_command_lines_are_one_line_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(args, capsys)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_personal_access_token_of_an_admin_is_accepted(ref_server: RunningServer) -> None:
    admin = probe(
        ref_server.url, login=ref_server.admin_login, password=ref_server.admin_password
    ).admin
    target = Target(ref_server.url)
    target.api(
        "PUT", "/config/patch", admin, json={"ServiceSettings": {"EnableUserAccessTokens": True}}
    )
    body = target.api(
        "POST", f"/users/{admin.user_id}/tokens", admin, json={"description": "mmconform"}
    )
    target.close()
    result = probe(ref_server.url, token=str(body["token"]))
    assert result.admin.user_id == admin.user_id and "system_admin" in result.roles.split()


@pytest.mark.parametrize(
    ("body", "facts"),
    [
        ({"IsLicensed": "true", "SkuShortName": "entry"}, {"licensed": True, "sku": "entry"}),
        ({"IsLicensed": "false"}, {"licensed": False, "sku": None}),
        ("not a licence", {}),
    ],
)
def test_the_probe_records_the_licence_sku(body: object, facts: dict[str, object]) -> None:
    """An unlicensed Enterprise image may run as the Entry SKU (docs/ci-gate.md): the run
    records the licence it found (results.json target.licence)."""
    import httpx

    from mmconform.live_target.client import Actor
    from mmconform.live_target.probe import licence_facts

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v4/license/client"
        return httpx.Response(200, json=body)

    target = Target("http://mm.test", transport=httpx.MockTransport(answer))
    assert licence_facts(target, Actor("system_admin", token="t")) == facts


def test_a_run_records_the_embedded_servers_licence(ref_server: RunningServer) -> None:
    result = probe(ref_server.url, login=ref_server.admin_login, password=ref_server.admin_password)
    assert result.licence == {"licensed": False, "sku": None}  # a fresh server: no licence yet
