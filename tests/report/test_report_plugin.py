"""The results plugin, driven through real pytest runs of tiny test files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from report_support import ISOLATE, OPTIONS_CONFTEST, write_registry

pytest_plugins = ["pytester"]

SUITE = """
import pytest

@pytest.mark.requirement("FILES-GET-001")
def test_read():
    pass

@pytest.mark.requirement("FILES-GET-002", "FILES-GET-001")
def test_refuse():
    assert 200 == 403, "[FILES-GET-002] [FILES-GET-001] expected 403, got 200"

@pytest.mark.requirement("LICENSE-UPLOAD-001")
def test_guest():
    pytest.skip("not applicable: guests need a licence")

@pytest.mark.requirement("PUBLIC-LINK-001")
def test_public():
    pass

@pytest.mark.requirement("POSTS-INFO-001")
@pytest.mark.skip(reason="slow profile only")
def test_infos():
    pass

@pytest.fixture
def world():
    raise RuntimeError("provisioning failed")

def test_needs_world(world):
    pass

@pytest.mark.xfail(reason="known deviation of this fork")
@pytest.mark.requirement("FILES-GET-002")
def test_known_deviation():
    assert False
"""


def _run(pytester: pytest.Pytester, *extra: str, subprocess: bool = False) -> dict[str, Any]:
    pytester.makeconftest(OPTIONS_CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    registry = write_registry(pytester.path)
    run_dir = pytester.path / "run"
    args = [*ISOLATE, "--mm-registry", str(registry), "--mm-reports", str(run_dir), *extra]
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    runner(*args)
    data: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    return data


def _outcomes(data: dict[str, Any]) -> dict[str, str]:
    return {t["nodeid"].split("::")[1]: t["outcome"] for t in data["tests"]}


EXPECTED_OUTCOMES = {
    "test_read": "passed",
    "test_refuse": "failed",
    "test_guest": "not_applicable",
    "test_public": "passed",
    "test_infos": "skipped",
    "test_needs_world": "error",
    "test_known_deviation": "failed",
}


def test_outcomes_per_test(pytester: pytest.Pytester) -> None:
    data = _run(pytester, "--mm-server-version", "10.11.0")
    assert _outcomes(data) == EXPECTED_OUTCOMES
    by_name = {t["nodeid"].split("::")[1]: t for t in data["tests"]}
    assert by_name["test_guest"]["reason"] == "not applicable: guests need a licence"
    assert by_name["test_infos"]["reason"] == "slow profile only"
    assert "expected 403, got 200" in by_name["test_refuse"]["message"]
    assert "provisioning failed" in by_name["test_needs_world"]["message"]
    assert by_name["test_refuse"]["requirements"] == ["FILES-GET-002", "FILES-GET-001"]


def test_requirement_verdicts_and_version_range(pytester: pytest.Pytester) -> None:
    data = _run(pytester, "--mm-server-version", "10.11.0")
    verdicts = {k: v["verdict"] for k, v in data["requirements"].items()}
    assert verdicts == {
        "FILES-GET-001": "failed",  # one of its two tests failed
        "FILES-GET-002": "failed",
        "LICENSE-UPLOAD-001": "not_applicable",
        "PUBLIC-LINK-001": "not_applicable",  # range <9.5 excludes 10.11.0
        "POSTS-INFO-001": "untested",  # only a plain skip
    }
    assert data["requirements"]["PUBLIC-LINK-001"]["reasons"] == [
        "server version 10.11.0 outside range <9.5"
    ]
    assert data["summary"]["verdict"] == "NOT CONFORMANT"
    # The setup error names no requirement: a suite error, charged to nothing.
    assert [e["nodeid"] for e in data["summary"]["unattributed"]] == [
        "test_suite.py::test_needs_world"
    ]
    assert any(
        b.startswith("suite error: test_suite.py::test_needs_world")
        for b in data["summary"]["blockers"]
    )


def test_old_server_is_judged_by_its_own_rules(pytester: pytest.Pytester) -> None:
    data = _run(pytester, "--mm-server-version", "9.4.2")
    assert data["requirements"]["PUBLIC-LINK-001"]["verdict"] == "passed"


def test_run_metadata(pytester: pytest.Pytester) -> None:
    data = _run(
        pytester,
        "--mm-url",
        "http://admin:hunter22@127.0.0.1:8065/?access_token=abc",
        "--mm-server-version",
        "10.11.0",
        "--mm-profile",
        "ci",
        "--mm-seed",
        "1234",
    )
    assert data["schema"] == 1
    assert data["target"] == {
        "url": "http://127.0.0.1:8065/",
        "version": "10.11.0",
        "licence": None,
    }
    assert (data["profile"], data["seed"]) == ("ci", 1234)
    assert data["suite"]["version"] and data["suite"]["git_revision"]
    assert data["started_at"].endswith("Z") and data["finished_at"].endswith("Z")


def test_same_results_under_xdist(pytester: pytest.Pytester) -> None:
    data = _run(pytester, "-n", "2", "--mm-server-version", "10.11.0", subprocess=True)
    assert _outcomes(data) == EXPECTED_OUTCOMES
    assert data["requirements"]["FILES-GET-001"]["tests"] == [
        "test_suite.py::test_read",
        "test_suite.py::test_refuse",
    ]


def test_nothing_written_without_run_dir(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OPTIONS_CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest(*ISOLATE, "--mm-registry", str(write_registry(pytester.path)))
    result.assert_outcomes(passed=2, failed=1, skipped=2, errors=1, xfailed=1)
    assert not list(pytester.path.rglob("results.json"))


def test_nothing_written_when_only_collecting(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OPTIONS_CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    registry = write_registry(pytester.path)
    args = ["--mm-registry", str(registry), "--mm-reports", str(pytester.path / "run")]
    pytester.runpytest(*ISOLATE, *args, "--collect-only")
    assert not list(pytester.path.rglob("results.json"))


def test_works_without_the_main_plugin_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite="def test_ok():\n    pass\n")
    result = pytester.runpytest(*ISOLATE, "--mm-registry", str(write_registry(pytester.path)))
    result.assert_outcomes(passed=1)


def test_broken_registry_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite="def test_ok():\n    pass\n")
    bad = pytester.path / "bad.yaml"
    bad.write_text("requirements: [{id: nope}]\n")
    result = pytester.runpytest(*ISOLATE, "--mm-registry", str(bad))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mm-registry:*bad.yaml*"])


def test_collection_error_is_recorded(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OPTIONS_CONFTEST)
    pytester.makepyfile(test_broken="import no_such_module_anywhere\n")
    run_dir = pytester.path / "run"
    registry = write_registry(pytester.path)
    pytester.runpytest(*ISOLATE, "--mm-registry", str(registry), "--mm-reports", str(run_dir))
    data = json.loads((run_dir / "results.json").read_text())
    assert [(t["nodeid"], t["outcome"]) for t in data["tests"]] == [("test_broken.py", "error")]
    assert data["summary"]["verdict"] == "NOT CONFORMANT"


ALLURE_SUITE = """
import pytest

ROW = "UploadLicenseFile[guest]-403"

class Row:
    def __init__(self, id):
        self.id = id

@pytest.mark.requirement("FILES-GET-002", "LICENSE-UPLOAD-001")
def test_refuse():
    pass

@pytest.mark.requirement("POSTS-INFO-001")
@pytest.mark.skip(reason="not applicable: no posts")
def test_skipped_by_mark():
    pass

@pytest.mark.requirement("LICENSE-UPLOAD-001")
@pytest.mark.parametrize("row", [pytest.param(Row(ROW), id=ROW)])
def test_permission(row):
    assert False, "[LICENSE-UPLOAD-001] got 200"
"""


def _allure_run(pytester: pytest.Pytester, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    pytester.makeconftest(OPTIONS_CONFTEST)
    pytester.makepyfile(test_suite=ALLURE_SUITE)
    allure_dir = tmp_path / "allure"
    registry = write_registry(pytester.path)
    url = "http://admin:hunter22@127.0.0.1:8065/?access_token=abc"
    args = ["--mm-registry", str(registry), "--alluredir", str(allure_dir), "--mm-url", url]
    pytester.runpytest(*ISOLATE, *args, "--mm-seed", "7", "--mm-profile", "ci")
    results = [json.loads(p.read_text()) for p in allure_dir.glob("*-result.json")]
    return allure_dir, {r["fullName"].split("#")[-1]: r for r in results}


def _labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def test_allure_labels_one_epic_and_feature_per_test(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Before: every epic and feature of every requirement (licence tests under files › GetFile)."""
    _, by_name = _allure_run(pytester, tmp_path)
    row = by_name["test_permission"]
    assert (_labels(row, "epic"), _labels(row, "feature")) == (["license"], ["UploadLicenseFile"])
    assert _labels(row, "story") == ["LICENSE-UPLOAD-001"]
    assert row["name"] == "Guest actor needs a licence — UploadLicenseFile[guest]-403"
    assert row["parameters"][0]["value"] == "UploadLicenseFile[guest]-403"  # not a repr
    mixed = by_name["test_refuse"]
    assert _labels(mixed, "epic") == ["files"]
    assert _labels(mixed, "feature") == ["several operations"]
    assert _labels(mixed, "story") == ["FILES-GET-002", "LICENSE-UPLOAD-001"]
    assert _labels(mixed, "severity") == ["critical"]
    assert mixed["name"] == "Outsider is refused; Guest actor needs a licence"
    skipped = by_name["test_skipped_by_mark"]
    assert (_labels(skipped, "epic"), _labels(skipped, "feature")) == (
        ["posts"],
        ["GetFileInfosForPost"],
    )
    assert _labels(skipped, "severity") == ["normal"]
    urls = {link["url"] for link in mixed["links"]}
    assert urls == {
        "https://github.com/mattermost/mattermost/blob/master/server/channels/api4/file.go",
        "https://github.com/mattermost/mattermost/blob/master/server/channels/api4/license.go",
    }


def test_allure_environment_and_categories(pytester: pytest.Pytester, tmp_path: Path) -> None:
    allure_dir, _ = _allure_run(pytester, tmp_path)
    env = (allure_dir / "environment.properties").read_text()
    lines = dict(line.split(" = ", 1) for line in env.splitlines())
    assert lines["target"] == "http://127.0.0.1:8065/"
    assert (lines["profile"], lines["seed"]) == ("ci", "7")
    assert len(lines["specs_digest"]) == 64 or lines["specs_digest"].startswith("sha256:")
    assert "hunter22" not in env and "abc" not in env
    categories = json.loads((allure_dir / "categories.json").read_text())
    names = [c["name"] for c in categories]
    assert "Licence validation [licence-validation]" in names and names[-1] == "Other failures"
    import re

    auth = next(c for c in categories if c["name"].endswith("[function-authz]"))
    assert re.match(auth["messageRegex"], "Failed: x [LICENSE-UPLOAD-001] got 200")
    assert not re.match(auth["messageRegex"], "Failed: x [LICENSE-UPLOAD-0012] got 200")


def test_junit_suite_is_mmconform_without_hypothesis_noise(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_suite="""
from hypothesis import given, settings, strategies as st

@settings(max_examples=3, database=None)
@given(st.integers())
def test_numbers(n):
    pass
"""
    )
    xml = pytester.path / "junit.xml"
    pytester.runpytest(*ISOLATE, "--junitxml", str(xml), "--hypothesis-show-statistics")
    text = xml.read_text()
    assert 'testsuite name="mmconform"' in text
    assert "hypothesis-statistics" not in text


def test_hypothesis_storage_goes_to_the_cache_folder(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not `.hypothesis/` in the working directory; the mmconform cache (unicode tables built
    once, not in every run folder)."""
    cache = pytester.path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    pytester.makeconftest(OPTIONS_CONFTEST)
    pytester.makepyfile(
        test_suite="""
from hypothesis import given, settings, strategies as st

@settings(max_examples=3)
@given(st.integers())
def test_numbers(n):
    pass
"""
    )
    run_dir = pytester.path / "run"
    env_before = os.environ.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    try:
        result = pytester.runpytest_subprocess(*ISOLATE, "--mm-reports", str(run_dir))
    finally:
        if env_before is not None:
            os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = env_before
    result.assert_outcomes(passed=1)
    assert not (pytester.path / ".hypothesis").exists()
    assert (cache / "mmconform" / "hypothesis").is_dir()


def test_alongside_the_real_main_plugin(pytester: pytest.Pytester) -> None:
    """With the main plugin loaded (inactive: no --mm-url), its --mm-reports drives ours."""
    import mmconform.plugin as main_plugin

    if not hasattr(main_plugin, "pytest_addoption"):
        pytest.skip("the main plugin defines no options yet")
    pytester.makepyfile(test_suite="def test_ok():\n    pass\n")
    run_dir = pytester.path / "run"
    registry = write_registry(pytester.path)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--mm-registry", str(registry), "--mm-reports", str(run_dir)
    )
    result.assert_outcomes(passed=1)
    data = json.loads((run_dir / "results.json").read_text())
    assert [t["outcome"] for t in data["tests"]] == ["passed"]
    assert data["profile"] == "ci"  # the main plugin's default
