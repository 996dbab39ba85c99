"""End to end: `mmconform run` and the plugin on the reference server, and on a misbehaving one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from suite_support import Licensed, flipping_proxy, rewriting_proxy, serve_app

from mmconform.cli import main
from mmconform.live_target.client import Target
from mmconform.live_target.ledger import read_ledger
from mmconform.live_target.settings import get_setting, read_config
from mmconform.resources import conformance_dir


def verdicts(run_dir: Path) -> dict[str, str]:
    """Test name → passed | failed | 'not applicable: …' from the run's JUnit file."""
    out = {}
    for case in ET.parse(run_dir / "junit.xml").iter("testcase"):
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            out[case.get("name", "")] = "failed"
        elif skipped is not None:
            out[case.get("name", "")] = "skip: " + (skipped.get("message") or "")
        else:
            out[case.get("name", "")] = "passed"
    return out


def only_run_dir(reports: Path) -> Path:
    runs = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1
    assert (reports / "latest").resolve() == runs[0].resolve()
    return runs[0]


@pytest.mark.slow
def test_run_without_arguments_is_conformant_with_one_and_two_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = []
    for workers in ("1", "2"):
        reports = tmp_path / f"w{workers}"
        code = main(["run", "--seed", "11", "--reports", str(reports), "-n", workers])
        out = capsys.readouterr().out
        assert code == 0, out[-3000:]
        assert "Tests:" in out and " 0 failed" in out
        found = verdicts(only_run_dir(reports))
        assert len(found) > 300
        bad = {
            k: v
            for k, v in found.items()
            if v == "failed" or (v.startswith("skip") and "not applicable" not in v)
        }
        assert bad == {}
        results.append(found)
    # The matrix and the header checks are this room's; other modules compare their own.
    mine = [
        {k: v for k, v in r.items() if k.startswith(("test_permission[", "test_file_headers["))}
        for r in results
    ]
    assert len(mine[0]) > 350
    assert mine[0] == mine[1], "verdicts differ between 1 and 2 workers"


def run_plugin(url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(conformance_dir()),
        "--rootdir",
        str(conformance_dir()),
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        "--mm-url",
        url,
        "--mm-seed",
        "5",
        "-q",
        "-rf",
        *args,
    ]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MMCONFORM_", "PYTEST_"))}
    return subprocess.run(cmd, env={**base, **env}, capture_output=True, text=True, timeout=300)


def creds(licensed: Licensed) -> dict[str, str]:
    return {
        "MMCONFORM_LOGIN": licensed.server.admin_login,
        "MMCONFORM_PASSWORD": licensed.server.admin_password,
    }


def settings_of(target: Target, licensed: Licensed) -> dict[str, Any]:
    config = read_config(target, licensed.admin)
    names = ("EnablePublicLink", "EnableFileAttachments", "MaxFileSize")
    values = {n: get_setting(config, f"FileSettings.{n}") for n in names}
    licence = target.api("GET", "/license/client?format=old", licensed.admin)
    values["IsLicensed"] = licence.get("IsLicensed")
    return values


@pytest.mark.slow
def test_plugin_without_cli_leaves_nothing_behind(licensed: Licensed, tmp_path: Path) -> None:
    target = Target(licensed.server.url)
    before = settings_of(target, licensed)
    run_dir = tmp_path / "run"
    result = run_plugin(
        licensed.server.url,
        creds(licensed),
        "--mm-reports",
        str(run_dir),
        "--mm-allow-config-changes",
        "--mm-allow-license-changes",
        "--mm-license-file",
        str(licensed.licence_path),
        "--junitxml",
        str(run_dir / "junit.xml"),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert licensed.server.admin_password not in result.stdout + result.stderr
    assert settings_of(target, licensed) == before
    state = read_ledger(run_dir / "ledger.jsonl")
    kinds: dict[str, int] = {}
    for obj in state.objects.values():
        assert obj.removed is not None, f"{obj.kind} {obj.name} not cleaned up"
        if obj.kind == "file" or obj.id is None or obj.extra.get("type") in ("D", "G"):
            continue
        kinds[obj.kind] = kinds.get(obj.kind, 0) + 1
        path = {"user": "/users/", "team": "/teams/", "channel": "/channels/", "post": "/posts/"}
        response = target.request("GET", "/api/v4" + path[obj.kind] + obj.id, actor=licensed.admin)
        if obj.kind == "user":
            assert response.json()["delete_at"] > 0, f"user {obj.name} still active"
        else:
            assert response.status_code == 404 or response.json().get("delete_at", 0) > 0, (
                f"{obj.kind} {obj.name} still there"
            )
    assert kinds["user"] >= 9 and kinds["team"] >= 2 and kinds["channel"] >= 2
    assert kinds["post"] >= 9  # the world's nine, plus any other module's
    assert all(c.restored for c in state.config)
    assert all(c.restored for c in state.licence)


def test_a_flipped_status_fails_its_row_with_a_repro_line(
    licensed: Licensed, tmp_path: Path
) -> None:
    proxy = flipping_proxy(licensed.server.url, "GET", "/info", old=403, new=200)
    with serve_app(proxy) as url:
        result = run_plugin(
            url,
            creds(licensed),
            "--mm-reports",
            str(tmp_path / "run"),
            "-k",
            "GetFileInfo and guest_not_in_channel and private and attached",
        )
    out = result.stdout
    assert result.returncode == 1, out[-3000:]
    assert "2 failed" in out  # "attached" also selects the unattached row; both are flipped
    assert "GetFileInfo[guest_not_in_channel-private-attached]-403 [FILES-READ-008" in out
    assert "actor:    guest_not_in_channel" in out
    assert "expected: 403 api.context.permissions.app_error" in out
    assert "actual:   200" in out
    assert 'curl -i -X GET -H "Authorization: Bearer $MM_TOKEN_GUEST_NOT_IN_CHANNEL"' in out
    assert "export MM_TOKEN_GUEST_NOT_IN_CHANNEL=" in out
    assert "exchange: exchanges.har entry " in out
    assert licensed.server.admin_password not in out
    har = json.loads((tmp_path / "run" / "exchanges.har").read_text(encoding="utf-8"))
    entries = har["log"]["entries"]
    assert len(entries) == 2 and {e["response"]["status"] for e in entries} == {200}
    sent = {h["name"].lower(): h["value"] for h in entries[0]["request"]["headers"]}
    assert sent["authorization"] == "[redacted]"
    assert licensed.server.admin_password not in json.dumps(har)


def test_a_rewritten_header_fails_the_header_check(licensed: Licensed, tmp_path: Path) -> None:
    def inline_html(
        request: Any, status: int, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        is_file = request.method == "GET" and "/files/" in request.url.path
        if is_file and headers.get("content-type", "").startswith("text/plain"):
            headers = {**headers, "content-type": "text/html", "content-disposition": "inline"}
        return status, headers

    with serve_app(rewriting_proxy(licensed.server.url, inline_html)) as url:
        result = run_plugin(
            url, creds(licensed), "--mm-reports", str(tmp_path / "run"), "-k", "headers and html"
        )
    out = result.stdout
    assert result.returncode == 1, out[-3000:]
    assert "headers[html] [FILES-GET-002]: Content-Type 'text/html', expected text/plain" in out
    assert "$MM_TOKEN_UPLOADER" in out


def test_a_target_dying_mid_run_exits_3(
    licensed: Licensed,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def same(request: Any, status: int, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        return status, headers

    monkeypatch.setenv("MMCONFORM_PASSWORD", licensed.server.admin_password)
    # Enough requests for the probes and the world, then the "server" is gone.
    stop = threading.Event()
    proxy = rewriting_proxy(licensed.server.url, same, stop_after=150, stop=stop)
    with serve_app(proxy, stop) as url:
        code = main(
            [
                "run",
                "--url",
                url,
                "--login",
                licensed.server.admin_login,
                "--reports",
                str(tmp_path),
                "--seed",
                "3",
                "--",
                "-k",
                "GetFile and not Link",
            ]
        )
    err = capsys.readouterr().err
    assert code == 3, err[-2000:]
    assert "mmconform: target failed:" in err
    assert licensed.server.admin_password not in err
