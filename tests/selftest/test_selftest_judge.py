"""Judging outcomes: only a declared requirement kills a fault; the verdict and its reports."""

from __future__ import annotations

import json
from pathlib import Path

from mmconform.reference.faults import Fault
from mmconform.selftest import Outcome, judge
from mmconform.selftest.judge import failed_requirements
from mmconform.selftest.render import markdown, terminal_lines, write

FAULT = Fault("bola-x", "object-authz", "Anyone reads.", ("FILES-READ-004",))
GAP = Fault("gap-x", "limits", "Not caught.", ("LICENSE-REMOVE-002",), known_gap="no row")


def _outcome(failed: tuple[str, ...] = (), error: str | None = None) -> Outcome:
    return Outcome(1 if failed else 0, failed, None, Path("run.log"), 1.0, error)


def test_killed_by_a_declared_requirement_passes() -> None:
    report = judge(
        _outcome(),
        [(FAULT, _outcome(("FILES-READ-004", "CONTRACT-REFUSED-001")))],
        profile="ci",
        seed=1,
        jobs=2,
        wall_seconds=3.0,
    )
    kill = report.kills[0]
    assert report.ok and kill.status == "killed"  # flagged, failing only when strict
    assert kill.caught_by == ("FILES-READ-004",) and kill.also_failed == ("CONTRACT-REFUSED-001",)
    assert "charged undeclared requirements: CONTRACT-REFUSED-001" in terminal_lines(report)[1]


def test_strict_attribution_fails_a_fault_charging_undeclared_requirements() -> None:
    outcomes = [(FAULT, _outcome(("FILES-READ-004", "CONTRACT-SERVER-001")))]
    kw = {"profile": "ci", "seed": 1, "jobs": 1, "wall_seconds": 1.0}
    strict = judge(_outcome(), outcomes, strict_attribution=True, **kw)  # type: ignore[arg-type]
    assert strict.kills[0].status == "overcharged" and not strict.ok
    exact = judge(
        _outcome(), [(FAULT, _outcome(("FILES-READ-004",)))], strict_attribution=True, **kw
    )  # type: ignore[arg-type]
    assert exact.kills[0].status == "killed" and exact.ok


def test_what_a_fault_also_breaks_is_no_kill_and_no_overcharge() -> None:
    """also_breaks (faults.yaml): declared collateral, e.g. the guest rows of a BOLA fault."""
    fault = Fault(
        "bola-y", "object-authz", "Anyone reads.", ("FILES-READ-004",),
        also_breaks=("FILES-READ-008",),
    )  # fmt: skip
    kw = {"profile": "ci", "seed": 1, "jobs": 1, "wall_seconds": 1.0, "strict_attribution": True}
    both = judge(_outcome(), [(fault, _outcome(("FILES-READ-004", "FILES-READ-008")))], **kw)  # type: ignore[arg-type]
    assert both.kills[0].status == "killed" and both.kills[0].also_failed == () and both.ok
    only = judge(_outcome(), [(fault, _outcome(("FILES-READ-008",)))], **kw)  # type: ignore[arg-type]
    assert only.kills[0].status == "misattributed" and not only.ok
    other = judge(_outcome(), [(fault, _outcome(("FILES-READ-004", "POSTS-FILES-002")))], **kw)  # type: ignore[arg-type]
    assert other.kills[0].status == "overcharged" and not other.ok


def test_survivor_misattribution_error_and_dirty_clean_server_fail() -> None:
    cases = [
        (_outcome(), _outcome(), "survived"),
        (_outcome(), _outcome(("ERR-SHAPE-001",)), "misattributed"),
        (_outcome(), _outcome(error="mmconform run exited 3"), "error"),
    ]
    for clean, faulty, status in cases:
        report = judge(clean, [(FAULT, faulty)], profile="ci", seed=1, jobs=1, wall_seconds=1)
        assert report.kills[0].status == status and not report.ok
    dirty = judge(
        _outcome(("FILES-GET-001",)),
        [(FAULT, _outcome(("FILES-READ-004",)))],
        profile="ci",
        seed=1,
        jobs=1,
        wall_seconds=1,
    )
    assert dirty.clean_status == "failed" and not dirty.ok


def test_known_gap_survives_quietly_but_a_stale_mark_fails() -> None:
    kept = judge(_outcome(), [(GAP, _outcome())], profile="ci", seed=1, jobs=1, wall_seconds=1)
    assert kept.ok and kept.kills[0].status == "known-gap"
    stale = judge(
        _outcome(),
        [(GAP, _outcome(("LICENSE-REMOVE-002",)))],
        profile="ci",
        seed=1,
        jobs=1,
        wall_seconds=1,
    )
    assert not stale.ok and stale.kills[0].status == "stale-gap"


def test_failed_requirements_reads_results_json(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(
        json.dumps(
            {
                "requirements": {
                    "B-1": {"verdict": "failed"},
                    "A-1": {"verdict": "failed"},
                    "C-1": {"verdict": "passed"},
                    "D-1": {"verdict": "not_applicable"},
                }
            }
        )
    )
    assert failed_requirements(results) == ("A-1", "B-1")


def test_reports_name_every_fault_and_the_verdict(tmp_path: Path) -> None:
    report = judge(
        _outcome(),
        [(FAULT, _outcome()), (GAP, _outcome())],
        profile="ci",
        seed=7,
        jobs=2,
        wall_seconds=12.0,
    )
    js, md = write(report, tmp_path)
    data = json.loads(js.read_text())
    assert data["verdict"] == "FAIL" and data["seed"] == 7
    assert [f["status"] for f in data["faults"]] == ["survived", "known-gap"]
    text = md.read_text()
    assert "`bola-x`" in text and "**SURVIVED**" in text and "no row" in text
    assert markdown(report) == text
    assert terminal_lines(report)[-1].startswith("selftest FAIL: 2 fault(s)")
