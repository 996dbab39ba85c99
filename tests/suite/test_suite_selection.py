"""Selection (mmconform.selection): run by requirement, operation and actor; list what would run.

Selecting a requirement selects every test that can charge it, not only those whose marker
names it: the selftest runs each fault against only those tests and must reach the same kill
verdict as a whole-suite run.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mmconform.live_target.verdict as verdict_module
from mmconform.live_target.verdict import NAMED_BY_OPERATION
from mmconform.selection import Criteria, TestFacts, describe, narrowed_by_arguments, split_values

ROW = TestFacts(
    nodeid="test_permissions.py::test_permission[GetFile[uploader-public-attached]-200]",
    operation="GetFile",
    actor="uploader",
    carries=("FILES-READ-001",),
    charges=frozenset({"FILES-READ-001", "FILES-GET-001"}),
)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MMCONFORM_", "PYTEST_"))}


def mmconform(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmconform", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_criteria_and_across_kinds_or_within_one() -> None:
    assert Criteria().matches(ROW)
    assert Criteria(requirements=("FILES-GET-001",)).matches(ROW)  # charged, not carried
    assert Criteria(requirements=("X-001", "FILES-READ-001")).matches(ROW)
    assert not Criteria(requirements=("FILES-GET-001",), actors=("guest_in_channel",)).matches(ROW)
    assert Criteria(operations=("GetFileInfo", "GetFile"), actors=("uploader",)).matches(ROW)
    assert not Criteria(nodeids=("other",)).matches(ROW)
    assert split_values(["A-001,B-001", " C-001 ", "A-001"]) == ("A-001", "B-001", "C-001")


def test_describe_says_what_a_partial_run_selected() -> None:
    assert describe({"partial": False}) == "the whole suite"
    text = describe(
        {
            "partial": True,
            "selected": 3,
            "collected": 9,
            "criteria": {"operations": ["GetFile"], "pytest": "6 deselected"},
        }
    )
    assert text == "3 of 9 tests (operations GetFile; pytest: 6 deselected)"


def test_every_id_a_row_check_names_is_in_the_charge_table() -> None:
    """A body check naming a requirement the table lacks would let selection miss a row that
    charges it (and the selftest call a fault survived)."""
    source = Path(verdict_module.__file__).read_text(encoding="utf-8")
    named = set(re.findall(r"\[([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-[0-9]+)\]", source))
    table = {i for ids in NAMED_BY_OPERATION.values() for i in ids}
    named.discard("A-Z0-9")  # the _NAMED pattern itself
    assert named - table == {"ERR-SHAPE-001"}  # carried by every error row (checked_requirements)
    ops = {
        node.comparators[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Name)
        and node.left.id == "op"
        and isinstance(node.comparators[0], ast.Constant)
    }
    assert ops <= set(NAMED_BY_OPERATION)


def test_list_selects_every_test_that_can_charge_a_requirement(tmp_path: Path) -> None:
    """AUTH-SESSION-001 is on no fuzz marker, but missing_required_header charges it
    (conformance/checks.yaml): the fuzz items are listed with the matrix rows carrying it."""
    done = mmconform("list", "--json", "--requirement", "AUTH-SESSION-001", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    ids = [t["nodeid"] for t in listing["tests"]]
    assert any(i.startswith("test_fuzz.py::test_fuzz_negative") for i in ids)
    assert any("AUTH-SESSION-001" in t["requirements"] for t in listing["tests"])
    assert not any(i.startswith("test_http_layer.py") for i in ids)
    assert listing["selection"]["criteria"] == {"requirements": ["AUTH-SESSION-001"]}


def test_list_predicts_version_not_applicable(tmp_path: Path) -> None:
    done = mmconform(
        "list", "--server-version", "9.5.0", "--operation", "GetFilePublic", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "server version 9.5.0 is outside" in done.stdout
    assert re.search(r"\d+ test\(s\) would run, [1-9]\d* would be not applicable", done.stdout)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--requirement", "NOPE-001"), "--requirement NOPE-001: not in the registry"),
        (("--operation", "GetFiles"), "--operation GetFiles: unknown operationId"),
        (("--actor", "root"), "--actor root: unknown actor"),
    ],
)
def test_unknown_selection_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], problem: str
) -> None:
    done = mmconform("run", "--reports", str(tmp_path), *args, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mmconform: error: {problem}; use ")
    assert not list(tmp_path.iterdir())


def test_a_selected_run_is_partial_and_says_what_it_selected(tmp_path: Path) -> None:
    done = mmconform(
        "run", "--reports", str(tmp_path), "--seed", "5", "--requirement", "HTTP-URL-001",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verdict: PARTIAL" in done.stdout
    results = json.loads((tmp_path / "latest" / "results.json").read_text())
    assert results["selection"]["partial"] is True
    assert results["selection"]["criteria"] == {"requirements": ["HTTP-URL-001"]}
    assert results["requirements"]["HTTP-URL-001"]["verdict"] == "passed"
    assert results["requirements"]["FILES-GET-001"]["verdict"] == "not_selected"
    certificate = json.loads((tmp_path / "latest" / "certificate.json").read_text())
    assert certificate["verdict"] == "PARTIAL"


def test_pytest_deselection_makes_the_run_partial(tmp_path: Path) -> None:
    done = mmconform(
        "run", "--reports", str(tmp_path), "--seed", "5", "--", "-k", "test_url_longer",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "latest" / "results.json").read_text())
    assert results["summary"]["verdict"] == "PARTIAL"
    assert "deselected by pytest options" in results["selection"]["criteria"]["pytest"]


def test_rerun_failed_reruns_exactly_the_failed_tests_with_the_seed(tmp_path: Path) -> None:
    first = tmp_path / "first"
    done = mmconform(
        "run", "--reports", str(first), "--seed", "4242", "--profile", "quick",
        "--operation", "GetFileLink", "--actor", "uploader", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    results_file = first / "latest" / "results.json"
    results = json.loads(results_file.read_text())
    chosen = [t for t in results["tests"] if t["outcome"] == "passed"][:2]
    for test in chosen:  # as if they had failed
        test["outcome"], test["message"] = "failed", "[FILES-LINK-001] forced"
    results_file.write_text(json.dumps(results))
    again = tmp_path / "again"
    done = mmconform("run", "--reports", str(again), "--rerun-failed", str(first / "latest"),
                     cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rerunning 2 failed test(s)" in done.stdout and "seed 4242, profile quick" in done.stdout
    rerun = json.loads((again / "latest" / "results.json").read_text())
    assert sorted(t["nodeid"] for t in rerun["tests"]) == sorted(t["nodeid"] for t in chosen)
    assert rerun["seed"] == 4242 and rerun["profile"] == "quick"
    assert rerun["selection"]["partial"] and rerun["selection"]["criteria"] == {"tests": 2}
    assert rerun["summary"]["verdict"] == "PARTIAL"


def test_rerun_failed_of_a_run_without_failures_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(
        json.dumps({"schema": 1, "tests": [], "requirements": {}}), encoding="utf-8"
    )
    done = mmconform("run", "--rerun-failed", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "no test failed in that run; nothing to rerun" in done.stderr


def test_arguments_that_narrow_the_collection_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "conformance"
    folder.mkdir()
    fuzz, rows = folder / "test_fuzz.py", folder / "test_permissions.py"
    modules = [fuzz, rows]
    both = [fuzz, rows]
    assert narrowed_by_arguments(["conformance"], both, modules, folder, tmp_path) is None
    assert narrowed_by_arguments([str(tmp_path)], both, modules, folder, tmp_path) is None
    only = narrowed_by_arguments(["conformance/test_fuzz.py"], [fuzz], modules, folder, tmp_path)
    assert only == "module(s) not collected: test_permissions.py"
    named = "conformance/test_fuzz.py::test_x"
    assert narrowed_by_arguments([named, str(rows)], both, modules, folder, tmp_path) == (
        f"named test id(s) {named}"
    )
    # The whole folder beside a named id: every test is collected, nothing is narrowed.
    assert narrowed_by_arguments(["conformance", named], both, modules, folder, tmp_path) is None
