"""Seeded faults are still killed when every server emulates an old release (7.2.0: the most
boundaries crossed). A sample of three faults whose rules 7.2 has in their older form; the whole
catalogue at 11.5.0 (with the faults that carry their own as_version) stays in .ci/run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmconform.cli import main

# One fault each for the layers whose rules an old release changes: file reads (object authz,
# whose 7.2 rows are the post-based ones), disabled links (501 before 7.3) and the licence gate.
SAMPLE = (
    "bola-get-file-info",
    "public-served-while-disabled",
    "license-upload-any-user",
)


@pytest.mark.selftest
def test_a_sample_of_faults_is_killed_on_7_2(tmp_path: Path) -> None:
    args = ["selftest", "--profile", "ci", "--jobs", "2", "--reports", str(tmp_path)]
    args += ["--as-version", "7.2.0"]
    for name in SAMPLE:
        args += ["--fault", name]
    assert main(args) == 0
    data = json.loads((tmp_path / "selftest" / "kill-matrix.json").read_text())
    assert data["verdict"] == "PASS"
    assert {f["fault"]: f["status"] for f in data["faults"]} == dict.fromkeys(SAMPLE, "killed")
