"""One option table (mmconform.options) feeds `mmconform run` and the pytest plugin alike."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmconform.cli import build_parser
from mmconform.errors import UsageError
from mmconform.options import BY_DEST, OPTIONS, resolve, resolve_namespace, to_plugin_args


def _help(*args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMCONFORM_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", *args, "--help"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_both_sides_expose_every_row(tmp_path: Path) -> None:
    cli = _help("mmconform", "run", cwd=tmp_path)
    plugin = _help("pytest", "-p", "no:cacheprovider", cwd=tmp_path)
    for option in OPTIONS:
        if option.cli:
            assert option.cli in cli, option.dest
            if option.env:
                assert option.env in " ".join(cli.split()), option.dest  # help names the twin
        if option.plugin:
            assert option.plugin in plugin, option.dest
        assert option.cli or option.plugin


def test_environment_twins_defaults_and_checks_are_the_same_rules() -> None:
    profile, seed, flag = BY_DEST["profile"], BY_DEST["seed"], BY_DEST["allow_config_changes"]
    assert resolve(profile, None, {}) == "ci"
    assert resolve(profile, None, {"MMCONFORM_PROFILE": "quick"}) == "quick"
    assert resolve(profile, "full", {"MMCONFORM_PROFILE": "quick"}) == "full"  # option wins
    assert resolve(seed, None, {"MMCONFORM_SEED": "12"}) == 12
    with pytest.raises(UsageError, match="MMCONFORM_SEED='x' is not a whole number"):
        resolve(seed, None, {"MMCONFORM_SEED": "x"})
    with pytest.raises(UsageError, match="MMCONFORM_PROFILE='bogus' is not one of quick"):
        resolve(profile, None, {"MMCONFORM_PROFILE": "bogus"})
    assert resolve(flag, None, {"MMCONFORM_ALLOW_CONFIG_CHANGES": "yes"}) is True
    with pytest.raises(UsageError, match="yes/no"):
        resolve(flag, None, {"MMCONFORM_ALLOW_CONFIG_CHANGES": "maybe"})
    assert resolve(BY_DEST["requirement"], None, {"MMCONFORM_REQUIREMENT": "A-001,B-001"}) == [
        "A-001,B-001"
    ]
    assert resolve(BY_DEST["strict"], None, {}) is None  # on/off: None leaves it to the profile


def test_cli_values_reach_the_plugin_but_secrets_never_do(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in OPTIONS:
        if option.env:
            monkeypatch.delenv(option.env, raising=False)
    args = build_parser().parse_args(
        [
            "run",
            "--token",
            "s3cret",
            "--requirement",
            "X-001",
            "--no-strict",
            "--declare",
            "subpath",
        ]
    )
    resolve_namespace(args)
    flags = to_plugin_args(args)
    assert "s3cret" not in flags and "--mm-token" not in flags
    assert flags[flags.index("--mm-requirement") + 1] == "X-001"
    assert "--mm-no-strict" in flags and flags[flags.index("--mm-declare") + 1] == "subpath"
    assert flags[flags.index("--mm-profile") + 1] == "ci"


def test_plain_pytest_honours_the_environment_twins_with_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMCONFORM_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_x.py"],
        cwd=tmp_path,
        env={**env, "MMCONFORM_SEED": "abc"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4
    assert "MMCONFORM_SEED='abc' is not a whole number" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_namespace_without_an_option_is_left_alone() -> None:
    args = argparse.Namespace(seed=None)
    resolve_namespace(args, ("seed",))
    assert args.seed is None
