"""`mmconform report`: the summary, the HTML rendering and keygen."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from report_support import ALL_PASS, NA_REASON, make_run, write_registry

from mmconform.cli import main


@pytest.fixture
def run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    outcomes = {**ALL_PASS, "t.py::test_read": ("failed", ["FILES-GET-001"])}
    make_run(run_dir, write_registry(tmp_path), outcomes, version="9.4.0", reasons=NA_REASON)
    return run_dir


def test_summary(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Target: http://127.0.0.1:8065 (version 9.4.0), profile ci, seed 42"
    assert "Requirements: 3 passed, 1 failed, 1 not applicable, 0 untested (5 total)" in out
    assert "Verdict: NOT CONFORMANT" in out
    assert "  - MUST FILES-GET-001 failed: Uploader reads own file" in out


def test_summary_points_at_certificate(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mmconform.report import finalize_run

    finalize_run(run, target_url="")
    capsys.readouterr()
    assert main(["report", str(run / "results.json")]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(f"Certificate: {run / 'certificate.json'} states NOT CONFORMANT")


def test_allure_without_allure_tool(
    run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (run / "allure-results").mkdir()
    monkeypatch.setenv("PATH", str(run / "no-tools-here"))
    assert main(["report", str(run), "--allure"]) == 2
    err = capsys.readouterr().err
    assert "'allure' command-line tool is not on PATH; install it" in err
    assert "mmconform report RUN --html" in err
    assert err.count("\n") == 1


def _fake_allure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, body: str) -> Path:
    """An `allure` that prints `version`, records its generate arguments and runs `body`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "allure"
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "{version}"; exit 0; fi\n'
        'echo "$@" > "$(dirname "$0")/args"\n' + body
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir / "args"


@pytest.mark.parametrize(
    ("version", "tail"),
    [
        pytest.param("2.32.0", ["-o", "{out}", "--clean", "--single-file"], id="allure-2"),
        pytest.param("2.13.8", ["-o", "{out}", "--clean"], id="allure-2-old"),
        pytest.param("3.0.0-beta.12", ["--output", "{out}"], id="allure-3"),
    ],
)
def test_allure_2_and_3_get_their_own_options(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, tail: list[str]
) -> None:
    (run / "allure-results").mkdir()
    args_file = _fake_allure(tmp_path, monkeypatch, version, 'mkdir -p "$4"\n')
    assert main(["report", str(run), "--allure"]) == 0
    out = str(run / "allure-report")
    expected = ["generate", str(run / "allure-results"), *(t.format(out=out) for t in tail)]
    assert args_file.read_text().split() == expected


def test_allure_failure_names_the_error_line(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: the last stderr line, often a stack frame or a usage footer."""
    (run / "allure-results").mkdir()
    body = (
        "echo \"error: unknown option '--clean'\" >&2\n"
        'echo "    at Command.unknownOption (commander.js:1)" >&2\nexit 1\n'
    )
    _fake_allure(tmp_path, monkeypatch, "2.30.0", body)
    assert main(["report", str(run), "--allure"]) == 2
    assert "allure generate failed (exit 1): error: unknown option '--clean'" in (
        capsys.readouterr().err
    )


def test_allure_without_results_dir(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run), "--allure"]) == 2
    assert "--alluredir" in capsys.readouterr().err


def test_html_is_one_self_contained_page(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run), "--html"]) == 0
    page = run / "report.html"
    assert capsys.readouterr().out.strip() == f"HTML report: {page}"
    text = page.read_text()
    assert "NOT CONFORMANT" in text and "FILES-GET-001" in text
    assert "expected 403, got 200" in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text), "no resource from elsewhere"
    assert "<script" not in text


def test_keygen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "issuer"
    assert main(["report", "keygen", "-o", str(key)]) == 0
    assert "fingerprint: sha256:" in capsys.readouterr().out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "issuer.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert main(["report", "keygen", "-o", str(key)]) == 2  # never overwrite silently
    assert main(["report", "keygen", "-o", str(key), "--force"]) == 0


def test_keygen_needs_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "keygen"]) == 2
    assert "keygen needs -o KEY" in capsys.readouterr().err


def test_summary_of_missing_run(tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "absent")]) == 2
