"""One test, one id: the same ids in results.json, JUnit and `diff` however pytest was started.

Before: `mmconform run` named a test `test_fuzz.py::…`, pytest from a checkout
`conformance/test_fuzz.py::…`, `--pyargs mmconform` a path into site-packages; `diff` across two
styles showed 854 changes and 0 regressions. The four styles below (the CLI, pytest from a
checkout, `--pyargs mmconform` from an installed layout, `-n 2`) must give identical ids.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from suite_support import Licensed

import mmconform
from mmconform.cli import main
from mmconform.report.diff import diff_runs
from mmconform.report.testids import normalise, stable_nodeid
from mmconform.resources import conformance_dir, specs_dir

SELECT = "(test_permission and GetFileInfosForPost and anonymous) or (test_fuzz_refused and info)"
# The checkout this test file lives in (CI installs a wheel, so the package is elsewhere).
REPO = Path(__file__).resolve().parents[2]
# The README's plain-pytest forms (checked below against the README), as the test runs them.
PYARGS_FORM = ("--pyargs", "mmconform")
CHECKOUT_FORM = ("conformance",)


def _env(licensed: Licensed, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MMCONFORM_", "PYTEST_"))}
    return {
        **base,
        "MMCONFORM_LOGIN": licensed.server.admin_login,
        "MMCONFORM_PASSWORD": licensed.server.admin_password,
        **extra,
    }


def _pytest(licensed: Licensed, run: Path, cwd: Path, *args: str, **env: str) -> None:
    cmd = [sys.executable, "-m", "pytest", *args, "-p", "no:randomly", "-k", SELECT, "-q"]
    cmd += ["--mm-url", licensed.server.url, "--mm-seed", "3", "--mm-profile", "quick"]
    cmd += ["--mm-reports", str(run), "--junitxml", str(run / "junit.xml")]
    done = subprocess.run(
        cmd, cwd=cwd, env=_env(licensed, **env), capture_output=True, text=True, timeout=300
    )
    assert (run / "results.json").is_file(), done.stdout[-3000:] + done.stderr[-2000:]


def _installed_layout(root: Path) -> Path:
    """What the wheel holds: the package with specs/ and conformance/ under mmconform/_data."""
    site = root / "site"
    package = site / "mmconform"
    shutil.copytree(
        Path(mmconform.__file__).parent,
        package,
        ignore=shutil.ignore_patterns("__pycache__", "_data"),
    )
    shutil.copytree(specs_dir(), package / "_data" / "specs")
    shutil.copytree(
        conformance_dir(),
        package / "_data" / "conformance",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return site


def _ids(run: Path) -> tuple[list[str], list[str]]:
    data = json.loads((run / "results.json").read_text())
    junit = [
        f"{case.get('classname')}::{case.get('name')}"
        for case in ET.parse(run / "junit.xml").iter("testcase")
    ]
    return sorted(t["nodeid"] for t in data["tests"]), sorted(junit)


@pytest.mark.slow
def test_four_invocation_styles_give_identical_ids(licensed: Licensed, tmp_path: Path) -> None:
    runs = {name: tmp_path / name for name in ("cli", "checkout", "pyargs", "xdist")}
    reports = tmp_path / "cli-reports"
    code = main(
        ["run", "--url", licensed.server.url, "--login", licensed.server.admin_login,
         "--password", licensed.server.admin_password, "--profile", "quick", "--seed", "3",
         "--reports", str(reports), "--", "-p", "no:randomly", "-k", SELECT]
    )  # fmt: skip
    assert code in (0, 1)
    runs["cli"] = (reports / "latest").resolve()
    _pytest(licensed, runs["checkout"], REPO, *CHECKOUT_FORM)
    site = _installed_layout(tmp_path)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    _pytest(licensed, runs["pyargs"], elsewhere, *PYARGS_FORM, PYTHONPATH=str(site))
    _pytest(licensed, runs["xdist"], REPO, *CHECKOUT_FORM, "-n", "2")
    found = {name: _ids(run) for name, run in runs.items()}
    tests, junit = found["cli"]
    assert len(tests) >= 3 and all(
        t.startswith(("test_permissions.py::", "test_fuzz.py::")) for t in tests
    )
    for name, (other_tests, other_junit) in found.items():
        assert other_tests == tests, name
        assert other_junit == junit, name
    results = [json.loads((runs[n] / "results.json").read_text()) for n in ("cli", "pyargs")]
    section = diff_runs(results[0], results[1], "cli", "pyargs").tests
    assert not section.by_category["added"] and not section.by_category["removed"]


def test_ids_are_relative_to_the_conformance_folder(tmp_path: Path) -> None:
    folder = tmp_path / "site" / "mmconform" / "_data" / "conformance"
    path = folder / "test_fuzz.py"
    long = f"{path}::test_fuzz_positive[GET /api/v4/files/{{file_id}}]"
    assert (
        stable_nodeid(long, path, folder)
        == "test_fuzz.py::test_fuzz_positive[GET /api/v4/files/{file_id}]"
    )
    assert stable_nodeid("tests/x.py::t", tmp_path / "tests" / "x.py", folder) == "tests/x.py::t"
    for old in (
        "conformance/test_fuzz.py::t[a/b]",
        "../../.venv/lib/python3.11/site-packages/mmconform/_data/conformance/test_fuzz.py::t[a/b]",
        "test_fuzz.py::t[a/b]",
    ):
        assert normalise(old) == "test_fuzz.py::t[a/b]"


def test_the_readme_shows_the_forms_this_test_runs() -> None:
    """The README's plain-pytest commands are the two forms run above, and nothing else."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    forms = set()
    for line in text.splitlines():
        words = shlex.split(line) if "python -m pytest " in line and "--mm-url" in line else []
        if words:
            start = words.index("pytest") + 1
            forms.add(tuple(words[start : words.index("--mm-url")]))
    assert forms == {PYARGS_FORM, CHECKOUT_FORM}
