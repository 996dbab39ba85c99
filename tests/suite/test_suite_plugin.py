"""The pytest plugin: inert without --mm-url, strict about requirement IDs, honest about N/A."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from mmconform.reference.server import RunningServer
from mmconform.resources import conformance_dir


def pytest_in(folder: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MMCONFORM_", "PYTEST_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(folder), *args],
        cwd=folder,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"


def matrix_in(server: RunningServer, run_dir: Path, *args: str) -> str:
    """Run the permission-matrix module against `server` as its admin, results in `run_dir`."""
    return pytest_in(
        conformance_dir(),
        str(conformance_dir() / "test_permissions.py"),
        "--import-mode=importlib",
        "--mm-url",
        server.url,
        "--mm-reports",
        str(run_dir),
        "--junitxml",
        str(run_dir / "junit.xml"),
        "-q",
        *args,
        env={
            "MMCONFORM_LOGIN": server.admin_login,
            "MMCONFORM_PASSWORD": server.admin_password,
        },
    )


def test_without_url_the_plugin_does_nothing_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        "def test_plain():\n    assert True\n\ndef test_needs_target(mm_session):\n    pass\n",
        encoding="utf-8",
    )
    out = pytest_in(tmp_path, "-q", "test_plain.py")
    assert "rc=1" in out and "1 passed, 1 error" in out
    assert "no target: run `mmconform run`, or pass --mm-url" in out
    assert not (tmp_path / "reports").exists()


def test_unknown_requirement_ids_are_rejected_at_collection(tmp_path: Path) -> None:
    (tmp_path / "test_ids.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.requirement('FILES-READ-001', 'NOPE-XYZ-001')\n"
        "def test_marked():\n    pass\n",
        encoding="utf-8",
    )
    out = pytest_in(tmp_path, "-q", "test_ids.py")
    assert "rc=4" in out
    assert "unknown requirement ID(s) NOPE-XYZ-001" in out and "test_ids.py::test_marked" in out


def test_unavailable_actors_and_forbidden_changes_are_not_applicable(
    ref_server: RunningServer, tmp_path: Path
) -> None:
    """An unlicensed target without --mm-allow-* flags: guests and config rows become N/A."""
    run_dir = tmp_path / "run"
    out = matrix_in(
        ref_server,
        run_dir,
        "-k",
        "guest_in_channel-public-attached or attachments_off or RemoveLicenseFile",
    )
    assert "rc=0" in out, out[-3000:]
    reasons = {}
    for case in ET.parse(run_dir / "junit.xml").iter("testcase"):
        skipped = case.find("skipped")
        reasons[case.get("name", "")] = skipped.get("message", "") if skipped is not None else ""
    guest = reasons["test_permission[GetFile[guest_in_channel-public-attached]-200]"]
    assert guest.startswith("not applicable: actor guest_in_channel unavailable: POST ")
    assert "/users/{user_id}/demote answered" in guest
    config = reasons[
        "test_permission[UploadFile[system_admin-public-multipart-attachments_off]-403]"
    ]
    assert config.startswith("not applicable: needs --allow-config-changes")
    # Licence safety is a rule of the house (issue 14): even on an unlicensed target, no
    # request that could change the licence is sent without the flag, whoever sends it.
    needs = "not applicable: needs --allow-license-changes and --license-file"
    assert reasons[
        "test_permission[RemoveLicenseFile[system_admin-none-installed]-200]"
    ].startswith(needs)
    assert reasons["test_permission[RemoveLicenseFile[uploader-none-installed]-403]"].startswith(
        needs
    )


def test_rows_follow_the_version_the_target_is_judged_by(
    ref_server: RunningServer, tmp_path: Path
) -> None:
    """Judged as 9.10 the newer reference server breaks the old rule and the new row is N/A."""
    run_dir = tmp_path / "run"
    out = matrix_in(
        ref_server,
        run_dir,
        "--mm-server-version",
        "9.10.0",
        "-k",
        "GetFileInfo and team_member_not_in_channel-public-attached",
    )
    assert "rc=1" in out and "1 failed" in out, out[-3000:]
    assert "GetFileInfo[team_member_not_in_channel-public-attached]-403 [FILES-READ-006]" in out
    reasons = {
        case.get("name", ""): (
            case.find("skipped").get("message", "")  # type: ignore[union-attr]
            if case.find("skipped") is not None
            else ""
        )
        for case in ET.parse(run_dir / "junit.xml").iter("testcase")
    }
    new_rule = reasons[
        "test_permission[GetFileInfo[team_member_not_in_channel-public-attached]-200]"
    ]
    assert new_rule == "not applicable: server version 9.10.0 is outside >=9.9.3,<9.10 || >=9.11"


def test_a_run_of_one_named_test_is_partial(ref_server: RunningServer, tmp_path: Path) -> None:
    """`pytest conformance/test_x.py::test_y` collects that test alone, so no count shows the
    rest of the suite left out: before, such a run certified CONFORMANT."""
    run_dir = tmp_path / "run"
    named = f"{conformance_dir() / 'test_http_layer.py'}::test_url_longer_than_maximum_is_414"
    out = pytest_in(
        conformance_dir(),
        named,
        "--import-mode=importlib",
        "--mm-url",
        ref_server.url,
        "--mm-reports",
        str(run_dir),
        "-q",
        env={
            "MMCONFORM_LOGIN": ref_server.admin_login,
            "MMCONFORM_PASSWORD": ref_server.admin_password,
        },
    )
    assert "rc=0" in out, out[-3000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["summary"]["verdict"] == "PARTIAL"
    assert results["selection"]["criteria"]["arguments"].startswith(f"named test id(s) {named}; ")
