"""Rendering the Allure HTML report with the `allure` command-line tool, when it is installed.

The tool is a Java (Allure 2) or npm (Allure 3) program we do not ship; without it the user gets
one line on how to get it, and `mmconform report RUN --html` (the built-in single-file page,
mmconform.report.html_page) needs neither.

Allure 2 and 3 take different options: 2 wants `--clean` to overwrite and builds a page that
opens from disk only with `--single-file` (2.24+; otherwise it needs `allure open`, since a
browser refuses its data fetches from file:// and shows "500 Failed to fetch"); 3 has no
`--clean` (it fails on it) and always overwrites.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from mmconform.errors import UsageError

INSTALL_HINT = (
    "the 'allure' command-line tool is not on PATH; install it "
    "(e.g. 'npm install -g allure', or see https://allurereport.org/docs/install/) "
    "and retry, or use the built-in page: mmconform report RUN --html"
)
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def allure_version(tool: str) -> tuple[int, int]:
    """(major, minor) from `allure --version`; (0, 0) when it says nothing usable."""
    done = subprocess.run(
        [tool, "--version"], capture_output=True, text=True, check=False, timeout=120
    )
    match = _VERSION.search(done.stdout or done.stderr or "")
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def generate_command(tool: str, version: tuple[int, int], source: Path, target: Path) -> list[str]:
    if version[0] >= 3:
        return [tool, "generate", str(source), "--output", str(target)]
    cmd = [tool, "generate", str(source), "-o", str(target), "--clean"]
    if version >= (2, 24):
        cmd.append("--single-file")
    return cmd


def error_line(text: str) -> str:
    """The line that says what went wrong: the first naming an error, not a stack frame."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("at ", "..."))]
    for line in lines:
        if re.search(r"error|exception|unknown|invalid|not found", line, re.IGNORECASE):
            return line
    return lines[-1] if lines else "no output"


def render_html(run_dir: Path) -> tuple[Path, str | None]:
    """Run the Allure CLI on RUN/allure-results into RUN/allure-report; returns the report
    folder and, when the page cannot be opened from disk, how to open it."""
    source = run_dir / "allure-results"
    if not source.is_dir():
        raise UsageError(
            f"{source}: no allure results; run the suite with --alluredir {source} first"
        )
    tool = shutil.which("allure")
    if tool is None:
        raise UsageError(INSTALL_HINT)
    target = run_dir / "allure-report"
    version = allure_version(tool)
    done = subprocess.run(
        generate_command(tool, version, source, target),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        why = error_line(done.stderr + "\n" + done.stdout)
        raise UsageError(f"allure generate failed (exit {done.returncode}): {why}")
    note = None
    if version[0] < 3 and version < (2, 24):
        note = f"open it with 'allure open {target}' (Allure {version[0]}.{version[1]} pages "
        note += "need a web server; 2.24+ makes a single file)"
    return target, note
