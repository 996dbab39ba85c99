"""--strict: an N/A outside a version range or a declared capability profile fails the
certification; verify re-derives it from the policy results.json records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_support import ALL_PASS, NA_REASON, make_run, write_registry

from mmconform.capabilities import load_capabilities
from mmconform.errors import UsageError
from mmconform.fuzz.profiles import load_fuzz_data
from mmconform.report import finalize_run
from mmconform.report.model import CERTIFICATE_NAME
from mmconform.report.verify import verify_certificate

# ALL_PASS: LICENSE-UPLOAD-001 is N/A "guests need a licence"; PUBLIC-LINK-001 is out of range.
GUESTS = {"t.py::test_guest": "not applicable: actor guest_in_channel unavailable: unlicensed"}


def _policy(*declared: str) -> dict[str, object]:
    return load_capabilities().policy(declared)


def test_not_strict_accepts_any_not_applicable(tmp_path: Path) -> None:
    doc = make_run(tmp_path / "run", write_registry(tmp_path), ALL_PASS, reasons=NA_REASON)
    assert doc["summary"]["verdict"] == "CONFORMANT" and doc["strict"] == {"on": False}


def test_strict_fails_an_undeclared_not_applicable(tmp_path: Path) -> None:
    registry = write_registry(tmp_path)
    doc = make_run(tmp_path / "run", registry, ALL_PASS, reasons=GUESTS, strict=_policy())
    assert doc["summary"]["verdict"] == "NOT CONFORMANT"
    assert doc["summary"]["blockers"] == [
        "strict: LICENSE-UPLOAD-001 not applicable (actor guest_in_channel unavailable: "
        "unlicensed); only version ranges and declared capability profiles (--declare) may be N/A"
    ]  # PUBLIC-LINK-001 is N/A by its version range: accepted
    summary = finalize_run(tmp_path / "run", target_url="")
    assert not summary.ok and any(line.startswith("Strict: ") for line in summary.lines())
    assert verify_certificate(tmp_path / "run" / CERTIFICATE_NAME).ok


def test_a_declared_capability_profile_makes_its_not_applicable_acceptable(
    tmp_path: Path,
) -> None:
    registry = write_registry(tmp_path)
    policy = _policy("guest-accounts")
    doc = make_run(tmp_path / "run", registry, ALL_PASS, reasons=GUESTS, strict=policy)
    assert doc["summary"]["verdict"] == "CONFORMANT"
    finalize_run(tmp_path / "run", target_url="")
    cert = json.loads((tmp_path / "run" / CERTIFICATE_NAME).read_text())
    assert cert["strict"]["declared"] == ["guest-accounts"]
    assert (
        "declared capability profiles (guest-accounts)"
        in (tmp_path / "run" / "certificate.md").read_text()
    )
    assert verify_certificate(tmp_path / "run" / CERTIFICATE_NAME).ok


def test_verify_catches_a_policy_edited_after_the_run(tmp_path: Path) -> None:
    registry = write_registry(tmp_path)
    make_run(tmp_path / "run", registry, ALL_PASS, reasons=GUESTS, strict=_policy())
    finalize_run(tmp_path / "run", target_url="")
    results_file = tmp_path / "run" / "results.json"
    results = json.loads(results_file.read_text())
    results["strict"] = {"on": False}
    results_file.write_text(json.dumps(results))
    mismatches = verify_certificate(tmp_path / "run" / CERTIFICATE_NAME).mismatches
    assert any(m.startswith("strict:") for m in mismatches)


def test_certify_is_strict_by_default_and_unknown_declarations_are_refused() -> None:
    data = load_fuzz_data()
    assert data.profile("certify").strict and not data.profile("ci").strict
    with pytest.raises(UsageError, match="--declare nope: not a capability profile"):
        load_capabilities().policy(["nope"])
