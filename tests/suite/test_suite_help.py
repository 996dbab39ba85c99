"""`--help` gives the whole description (not its first line cut mid-sentence), examples, the
profiles and the exit codes."""

from __future__ import annotations

import inspect

import pytest

from mmconform.cli import main
from mmconform.commands import list_tests, run, selftest


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("argv", "module"),
    [(("run",), run), (("selftest",), selftest), (("list",), list_tests)],
)
def test_the_whole_description_is_shown(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], module: object
) -> None:
    text = _help(capsys, *argv)
    doc = " ".join(inspect.cleandoc(str(module.__doc__)).split())
    assert doc in text
    assert "Examples: mmconform " + argv[0] in text and "Exit codes: 0 " in text


@pytest.mark.parametrize("argv", [(), ("diff",), ("verify",)])
def test_examples_and_exit_codes(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    text = _help(capsys, *argv)
    assert "Examples:" in text and "Exit codes" in text and " 2 " in text


def test_run_help_explains_the_profiles_and_every_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(capsys, "run")
    for profile in ("quick", "ci", "full", "certify"):
        assert f" {profile} " in text
    assert "strict by default" in text
    for code in range(5):
        assert f" {code} " in text.split("Exit codes:", 1)[1]
