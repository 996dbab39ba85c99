"""Rendering the Allure HTML report with the `allure` command-line tool, when it is installed.

The tool is a Java/npm program we do not ship; without it the user gets one line on how to get it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from mmconform.errors import UsageError

INSTALL_HINT = (
    "the 'allure' command-line tool is not on PATH; install it "
    "(e.g. 'npm install -g allure-commandline', or see https://allurereport.org/docs/install/) "
    "and retry"
)


def render_html(run_dir: Path) -> Path:
    """Run `allure generate RUN/allure-results -o RUN/allure-report --clean`."""
    source = run_dir / "allure-results"
    if not source.is_dir():
        raise UsageError(
            f"{source}: no allure results; run the suite with --alluredir {source} first"
        )
    tool = shutil.which("allure")
    if tool is None:
        raise UsageError(INSTALL_HINT)
    target = run_dir / "allure-report"
    done = subprocess.run(
        [tool, "generate", str(source), "-o", str(target), "--clean"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"allure generate failed (exit {done.returncode}): {last[0]}")
    return target
