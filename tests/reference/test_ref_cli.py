"""`mmconform serve` and `mmconform license mint` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from ref_support import login

from mmconform.cli import main
from mmconform.commands.license import parse_expires
from mmconform.errors import UsageError

SERVE = [sys.executable, "-m", "mmconform", "serve", "--port", "0"]


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    creds = proc.stdout.readline()
    assert "ready at http://127.0.0.1:" in ready, ready + (
        proc.stderr.read() if proc.stderr else ""
    )
    return proc, ready.rsplit(" ", 1)[1].strip(), creds


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_starts_prints_url_not_password_and_stops(tmp_path: Path, sig: int) -> None:
    data = tmp_path / "data"
    proc, url, creds = _start([*SERVE, "--data-dir", str(data)])
    try:
        stored = json.loads((data / "admin-credentials.json").read_text())
        assert ((data / "admin-credentials.json").stat().st_mode & 0o777) == 0o600
        assert stored["password"] not in creds and "admin-credentials.json" in creds
        login(url, stored["login"], stored["password"])
        assert httpx.get(f"{url}/api/v4/system/ping").status_code == 200
    finally:
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "stopped" in out


def test_serve_without_data_dir_removes_its_temp_dir() -> None:
    proc, _, creds = _start(SERVE)
    temp_dir = Path(creds.rsplit(" ", 1)[1].strip()).parent
    assert temp_dir.is_dir()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    assert not temp_dir.exists()


def test_serve_port_in_use_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--port" in err


def test_serve_bad_data_dir_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["serve", "--port", "0", "--data-dir", str(blocker / "sub")]) == 2
    assert "--data-dir" in capsys.readouterr().err


def test_license_mint_writes_a_licence_the_server_accepts(tmp_path: Path) -> None:
    from mmconform.reference import running_server

    with running_server(data_dir=tmp_path) as srv:
        out = tmp_path / "lic.txt"
        assert (
            main(
                ["license", "mint", "--data-dir", str(tmp_path), "--expires", "60d", "-o", str(out)]
            )
            == 0
        )
        assert (out.stat().st_mode & 0o777) == 0o600
        admin = login(srv.url, srv.admin_login, srv.admin_password)
        resp = admin.post("/api/v4/license", files={"license": ("l", out.read_bytes())})
        assert resp.status_code == 200, resp.text


def test_license_mint_errors_are_usage_errors(tmp_path: Path) -> None:
    assert main(["license", "mint", "--data-dir", str(tmp_path / "missing")]) == 2
    with pytest.raises(UsageError):
        parse_expires("soon", 0)
    assert parse_expires("2d", 1000) == 1000 + 2 * 86_400_000
    assert parse_expires("1700000000000", 0) == 1700000000000
    assert parse_expires("2030-01-01T00:00:00", 0) == 1893456000000


def test_license_mint_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["license", "mint", "--data-dir", str(tmp_path), "--users", "3"]) == 0
    text = capsys.readouterr().out.strip()
    assert len(text) > 400 and os.path.exists(tmp_path / "license-signing-key.pem")
