"""The two files Allure reads beside the results: environment.properties and categories.json.

Without them Allure's overview had no environment (which target, version, profile, seed, specs)
and its Categories view lumped every failure together. Both are written by the controller at
the end of the session. The environment never carries a secret: the target URL is cleaned of
credentials and query, and no token or password is ever among the values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmconform.datafile import load_yaml, require_keys, require_mapping
from mmconform.errors import UsageError
from mmconform.report.provenance import clean_url
from mmconform.resources import conformance_dir


@dataclass(frozen=True)
class Category:
    cls: str
    name: str
    requirements: tuple[str, ...]


def categories_path() -> Path:
    return conformance_dir() / "categories.yaml"


def load_categories(path: Path | None = None, known: Any = None) -> list[Category]:
    """Load and validate categories.yaml; `known` (requirement IDs) defaults to the registry."""
    path = path or categories_path()
    if known is None:
        from mmconform.registry import load_registry

        known = load_registry().requirements
    data = require_mapping(load_yaml(path), str(path))
    require_keys(data, str(path), {"categories"}, set())
    rows = data["categories"]
    if not isinstance(rows, list) or not rows:
        raise UsageError(f"{path}: expected a non-empty list under 'categories'")
    seen: dict[str, str] = {}
    out: list[Category] = []
    for index, raw in enumerate(rows, start=1):
        where = f"{path}: category #{index}"
        row = require_mapping(raw, where)
        require_keys(row, where, {"class", "name", "requirements"}, set())
        where = f"{path}: category {row['class']}"
        ids = row["requirements"]
        if not isinstance(ids, list) or not ids:
            raise UsageError(f"{where}: requirements must be a non-empty list of IDs")
        for req in ids:
            if str(req) not in known:
                raise UsageError(f"{where}: unknown requirement {req!r}; use a registry ID")
            if str(req) in seen:
                raise UsageError(f"{where}: {req} is already in category {seen[str(req)]}")
            seen[str(req)] = str(row["class"])
        out.append(Category(str(row["class"]), str(row["name"]), tuple(str(i) for i in ids)))
    return out


def categories_json(categories: list[Category]) -> list[dict[str, Any]]:
    """Allure categories: a failure goes to the first whose regex matches its message."""
    out: list[dict[str, Any]] = [
        {
            "name": f"{c.name} [{c.cls}]",
            "matchedStatuses": ["failed", "broken"],
            "messageRegex": "(?s).*(?<![A-Z0-9-])("
            + "|".join(re.escape(i) for i in c.requirements)
            + ")(?![0-9A-Za-z]).*",
        }
        for c in categories
    ]
    out.append({"name": "Other failures", "matchedStatuses": ["failed", "broken"]})
    return out


def environment_lines(values: Mapping[str, Any]) -> str:
    """Java properties text, one `key = value` a line, values on one line each."""
    lines = []
    for key, value in values.items():
        text = "" if value is None else str(value)
        text = text.replace("\\", "\\\\").replace("\n", " ")
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def write_allure_files(
    folder: Path,
    *,
    target_url: str | None,
    version: str | None,
    profile: str | None,
    seed: int | None,
) -> None:
    from mmconform.spec.digest import specs_digest

    try:
        digest: str | None = specs_digest()
    except Exception:  # a broken checkout must not cost the report
        digest = None
    folder.mkdir(parents=True, exist_ok=True)
    values = {
        "target": clean_url(target_url),
        "version": version,
        "profile": profile,
        "seed": seed,
        "specs_digest": digest,
    }
    (folder / "environment.properties").write_text(environment_lines(values), encoding="utf-8")
    categories = categories_json(load_categories())
    (folder / "categories.json").write_text(json.dumps(categories, indent=2), encoding="utf-8")
