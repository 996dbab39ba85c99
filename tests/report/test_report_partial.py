"""A run of a selected subset is PARTIAL everywhere: results.json, certificate, verify, diff,
the summary and the exit code; never CONFORMANT or NOT CONFORMANT for what it did not run."""

from __future__ import annotations

import json
from pathlib import Path

from report_support import ALL_PASS, make_run, write_registry

from mmconform.report import finalize_run
from mmconform.report.diff import diff_runs, render_text
from mmconform.report.model import CERTIFICATE_NAME, RESULTS_NAME
from mmconform.report.verify import verify_certificate

SELECTION = {
    "partial": True,
    "collected": 5,
    "selected": 2,
    "criteria": {"requirements": ["FILES-GET-001", "FILES-GET-002"]},
}
SUBSET = {k: ALL_PASS[k] for k in ("t.py::test_read", "t.py::test_refuse")}


def test_partial_run_is_partial_not_conformant(tmp_path: Path) -> None:
    registry = write_registry(tmp_path)
    doc = make_run(tmp_path / "run", registry, SUBSET, selection=SELECTION)
    assert doc["summary"]["verdict"] == "PARTIAL"
    assert doc["requirements"]["LICENSE-UPLOAD-001"]["verdict"] == "not_selected"
    assert doc["requirements"]["FILES-GET-001"]["verdict"] == "passed"
    summary = finalize_run(tmp_path / "run", target_url="")
    assert summary.verdict == "PARTIAL" and summary.ok and not summary.conformant
    assert any("2 of 5 tests" in line for line in summary.lines())
    cert = json.loads((tmp_path / "run" / CERTIFICATE_NAME).read_text())
    assert cert["verdict"] == "PARTIAL" and cert["selection"] == SELECTION
    assert "certifies nothing" in (tmp_path / "run" / "certificate.md").read_text()
    assert verify_certificate(tmp_path / "run" / CERTIFICATE_NAME).ok


def test_the_same_tests_without_selection_are_not_conformant(tmp_path: Path) -> None:
    """Without the selection facts the untested MUST requirements block conformance."""
    registry = write_registry(tmp_path)
    doc = make_run(tmp_path / "run", registry, SUBSET)
    assert doc["summary"]["verdict"] == "NOT CONFORMANT"


def test_partial_run_with_a_failure_is_partial_and_exits_1(tmp_path: Path) -> None:
    registry = write_registry(tmp_path)
    outcomes = {**SUBSET, "t.py::test_read": ("failed", ["FILES-GET-001"])}
    doc = make_run(tmp_path / "run", registry, outcomes, selection=SELECTION)
    assert doc["summary"]["verdict"] == "PARTIAL"
    assert doc["summary"]["blockers"] == ["MUST FILES-GET-001 failed"]
    assert not finalize_run(tmp_path / "run", target_url="").ok


def test_verify_refuses_a_partial_run_passed_off_as_the_whole_suite(tmp_path: Path) -> None:
    registry = write_registry(tmp_path)
    make_run(tmp_path / "run", registry, SUBSET, selection=SELECTION)
    finalize_run(tmp_path / "run", target_url="")
    path = tmp_path / "run" / RESULTS_NAME
    results = json.loads(path.read_text())
    results["selection"] = {"partial": False}
    path.write_text(json.dumps(results))
    mismatches = verify_certificate(tmp_path / "run" / CERTIFICATE_NAME).mismatches
    assert any(m.startswith("selection:") for m in mismatches)


def test_diff_compares_a_partial_run_only_where_both_ran(tmp_path: Path) -> None:
    registry = write_registry(tmp_path)
    old = make_run(tmp_path / "old", registry, ALL_PASS)
    new = make_run(tmp_path / "new", registry, SUBSET, selection=SELECTION)
    diff = diff_runs(old, new, "old", "new")
    assert diff.requirements.total() == 0 and diff.tests.total() == 0
    assert diff.regressions == 0
    text = render_text(diff)
    # the two selected, and PUBLIC-LINK-001: outside its range (<9.5) in both runs
    assert "PARTIAL" in text and "compared only where both runs ran: 3 requirement(s)" in text
