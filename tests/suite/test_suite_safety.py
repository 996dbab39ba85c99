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

from mmconform.live_target.client import Target
from mmconform.live_target.licence import installed
from mmconform.reference.server import running_server

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
