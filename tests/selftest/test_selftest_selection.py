"""Per-fault runs select only the tests that can charge the fault's declared requirements.

The kill verdict depends only on whether a declared requirement fails, and selection by
requirement selects every test that can charge it (mmconform.selection), so the verdict is
the whole suite's. --strict-attribution and --whole-suite keep whole-suite runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mmconform.reference.faults import load_catalogue
from mmconform.selftest import Outcome, judge
from mmconform.selftest.judge import SELECTED_MODE, WHOLE_MODE
from mmconform.selftest.render import markdown, terminal_lines
from mmconform.selftest.runner import RunSpec, selection_args


def test_a_fault_run_selects_its_declared_requirements(tmp_path: Path) -> None:
    spec = RunSpec(profile="ci", seed=1, reports=tmp_path)
    declared = load_catalogue()["upload-status-200"].requirements
    args = selection_args(spec, ("upload-status-200",))
    assert args[0::2] == ["--requirement"] * len(declared) and tuple(args[1::2]) == declared
    assert selection_args(spec, ()) == []  # the clean server: the whole suite
    whole = RunSpec(profile="ci", seed=1, reports=tmp_path, select_declared=False)
    assert selection_args(whole, ("upload-status-200",)) == []


def test_the_kill_matrix_says_which_mode_ran() -> None:
    clean = Outcome(0, (), None, Path("run.log"), 1.0)
    fault = next(iter(load_catalogue().values()))
    killed = Outcome(1, fault.requirements, None, Path("run.log"), 1.0)
    kw = {"profile": "ci", "seed": 1, "jobs": 2, "wall_seconds": 2.0}
    report = judge(clean, [(fault, killed)], mode=SELECTED_MODE, **kw)  # type: ignore[arg-type]
    assert report.to_json()["per_fault_mode"] == "selected"
    assert report.to_json()["faults"][0]["mode"] == "selected"
    assert "per-fault runs: **selected**" in markdown(report)
    assert terminal_lines(report)[-1].endswith("per-fault runs: selected")
    whole = judge(clean, [(fault, killed)], **kw)  # type: ignore[arg-type]
    assert whole.mode == WHOLE_MODE and "per-fault runs: **whole suite**" in markdown(whole)


def test_every_declared_requirement_can_be_charged_by_a_collected_test(tmp_path: Path) -> None:
    """A declared ID no test can charge would select nothing and the fault would survive."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMCONFORM_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "mmconform", "list", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    chargeable = {i for t in json.loads(done.stdout)["tests"] for i in t["can_charge"]}
    missing = {
        f.name: sorted(set(f.requirements) - chargeable)
        for f in load_catalogue().values()
        if set(f.requirements) - chargeable
    }
    assert missing == {}
