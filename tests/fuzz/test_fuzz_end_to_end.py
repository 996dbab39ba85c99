"""The fuzz suite, run for real against a reference server with injected faults, fails on each
fault naming the requirement it breaks, and its repro lines hold no secret."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_support import FAULTS, faulty_server

from mmconform.resources import conformance_dir


def _run_fuzz(
    url: str, password: str, tmp_path: Path, modules: tuple[str, ...] = ("test_fuzz.py",)
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MMCONFORM_", "PYTEST_XDIST_", "PYTEST_CURRENT_TEST"))
        or k == "MMCONFORM_FUZZ_TRACE"
    }
    env.update(MMCONFORM_LOGIN="admin", MMCONFORM_PASSWORD=password)
    env.pop("CI", None)
    # The licence operations are fuzzed only with the flag and a licence file in shape (the
    # server is unlicensed, so the file is never uploaded: it only has to pass the check).
    licence = tmp_path / "shaped.mattermost-license"
    payload = json.dumps({"id": "fuzzlicenceshapeonly00000"}).encode() + b"\x01" * 256
    licence.write_text(base64.b64encode(payload).decode())
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *(str(conformance_dir() / m) for m in modules),
        "--rootdir",
        str(conformance_dir()),
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        "-q",
        "-rf",
        "--mm-url",
        url,
        "--mm-profile",
        "quick",
        "--mm-seed",
        "3",
        "--mm-reports",
        str(tmp_path / "run"),
        "--mm-allow-config-changes",
        "--mm-allow-license-changes",
        "--mm-license-file",
        str(licence),
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


STATEFUL_ONLY = ("CONTRACT-STATE-001",)


@pytest.mark.slow
@pytest.mark.parametrize(
    "reqs, modules",
    [
        # One server with every stateless fault at once; the stateful fault alone, because a
        # crashing GetFileLink would stop the scenario before the public link is followed.
        pytest.param(
            tuple(r for r in FAULTS if r not in STATEFUL_ONLY), ("test_fuzz.py",), id="stateless"
        ),
        pytest.param(STATEFUL_ONLY, ("test_fuzz_stateful.py",), id="stateful"),
    ],
)
def test_every_injected_fault_is_reported_with_its_requirement(
    tmp_path: Path, reqs: tuple[str, ...], modules: tuple[str, ...]
) -> None:
    with faulty_server([FAULTS[r] for r in reqs]) as (url, password):
        result = _run_fuzz(url, password, tmp_path, modules)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    missing = [req for req in reqs if f"[{req}]" not in output]
    assert not missing, f"faults not reported: {missing}\n{output[-5000:]}"
    assert password not in output
    assert "[Filtered]" not in output
    assert "Reproduce with:" in output
    if "test_fuzz.py" in modules:  # session routes: the token is a shell variable
        assert "Authorization: Bearer $MM_TOKEN_" in output
    # One copy of each failure, short ids (issue 13): no exception-group suffix, no chained
    # second copy, FAILED lines relative to the conformance folder.
    assert "sub-exception" not in output
    assert "During handling of the above exception" not in output
    failed_lines = [line for line in output.splitlines() if line.startswith("FAILED ")]
    assert failed_lines and all(line.startswith("FAILED test_fuzz") for line in failed_lines)
    # Every failure named its requirement: nothing unattributed, no charge on every carried ID.
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["summary"]["unattributed"] == []
    failed = {r for r, e in results["requirements"].items() if e["verdict"] == "failed"}
    print("charged:", sorted(failed), "injected:", sorted(reqs))
    assert set(reqs) <= failed


def test_a_clean_answer_passes_the_wrapper_untouched() -> None:
    """The fault wrapper with no fault must not itself break anything the checks look at."""
    import httpx

    with faulty_server([]) as (url, _password):
        response = httpx.get(url + "/api/v4/files/" + "a" * 26)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]
