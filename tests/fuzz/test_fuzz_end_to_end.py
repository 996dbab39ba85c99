"""The fuzz suite, run for real against a reference server with injected faults, fails on each
fault naming the requirement it breaks, and its repro lines hold no secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_support import FAULTS, faulty_server

from mmconform.resources import conformance_dir


def _run_fuzz(url: str, password: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MMCONFORM_", "PYTEST_XDIST_", "PYTEST_CURRENT_TEST"))
    }
    env.update(MMCONFORM_LOGIN="admin", MMCONFORM_PASSWORD=password)
    env.pop("CI", None)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(conformance_dir() / "test_fuzz.py"),
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
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_every_injected_fault_is_reported_with_its_requirement(tmp_path: Path) -> None:
    with faulty_server(list(FAULTS.values())) as (url, password):
        result = _run_fuzz(url, password, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    missing = [req for req in FAULTS if f"[{req}]" not in output]
    assert not missing, f"faults not reported: {missing}\n{output[-5000:]}"
    assert password not in output
    assert "[Filtered]" not in output
    assert "Authorization: Bearer $MM_TOKEN_" in output
