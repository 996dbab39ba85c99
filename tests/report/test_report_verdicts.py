"""The verdict rules and the allure label mapping, as plain functions."""

from __future__ import annotations

from typing import Any

import pytest

from mmconform.report.labels import UPSTREAM_BLOB, labels_for, source_links
from mmconform.report.verdicts import (
    RequirementMeta,
    counted_requirements,
    derive_requirements,
    overall_verdict,
    unattributed,
)

MUST = RequirementMeta(level="MUST", title="t")


def _test(outcome: str, *reqs: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "nodeid": f"t::{outcome}-{'-'.join(reqs)}",
        "outcome": outcome,
        "requirements": list(reqs),
        "reason": reason,
    }


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        pytest.param(["passed", "passed"], "passed", id="all-passed"),
        pytest.param(["passed", "failed"], "failed", id="one-failed"),
        pytest.param(["passed", "error"], "failed", id="one-error"),
        pytest.param(["passed", "not_applicable"], "passed", id="passed-and-na"),
        pytest.param(["not_applicable", "not_applicable"], "not_applicable", id="all-na"),
        pytest.param(["skipped"], "untested", id="skipped-only"),
        pytest.param(["skipped", "not_applicable"], "untested", id="skipped-and-na"),
        pytest.param([], "untested", id="no-test"),
    ],
)
def test_requirement_verdict(outcomes: list[str], verdict: str) -> None:
    tests = [{**_test(o, "A-001"), "nodeid": f"t::{i}"} for i, o in enumerate(outcomes)]
    assert derive_requirements({"A-001": MUST}, tests, None)["A-001"]["verdict"] == verdict


@pytest.mark.parametrize(
    ("version", "verdict"),
    [("9.4.9", "passed"), ("9.5.0", "not_applicable"), (None, "passed"), ("garbage", "passed")],
)
def test_version_range(version: str | None, verdict: str) -> None:
    meta = RequirementMeta(level="MUST", versions="<9.5")
    derived = derive_requirements({"A-001": meta}, [_test("passed", "A-001")], version)
    assert derived["A-001"]["verdict"] == verdict


def test_retired_requirement_without_tests_is_left_out() -> None:
    metas = {"A-001": MUST, "B-001": RequirementMeta(level="MUST", retired=True)}
    derived = derive_requirements(metas, [_test("passed", "A-001")], None)
    assert list(derived) == ["A-001"]
    assert overall_verdict(derived)[0] == "CONFORMANT"


def test_unknown_requirement_blocks_conformance() -> None:
    derived = derive_requirements({"A-001": MUST}, [_test("passed", "A-001", "Z-001")], None)
    verdict, blockers = overall_verdict(derived)
    assert verdict == "NOT CONFORMANT"
    assert blockers == ["Z-001 is not in the registry (level unknown), verdict passed"]


def test_empty_registry_is_not_conformant() -> None:
    assert overall_verdict({}) == (
        "NOT CONFORMANT",
        ["no MUST requirement was evaluated; check the registry"],
    )


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("api4/license.go addLicense", "server/channels/api4/license.go"),
        ("app/platform/license.go", "server/channels/app/platform/license.go"),
        ("model/file.go", "server/public/model/file.go"),
        ("web/handlers.go", "server/channels/web/handlers.go"),
        ("server/public/model/utils.go", "server/public/model/utils.go"),
        ("specs/files.yaml", None),
    ],
)
def test_upstream_links_use_monorepo_paths(source: str, url: str | None) -> None:
    """Pre-monorepo paths (api4/…, model/…) no longer exist upstream."""
    links = source_links(source)
    assert links == ([UPSTREAM_BLOB + url] if url else [])


def test_labels_for_requirements() -> None:
    labels = labels_for(
        [
            ("LIC-001", "SHOULD", ("UploadLicenseFile",), "server/channels/api4/license.go"),
            (
                "PUB-001",
                "MUST",
                ("GetFileLink", "GetFilePublic"),
                "see file_test.go TestGetFileLink",
            ),
        ]
    )
    # No shared operation: the area of the first ID, and no feature guessed from the others.
    assert labels.epics == ["lic"]
    assert labels.features == ["several operations"]
    assert labels.stories == ["LIC-001", "PUB-001"]
    own = labels_for([("PUB-001", "MUST", ("GetFileLink", "GetFilePublic"), "")], "GetFilePublic")
    assert (own.epics, own.features) == (["public-link"], ["GetFilePublic"])
    assert labels.severity == "critical"
    assert labels.links == [
        (
            "https://github.com/mattermost/mattermost/blob/master/server/channels/api4/license.go",
            "LIC-001 upstream",
        )
    ]


def test_source_links_keep_urls() -> None:
    assert source_links("https://example.org/x.go; server/a/b.go getX") == [
        "https://example.org/x.go",
        "https://github.com/mattermost/mattermost/blob/master/server/a/b.go",
    ]


@pytest.mark.parametrize(
    ("message", "failed"),
    [
        pytest.param("Failed: [B-001] got 200; it must be refused", {"B-001"}, id="names-one"),
        pytest.param("Failed: row [A-001, C-001]: unexpected status", {"A-001", "C-001"}, id="two"),
        pytest.param("Failed: unexpected status", set(), id="names-none"),
        pytest.param("Failed: [XB-001] not B-001x", set(), id="partial"),
        pytest.param("Failed: [A-001] x; [D-001] y", {"A-001", "D-001"}, id="not-carried"),
    ],
)
def test_failure_is_charged_to_the_requirements_its_message_names(
    message: str, failed: set[str]
) -> None:
    metas = {"A-001": MUST, "B-001": MUST, "C-001": MUST, "D-001": MUST}
    failing = {**_test("failed", "A-001", "B-001", "C-001"), "message": message}
    passing = {**_test("passed", "A-001", "B-001", "C-001", "D-001"), "nodeid": "t::other"}
    derived = derive_requirements(metas, [failing, passing], None)
    assert {r for r, v in derived.items() if v["verdict"] == "failed"} == failed
    assert {r for r, v in derived.items() if v["verdict"] == "passed"} == set(metas) - failed
    verdict, blockers = overall_verdict(derived, [failing, passing])
    suite_errors = [b for b in blockers if b.startswith("suite error:")]
    assert verdict == "NOT CONFORMANT"
    assert len(suite_errors) == (0 if failed else 1)


def test_a_single_requirement_test_needs_not_name_it() -> None:
    failing = {**_test("failed", "A-001"), "message": "assert 403 == 404"}
    assert counted_requirements(failing) == ["A-001"]
    assert unattributed([failing]) == []


def test_a_failure_without_requirements_is_a_suite_error() -> None:
    broken = {"nodeid": "t::collect", "outcome": "error", "requirements": [], "message": "boom"}
    assert unattributed([broken]) == [
        {"nodeid": "t::collect", "outcome": "error", "requirements": [], "message": "boom"}
    ]
    derived = derive_requirements({"A-001": MUST}, [_test("passed", "A-001"), broken], None)
    verdict, blockers = overall_verdict(derived, [broken])
    assert verdict == "NOT CONFORMANT"
    assert blockers == [
        "suite error: t::collect failed naming none of its requirements (none): boom"
    ]


def test_summary_lists_every_blocker_with_its_title_and_the_na_reasons() -> None:
    """Before: the list stopped at 10 ("… and N more"), without titles, and N/A reasons never
    reached the terminal."""
    from mmconform.report.summary import summarize

    metas = {f"A-{n:03d}": RequirementMeta(level="MUST", title=f"rule {n}") for n in range(12)}
    metas["N-001"] = RequirementMeta(level="MUST", title="needs guests")
    metas["N-002"] = RequirementMeta(level="MUST", title="needs a licence")
    tests = [{**_test("failed", r), "message": "boom"} for r in metas if r.startswith("A-")]
    tests += [
        _test("not_applicable", "N-001", reason="not applicable: the target cannot provide guest"),
        _test("not_applicable", "N-002", reason="not applicable: the target cannot provide guest"),
    ]
    derived = derive_requirements(metas, tests, None)
    lines = summarize(derived, tests).lines()
    for n in range(12):
        assert f"  - MUST A-{n:03d} failed: rule {n}" in lines
    assert not any("more" in line for line in lines)
    assert "Not applicable:" in lines
    assert "  - the target cannot provide guest: N-001, N-002" in lines
