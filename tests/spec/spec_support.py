"""Helpers for the spec tests: running the CLI in-process and editing copies of spec folders.

Not a conftest, so other rooms' tests do not see these names.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mmconform.cli import main
from mmconform.resources import specs_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI_SPECS = FIXTURES / "specs-mini"
MINI_UPSTREAM = FIXTURES / "upstream-mini"
# CI clones the repository beside a copy of shared/; a bare clone elsewhere has no upstream copy.
UPSTREAM = REPO_ROOT.parent / "shared" / "upstream" / "mattermost-api-v4"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `mmconform ARGS` in-process; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def copy_tree(source: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(source, target)
    return target


def copy_specs(tmp_path: Path) -> Path:
    """A private copy of the shipped specs/ that a test may break."""
    return copy_tree(specs_dir(), tmp_path, "specs")


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    """Load `path`, let `change` mutate the data in place, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def edit_paths_file(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Like edit_yaml for an upstream path file, keeping the indentation upstream's build needs."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    dumped = yaml.safe_dump(data, sort_keys=False)
    path.write_text("".join(f"  {line}\n" for line in dumped.splitlines()), encoding="utf-8")
