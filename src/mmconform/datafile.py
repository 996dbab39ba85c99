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
    return parse_yaml(text, str(path))


# libyaml's parser when PyYAML was built with it: the same documents, several times faster, which
# matters because every pytest process (and every selftest run) loads all the data files.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text; a syntax error becomes one line naming `where` and the line."""
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise UsageError(f"{where}:{line} {problem}; fix the YAML syntax") from None


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
