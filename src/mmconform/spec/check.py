"""`mmconform spec check`: are our fragments, errata and UPSTREAM.yaml sound?

Problems are collected, not raised, so one run lists all of them; only a missing specs folder is
bad input (UsageError, exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmconform.datafile import load_yaml
from mmconform.errors import UsageError
from mmconform.operations import OPERATION_IDS
from mmconform.spec.errata import errata_problems
from mmconform.spec.loader import (
    assemble,
    fragment_paths,
    iter_operations,
    operation_ids,
    read_fragment,
)

# The operations this suite is about; `spec check` fails when one goes missing.
REQUIRED_OPERATIONS = OPERATION_IDS
PUBLIC_PATH = "/files/{file_id}/public"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def check_specs(directory: Path) -> list[str]:
    """Every problem found in the specs folder `directory`, one line each."""
    problems: list[str] = []
    fragments: dict[str, dict[str, Any]] = {}
    for path in fragment_paths(directory):
        try:
            fragments[path.name] = read_fragment(path)
        except UsageError as exc:
            problems.append(str(exc))
    if problems:  # assembling would only repeat the first parse error
        return problems
    try:
        doc = assemble(fragments, directory)
    except UsageError as exc:
        return [str(exc)]
    problems.extend(_openapi_problems(doc))
    problems.extend(_operation_problems(doc))
    ops = set(operation_ids(doc))
    problems.extend(
        _file_problems(
            directory / "errata.yaml", lambda raw, where: errata_problems(raw, where, ops)
        )
    )
    names = set(fragments)
    problems.extend(
        _file_problems(
            directory / "UPSTREAM.yaml",
            lambda raw, where: upstream_problems(raw, where, names, ops),
        )
    )
    return problems


def _openapi_problems(doc: dict[str, Any]) -> list[str]:
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    validator_cls = (
        OpenAPIV31SpecValidator if doc["openapi"].startswith("3.1") else OpenAPIV30SpecValidator
    )
    problems = []
    for error in validator_cls(doc).iter_errors():
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        message = " ".join(str(error.message).split())
        problems.append(f"assembled specs: {where}: {message[:300]}")
    return problems


def _operation_problems(doc: dict[str, Any]) -> list[str]:
    found = {op.get("operationId"): (path, op) for path, _, op in iter_operations(doc)}
    problems = [
        f"assembled specs: operation {name} is missing; the suite covers it"
        for name in REQUIRED_OPERATIONS
        if name not in found
    ]
    for name, (path, op) in found.items():
        public = not path.startswith("/api/v4/")
        schemes = {s for req in op.get("security", doc.get("security") or []) for s in req}
        if public and schemes:
            problems.append(
                f"assembled specs: {name} ({path}) is public but requires {sorted(schemes)}"
            )
        if not public and schemes != {"bearerAuth"}:
            problems.append(f"assembled specs: {name} ({path}) must require bearerAuth only")
    item = (doc.get("paths") or {}).get(PUBLIC_PATH, {})
    for method in ("get", "head"):
        if method not in item:
            problems.append(f"assembled specs: {method.upper()} {PUBLIC_PATH} is missing")
    return problems


def _file_problems(path: Path, validate: Callable[[Any, str], list[str]]) -> list[str]:
    try:
        raw = load_yaml(path)
    except UsageError as exc:
        return [str(exc)]
    return validate(raw, str(path))


def upstream_problems(raw: Any, where: str, fragments: set[str], ops: set[str]) -> list[str]:
    """Problems with UPSTREAM.yaml: every fragment tracked, each track naming a file and commit."""
    if not isinstance(raw, dict) or not isinstance(raw.get("fragments"), dict):
        return [f"{where}: expected a mapping with a 'fragments' mapping"]
    problems = []
    for key in ("repository", "directory"):
        if not isinstance(raw.get(key), str):
            problems.append(
                f"{where}: '{key}' (e.g. mattermost/mattermost, api/v4/source) is missing"
            )
    listed = raw["fragments"]
    problems += [
        f"{where}: fragment {n} is not tracked; add it" for n in sorted(fragments - listed.keys())
    ]
    problems += [
        f"{where}: {n} is not a fragment in specs/" for n in sorted(listed.keys() - fragments)
    ]
    for name, entry in listed.items():
        tracks = entry.get("tracks") if isinstance(entry, dict) else None
        if not isinstance(tracks, list) or not tracks:
            problems.append(f"{where}: {name}: expected a non-empty 'tracks' list")
            continue
        for n, track in enumerate(tracks, start=1):
            label = f"{where}: {name} track #{n}"
            if not isinstance(track, dict):
                problems.append(f"{label}: expected a mapping")
                continue
            if not str(track.get("file", "")).endswith(".yaml"):
                problems.append(f"{label}: 'file' must name an upstream .yaml file")
            if not _COMMIT.match(str(track.get("commit", ""))):
                problems.append(f"{label}: 'commit' must be a full 40-hex commit id")
            for op in track.get("operations") or []:
                if op not in ops:
                    problems.append(f"{label}: operation {op!r} is not in our specs")
    return problems
