"""`mmconform run` against the reference server emulating older releases, across every boundary.

Each emulated version must be CONFORMANT with every versioned matrix row of its own version run
and passed (not N/A): 7.2.0 (before 7.3: 501 for disabled links and uploads, include_deleted
ignored), 9.5.0 (before 9.6/9.7: HEAD public 405, reads through the post), 9.10.0 (after 9.7,
before the 9.11 public-channel read) and 10.11.0 (before 11.5's post file infos). 11.5.0 is the
default, run by tests/suite/test_suite_run.py. A 9.5.0 server judged as 11.5.0 must fail exactly
the rows that differ, so the ranges really discriminate; and seeded faults are still killed on
an old version (tests/selftest/test_selftest_versions.py).

About 35-40 s per run on the ci profile with one worker.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mmconform.cli import main
from mmconform.matrix import Row, load_matrix

SEED = "11"


def verdicts(run_dir: Path) -> dict[str, str]:
    """Test name → passed | failed | 'skip: <reason>' from the run's JUnit file."""
    out = {}
    for case in ET.parse(run_dir / "junit.xml").iter("testcase"):
        skipped = case.find("skipped")
        name = case.get("name", "")
        if case.find("failure") is not None or case.find("error") is not None:
            out[name] = "failed"
        elif skipped is not None:
            out[name] = "skip: " + (skipped.get("message") or "")
        else:
            out[name] = "passed"
    return out


def run_dir_of(reports: Path) -> Path:
    return (reports / "latest").resolve()


def versioned_rows(version: str) -> list[Row]:
    """The rows with a range that a server of `version` is judged by."""
    return [
        r
        for r in load_matrix()
        if r.versions is not None and r.applies_to(version) and not r.unknown_at(version)
    ]


def _run(reports: Path, *args: str) -> int:
    return main(
        ["run", "--profile", "ci", "--seed", SEED, "-n", "1", "--reports", str(reports), *args]
    )


@pytest.mark.slow
@pytest.mark.parametrize("version", ["7.2.0", "9.5.0", "9.10.0", "10.11.0"])
def test_an_older_version_is_conformant_with_its_own_rows(
    version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(tmp_path, "--as-version", version)
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert f"(version {version})" in out and "Verdict: CONFORMANT" in out
    found = verdicts(run_dir_of(tmp_path))
    rows = versioned_rows(version)
    assert len(rows) >= 15
    not_passed = {
        r.id: found.get(f"test_permission[{r.id}]", "missing")
        for r in rows
        if found.get(f"test_permission[{r.id}]") != "passed"
    }
    assert not_passed == {}
    # Rows of other versions were not applicable, and say why.
    others = [r for r in load_matrix() if r.versions is not None and not r.applies_to(version)]
    for r in others:
        why = "what a server of version" if r.unknown_at(version) else "server version"
        assert found[f"test_permission[{r.id}]"].startswith(f"skip: not applicable: {why}")


@pytest.mark.slow
def test_a_95_server_judged_as_115_fails_exactly_the_rows_that_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(tmp_path, "--as-version", "9.5.0", "--server-version", "11.5.0")
    out = capsys.readouterr().out
    assert code == 1, out[-3000:]
    found = verdicts(run_dir_of(tmp_path))
    failed = {
        name[len("test_permission[") : -1]
        for name, v in found.items()
        if v == "failed" and name.startswith("test_permission[")
    }
    changed = {
        r.id
        for r in load_matrix()
        if r.versions is not None
        and r.applies_to("11.5.0")
        and not r.applies_to("9.5.0")
        # a row no embedded server can run (the Team Edition trial row) is N/A either way
        and not found[f"test_permission[{r.id}]"].startswith("skip: not applicable")
    }
    assert failed == changed
    assert len(changed) >= 20


@pytest.mark.slow
def test_an_unknown_version_makes_its_rows_not_applicable_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """9.10.2: the 9.10 pick of PR #27409 failed and none was found: neither rule is judged."""
    code = _run(tmp_path, "--as-version", "9.10.2")
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    found = verdicts(run_dir_of(tmp_path))
    unknown = [r for r in load_matrix() if r.unknown_at("9.10.2")]
    assert unknown
    for r in unknown:
        verdict = found[f"test_permission[{r.id}]"]
        assert verdict.startswith("skip: not applicable: what a server of version 9.10.2 does")
        assert verdict.endswith(" ".join(r.unknown_reason.split()))
    assert any("#27409" in r.unknown_reason for r in unknown)
