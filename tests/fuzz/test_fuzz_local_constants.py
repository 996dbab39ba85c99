"""The cases a seed gives do not depend on what is imported (Hypothesis' local constants)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
sys.path.insert(0, ".")
{pin}
from hypothesis.internal.conjecture import providers
providers._get_local_constants()
import lcprobe  # a local module: Hypothesis would mine its literals into later draws
print(len(providers._get_local_constants()))
"""


def _pool_size(cwd: Path, pin: str) -> int:
    code = PROBE.format(pin=pin)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_local_constants_stay_empty_whatever_is_imported(tmp_path: Path) -> None:
    (tmp_path / "lcprobe.py").write_text('X = "a-distinct-constant"\nY = 123456789\n')
    assert _pool_size(tmp_path, "") > 0  # what Hypothesis does on its own
    assert _pool_size(tmp_path, "import mmconform.fuzz.runner") == 0
