"""Loading YAML data files with errors that name the file and the row.

Requirements, the permission matrix and the fault catalogue are data, not code. Whatever is
wrong in them must surface as one `UsageError` line naming the file, the row and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mmconform.errors import UsageError


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found; check the path") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror}); check permissions") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise UsageError(f"{path}:{where}: {problem}; fix the YAML syntax") from None


def require_mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def require_keys(row: dict[str, Any], where: str, required: set[str], optional: set[str]) -> None:
    missing = required - row.keys()
    if missing:
        raise UsageError(f"{where}: missing field(s) {', '.join(sorted(missing))}")
    unknown = row.keys() - required - optional
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise UsageError(
            f"{where}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {allowed}"
        )
