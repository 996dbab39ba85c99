"""Seeded faults are still killed when every server emulates an old release (7.2.0: the most
boundaries crossed). One fault per class, as test_selftest_e2e.py does for the default version; the
whole catalogue at 11.5.0 stays in .ci/run. About 13 suite runs, two at a time (~4 min)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmconform.cli import main
from mmconform.reference.faults import load_catalogue

ONE_PER_CLASS = (
    "bola-get-file-info",
    "license-upload-any-user",
    "auth-no-token-file-info",
    "public-hash-not-checked",
    "get-file-truncated",
    "error-json-charset",
    "info-missing-field",
    "html-served-inline",
    "license-expired-accepted",
    "deleted-file-still-served",
    "max-file-size-ignored",
    "odd-filename-500",
)


def test_the_sample_covers_every_class() -> None:
    catalogue = load_catalogue()
    assert {catalogue[n].cls for n in ONE_PER_CLASS} == {f.cls for f in catalogue.values()}


@pytest.mark.selftest
def test_one_fault_per_class_is_killed_on_7_2(tmp_path: Path) -> None:
    args = ["selftest", "--profile", "ci", "--jobs", "2", "--reports", str(tmp_path)]
    args += ["--as-version", "7.2.0"]
    for name in ONE_PER_CLASS:
        args += ["--fault", name]
    assert main(args) == 0
    data = json.loads((tmp_path / "selftest" / "kill-matrix.json").read_text())
    assert data["verdict"] == "PASS"
    assert {f["fault"]: f["status"] for f in data["faults"]} == dict.fromkeys(
        ONE_PER_CLASS, "killed"
    )
