"""ExperimentalSettings.RestrictSystemAdmin: the licence rows follow what the target reports.

The setting comes only from the server's config file, so each case starts its own reference
server: restricted and faithful (the restricted rows pass, the admin's other licence rows are
N/A), restricted but ignoring it (the restricted rows fail, naming LICENSE-RESTRICT-001), and
unrestricted (the restricted rows are N/A).
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
from suite_support import license_server
from test_suite_plugin import matrix_in

from mmconform.live_target.rows import NEEDS_RESTRICTED, RESTRICTED
from mmconform.reference.licensing import mint_license
from mmconform.reference.server import running_server

UPLOAD_403 = "test_permission[UploadLicenseFile[system_admin-none-garbage-restricted_admin]-403]"
REMOVE_403 = (
    "test_permission[RemoveLicenseFile[system_admin-none-not_installed-restricted_admin]-403]"
)
REMOVE_INSTALLED_403 = (
    "test_permission[RemoveLicenseFile[system_admin-none-installed-restricted_admin]-403]"
)
UPLOAD_400 = "test_permission[UploadLicenseFile[system_admin-none-garbage]-400]"
REMOVE_200 = "test_permission[RemoveLicenseFile[system_admin-none-not_installed]-200]"


def _licence_rows(
    tmp_path: Path,
    restricted: bool,
    faults: frozenset[str] = frozenset(),
    *,
    licensed: bool = False,
) -> tuple[str, dict[str, str]]:
    """Run the system admin's licence rows; (pytest output, skip reason per test, '' = ran).

    `licensed`: the licence is installed by an unrestricted start of the same data directory
    first, as an operator would before turning the restriction on.
    """
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ExperimentalSettings": {"RestrictSystemAdmin": restricted}}))
    run_dir = tmp_path / "run"
    data = tmp_path / "data"
    extra: list[str] = []
    if licensed:
        with running_server(data_dir=data) as server:
            path = license_server(server, tmp_path, now_ms=int(time.time() * 1000)).licence_path
        extra = ["--mm-allow-license-changes", "--mm-license-file", str(path)]
    with running_server(data_dir=data, config_file=config, faults=faults) as server:
        if not extra:  # unlicensed: any licence in shape will do, licence rows need the flag
            assert server.signing_key_path is not None
            path = tmp_path / "unused.mattermost-license"
            path.write_text(
                mint_license(
                    server.signing_key_path.read_bytes(),
                    users=100,
                    expires_at_ms=int(time.time() * 1000) + 86_400_000,
                )
            )
            extra = ["--mm-allow-license-changes", "--mm-license-file", str(path)]
        out = matrix_in(server, run_dir, "-k", "LicenseFile and system_admin", *extra)
        still_licensed = httpx.get(f"{server.url}/api/v4/license/client?format=old").json()
    assert still_licensed.get("IsLicensed") == ("true" if licensed else "false")
    reasons = {}
    for case in ET.parse(run_dir / "junit.xml").iter("testcase"):
        skipped = case.find("skipped")
        reasons[case.get("name", "")] = skipped.get("message", "") if skipped is not None else ""
    return out, reasons


def test_a_faithful_restricted_server_passes_the_restricted_rows(tmp_path: Path) -> None:
    out, reasons = _licence_rows(tmp_path, restricted=True)
    assert "rc=0" in out and "failed" not in out, out[-3000:]
    assert reasons[UPLOAD_403] == "" and reasons[REMOVE_403] == ""
    # Unlicensed, and the restricted admin cannot install one for the "installed" variant.
    assert reasons[REMOVE_INSTALLED_403] == (
        "not applicable: the target is not licensed and its restricted admin cannot change that"
    )
    assert reasons[UPLOAD_400] == f"not applicable: {RESTRICTED}"
    assert reasons[REMOVE_200] == f"not applicable: {RESTRICTED}"


def test_a_server_ignoring_the_restriction_fails_them(tmp_path: Path) -> None:
    out, reasons = _licence_rows(
        tmp_path, restricted=True, faults=frozenset({"license-restricted-admin-allowed"})
    )
    assert "rc=1" in out and "2 failed" in out, out[-3000:]
    assert "[LICENSE-RESTRICT-001]" in out
    assert "actual:   400" in out  # garbage: the upload reached validation, nothing installed
    assert reasons[UPLOAD_403] == "" and reasons[REMOVE_403] == ""


def test_an_unrestricted_server_skips_them(tmp_path: Path) -> None:
    out, reasons = _licence_rows(tmp_path, restricted=False)
    assert "rc=0" in out, out[-3000:]
    assert reasons[UPLOAD_403] == f"not applicable: {NEEDS_RESTRICTED}"
    assert reasons[REMOVE_403] == f"not applicable: {NEEDS_RESTRICTED}"
    assert reasons[UPLOAD_400] == "" and reasons[REMOVE_200] == ""


def test_on_a_licensed_restricted_server_removal_is_refused(tmp_path: Path) -> None:
    out, reasons = _licence_rows(tmp_path, restricted=True, licensed=True)
    assert "rc=0" in out and "failed" not in out, out[-3000:]
    assert reasons[REMOVE_INSTALLED_403] == "" and reasons[UPLOAD_403] == ""
    assert reasons[REMOVE_403] == (
        "not applicable: the target is licensed and its restricted admin cannot change that"
    )


def test_a_licence_removed_despite_the_restriction_is_put_back(tmp_path: Path) -> None:
    """The faulty server removes it; the gate restores it (the check after the run)."""
    out, reasons = _licence_rows(
        tmp_path,
        restricted=True,
        faults=frozenset({"license-restricted-admin-allowed"}),
        licensed=True,
    )
    assert "rc=1" in out and "2 failed" in out, out[-3000:]
    assert "RemoveLicenseFile[system_admin-none-installed-restricted_admin]-403" in out
    assert reasons[REMOVE_INSTALLED_403] == ""
