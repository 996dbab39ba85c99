"""The single-file HTML report, opened from disk in headless Chromium (no Java, no server).

Debian's `chromium` (installed by .ci/run); without it the test skips and says so. Chromium runs
sandbox-less with a fresh profile, no network services of its own (no QUIC, sync, component
updates or background networking), and dumps the DOM after the page loaded: what a person sees.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_support import ALL_PASS, NA_REASON, make_run, write_registry

from mmconform.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _dom(page: Path, profile: Path) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _text(dom: str) -> str:
    """The page's visible text, roughly: tags out, entities decoded, spaces folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom)))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_page_shows_verdict_failed_requirements_and_failure_detail(tmp_path: Path) -> None:
    run = tmp_path / "run"
    outcomes = {
        **ALL_PASS,
        "test_permissions.py::test_permission[GetFile[outsider]-403]": (
            "failed",
            ["FILES-GET-002"],
        ),
        "t.py::test_read": ("failed", ["FILES-GET-001"]),
    }
    make_run(run, write_registry(tmp_path), outcomes, version="9.4.0", reasons=NA_REASON)
    assert main(["report", str(run), "--html"]) == 0
    dom = _dom(run / "report.html", tmp_path / "chromium-profile")
    text = _text(dom)
    assert 'id="verdict"' in dom and "NOT CONFORMANT" in text
    for req_id, title in (
        ("FILES-GET-001", "Uploader reads own file"),
        ("FILES-GET-002", "Outsider is refused"),
    ):
        assert f"{req_id} MUST — {title}" in text
    assert "test_permissions.py::test_permission[GetFile[outsider]-403]" in text
    assert "AssertionError: expected 403, got 200" in text  # a failure's detail
    assert "guests need a licence" in text  # the N/A reason
