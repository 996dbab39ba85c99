"""`mmconform diff`: regressions, fixes, N/A changes, added and removed, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_support import ALL_PASS, NA_REASON, make_run, write_registry

from mmconform.cli import main


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    registry = write_registry(tmp_path)
    old, new = tmp_path / "old", tmp_path / "new"
    make_run(old, registry, ALL_PASS, version="10.10.0", reasons=NA_REASON)
    changed = dict(ALL_PASS)
    changed["t.py::test_refuse"] = ("failed", ["FILES-GET-002"])  # regression
    changed["t.py::test_guest"] = ("passed", ["LICENSE-UPLOAD-001"])  # no longer N/A
    changed["t.py::test_read"] = ("not_applicable", ["FILES-GET-001"])  # newly N/A
    del changed["t.py::test_infos"]  # removed
    changed["t.py::test_new"] = ("passed", ["POSTS-INFO-001"])  # added
    make_run(new, registry, changed, version="10.11.0", reasons=NA_REASON)
    return old, new


def test_regression_exits_1_and_is_named(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = runs
    assert main(["diff", str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert "FILES-GET-002: passed → failed" in out
    assert "t.py::test_refuse: passed → failed  (AssertionError: expected 403, got 200)" in out
    assert "10.10.0" in out and "10.11.0" in out


def test_categories_in_json(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = runs
    main(["diff", str(old / "results.json"), str(new / "results.json"), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    tests = {name: [c["id"] for c in changes] for name, changes in data["tests"].items()}
    assert tests == {
        "regressions": ["t.py::test_refuse"],
        "fixes": [],
        "newly_not_applicable": ["t.py::test_read"],
        "no_longer_not_applicable": ["t.py::test_guest"],
        "other_changes": [],
        "added": ["t.py::test_new"],
        "removed": ["t.py::test_infos"],
    }
    assert data["requirements"]["regressions"][0]["id"] == "FILES-GET-002"
    assert data["regressions"] == 2


def test_fix_exits_0_with_markdown(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = runs
    assert main(["diff", str(new), str(old), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### ✅ mmconform: 0 regression(s)")
    assert "| Fixes | `t.py::test_refuse` | failed → passed |" in out


def test_identical_runs(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    old, _ = runs
    assert main(["diff", str(old), str(old)]) == 0
    assert "0 regression(s)" in capsys.readouterr().out


@pytest.mark.parametrize("what", ["missing", "not-json", "other-json", "empty-dir"])
def test_bad_input_exits_2(
    runs: tuple[Path, Path], tmp_path: Path, what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old, _ = runs
    bad = tmp_path / "bad.json"
    if what == "not-json":
        bad.write_text("not json")
    elif what == "other-json":
        bad.write_text(json.dumps({"schema": 1, "tests": "nope"}))
    elif what == "empty-dir":
        bad = tmp_path / "empty"
        bad.mkdir()
    assert main(["diff", str(old), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mmconform: error: ") and err.count("\n") == 1


def test_markdown_caps_rows_for_pr_comments() -> None:
    from mmconform.report.diff import MARKDOWN_ROWS, RunDiff, compare, render_markdown

    old = {f"t.py::test_{i:03d}": "passed" for i in range(MARKDOWN_ROWS + 50)}
    new = dict.fromkeys(old, "failed")
    diff = RunDiff("old", "new", compare({}, {}, {}), compare(old, new, {}))
    text = render_markdown(diff)
    assert text.count("| Regressions |") == MARKDOWN_ROWS
    assert "… and 50 more" in text
    assert text.startswith(f"### ❌ mmconform: {MARKDOWN_ROWS + 50} regression(s)")
