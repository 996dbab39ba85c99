"""Never harm the target: licence safety behind a logging proxy (issue 14).

The reference server runs with the seeded faults that break the licence permission checks
(faults.yaml license-upload-any-user, license-remove-any-user), so every licence request that is
sent could change the licence: only the suite's own rule keeps it safe.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from suite_support import Licensed, license_server, logging_proxy, serve_app
from test_suite_run import creds, run_plugin

from mmconform.cli import main
from mmconform.live_target.client import Target
from mmconform.live_target.identity import server_identity
from mmconform.live_target.ledger import Ledger, read_ledger
from mmconform.live_target.licence import installed
from mmconform.live_target.probe import probe
from mmconform.live_target.settings import apply_settings, get_setting, read_config
from mmconform.live_target.world import provision
from mmconform.reference.server import RunningServer, running_server

BROKEN_LICENCE_CHECKS = frozenset({"license-upload-any-user", "license-remove-any-user"})
LICENCE_CHANGING = {("POST", "/api/v4/license"), ("DELETE", "/api/v4/license")}


@pytest.fixture
def broken_licensed(tmp_path: Path) -> Iterator[Licensed]:
    with running_server(faults=BROKEN_LICENCE_CHECKS) as srv:
        yield license_server(srv, tmp_path, now_ms=int(time.time() * 1000))


@pytest.mark.slow
def test_without_the_flag_no_licence_changing_request_is_sent(
    broken_licensed: Licensed, tmp_path: Path
) -> None:
    log: list[tuple[str, str]] = []
    target = Target(broken_licensed.server.url)
    before = installed(target, broken_licensed.admin)
    with serve_app(logging_proxy(broken_licensed.server.url, log)) as url:
        result = run_plugin(
            url,
            creds(broken_licensed),
            "--mm-profile",
            "quick",
            "--mm-reports",
            str(tmp_path / "run"),
            "--mm-allow-config-changes",
            "--junitxml",
            str(tmp_path / "run" / "junit.xml"),
            "-k",
            "license or fuzz",
        )
    out = result.stdout + result.stderr
    assert result.returncode in (0, 1), out[-3000:]
    assert len(log) > 100 and " passed" in result.stdout
    junit = (tmp_path / "run" / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("needs --allow-license-changes and --license-file") >= 20
    sent = [r for r in log if r in LICENCE_CHANGING]
    assert sent == [], f"{len(sent)} licence-changing requests sent without the flag"
    assert installed(target, broken_licensed.admin) == before


@pytest.mark.slow
def test_with_the_flag_the_licence_is_the_same_after_the_run(
    broken_licensed: Licensed, tmp_path: Path
) -> None:
    log: list[tuple[str, str]] = []
    target = Target(broken_licensed.server.url)
    before = installed(target, broken_licensed.admin)
    assert before.licensed and before.id
    run_dir = tmp_path / "run"
    with serve_app(logging_proxy(broken_licensed.server.url, log)) as url:
        result = run_plugin(
            url,
            creds(broken_licensed),
            "--mm-profile",
            "quick",
            "--mm-reports",
            str(run_dir),
            "--mm-allow-config-changes",
            "--mm-allow-license-changes",
            "--mm-license-file",
            str(broken_licensed.licence_path),
            "-k",
            "license or fuzz",
        )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]  # the broken checks are found...
    assert any(r in LICENCE_CHANGING for r in log)
    assert "THE TARGET'S LICENCE CHANGED" in out
    assert "LICENSE-REMOVE-001" in (run_dir / "licence-alarm.txt").read_text()
    assert installed(target, broken_licensed.admin) == before  # ...and the licence is back


def _login_env(monkeypatch: pytest.MonkeyPatch, server: RunningServer) -> list[str]:
    monkeypatch.setenv("MMCONFORM_PASSWORD", server.admin_password)
    return ["--login", server.admin_login]


def test_cleanup_refuses_a_ledger_of_another_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.jsonl"
    with running_server() as a, running_server() as b:
        admin_a = probe(a.url, login=a.admin_login, password=a.admin_password).admin
        target_a = Target(a.url)
        ledger = Ledger(path, "w0")
        ledger.bind(server_identity(target_a, admin_a, "test"))
        apply_settings(target_a, admin_a, ledger, {"FileSettings.EnablePublicLink": True})
        provision(target_a, admin_a, ledger, "mmcwrong", seed=4)  # then "crash": no cleanup
        before = path.read_bytes()
        log: list[tuple[str, str]] = []
        with serve_app(logging_proxy(b.url, log)) as b_url:
            code = main(
                ["cleanup", "--ledger", str(path), "--url", b_url, *_login_env(monkeypatch, b)]
            )
        captured = capsys.readouterr()
        assert code == 2
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and "is not the server of" in lines[0], captured.err
        assert "Traceback" not in captured.err
        changing = [r for r in log if r[0] != "GET" and r[1] != "/api/v4/users/login"]
        assert changing == [], f"requests that could change the wrong server: {changing}"
        assert path.read_bytes() == before, "the ledger must not be marked done"
        admin_b = probe(b.url, login=b.admin_login, password=b.admin_password).admin
        assert (
            get_setting(read_config(Target(b.url), admin_b), "FileSettings.EnablePublicLink")
            is False
        )

        # The right server: everything goes, the config is back.
        code = main(["cleanup", "--ledger", str(path), "--url", a.url, *_login_env(monkeypatch, a)])
        out = capsys.readouterr().out
        assert code == 0, out
        assert get_setting(read_config(target_a, admin_a), "FileSettings.EnablePublicLink") is False
        for obj in read_ledger(path).objects.values():
            assert obj.removed is not None, f"{obj.kind} {obj.name}"


def test_cleanup_leaves_a_setting_someone_changed_since(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.jsonl"
    with running_server() as a:
        admin = probe(a.url, login=a.admin_login, password=a.admin_password).admin
        target = Target(a.url)
        ledger = Ledger(path, "w0")
        ledger.bind(server_identity(target, admin, "test"))
        apply_settings(target, admin, ledger, {"FileSettings.MaxFileSize": 2048})
        target.api("PUT", "/config/patch", admin, json={"FileSettings": {"MaxFileSize": 4096}})
        code = main(["cleanup", "--ledger", str(path), "--url", a.url, *_login_env(monkeypatch, a)])
        out = capsys.readouterr().out
        assert code == 1, out
        assert "config FileSettings.MaxFileSize: changed since the run by someone else" in out
        assert get_setting(read_config(target, admin), "FileSettings.MaxFileSize") == 4096
