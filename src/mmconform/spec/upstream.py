"""Loading upstream's OpenAPI sources (`api/v4/source/*.yaml` of mattermost/mattermost).

Upstream builds one document by concatenating `introduction.yaml` (which ends with `paths:`),
the path files (indented path items) and `definitions.yaml` (components). We do the same. The
copies may come from different commits, so `definitions.yaml` can lack schemas other files refer
to; references are therefore resolved lazily, only where our operations need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmconform.datafile import parse_yaml
from mmconform.errors import UsageError
from mmconform.spec.loader import is_missing, resolve_pointer

INTRODUCTION = "introduction.yaml"
DEFINITIONS = "definitions.yaml"


def upstream_files(directory: Path) -> list[Path]:
    """The files in upstream's build order: introduction, path files by name, definitions."""
    if not directory.is_dir():
        raise UsageError(
            f"{directory}: upstream folder not found; pass --upstream DIR holding upstream's "
            "api/v4/source/*.yaml"
        )
    for name in (INTRODUCTION, DEFINITIONS):
        if not (directory / name).is_file():
            raise UsageError(f"{directory}: no {name}; is this a copy of api/v4/source?")
    middle = sorted(
        p for p in directory.glob("*.yaml") if p.name not in (INTRODUCTION, DEFINITIONS)
    )
    return [directory / INTRODUCTION, *middle, directory / DEFINITIONS]


def load_upstream(directory: Path) -> dict[str, Any]:
    """Upstream's assembled document. Malformed YAML is a UsageError naming the file and line."""
    texts = []
    for path in upstream_files(directory):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read ({exc}); check the file") from None
        parse_yaml(text, str(path))  # alone first: an error names its file and line
        texts.append(text if text.endswith("\n") else text + "\n")
    doc = parse_yaml("".join(texts), f"{directory} (assembled)")
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise UsageError(
            f"{directory}: the assembled files have no 'paths' mapping; introduction.yaml must end "
            "with 'paths:' and path files must hold indented path items"
        )
    return doc


def resolve(doc: dict[str, Any], node: Any, needed_by: str) -> Any:
    """Follow `$ref`s from `node`; a dangling one names the operation that needed it."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#"):
            raise UsageError(f"{needed_by}: $ref {ref!r} is circular or not local; cannot compare")
        seen.add(ref)
        target = resolve_pointer(doc, ref)
        if is_missing(target):
            raise UsageError(
                f"{needed_by}: $ref {ref!r} resolves to nothing; the upstream copy is incomplete "
                "(definitions.yaml from an older commit?)"
            )
        node = target
    return node
