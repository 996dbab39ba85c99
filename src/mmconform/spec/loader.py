"""Assembling our OpenAPI fragments (`specs/*.yaml`) into one document.

Each fragment is a partial OpenAPI 3 document: `openapi` (the same version in every fragment),
`paths` and/or `components`, and at most one fragment carries the header (`info`, `servers`).
Fragments refer to each other as `components.yaml#/components/schemas/FileInfo`; since assembly
keeps every fragment's structure, such a reference becomes the local `#/components/...` one.
Anything defined twice is an error naming both files, so no fragment can silently shadow another.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmconform.datafile import load_yaml, require_mapping
from mmconform.errors import UsageError
from mmconform.resources import specs_dir

if TYPE_CHECKING:  # schemathesis is heavy; import it only where a schema is built
    from schemathesis.specs.openapi.schemas import OpenApiSchema

# Files in specs/ that are not OpenAPI fragments.
NON_FRAGMENTS = frozenset({"errata.yaml", "UPSTREAM.yaml"})
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_HEADER_KEYS = ("info", "servers", "externalDocs")
_ALLOWED_KEYS = {"openapi", "paths", "components", "tags", *_HEADER_KEYS}


def fragment_paths(directory: Path | None = None) -> list[Path]:
    """The fragment files of `directory` (default: the shipped specs/), sorted by name."""
    root = specs_dir() if directory is None else directory
    if not root.is_dir():
        raise UsageError(f"{root}: specs folder not found; pass --specs DIR pointing at specs/")
    paths = sorted(p for p in root.glob("*.yaml") if p.name not in NON_FRAGMENTS)
    if not paths:
        raise UsageError(f"{root}: no *.yaml fragments; pass --specs DIR pointing at specs/")
    return paths


def read_fragment(path: Path) -> dict[str, Any]:
    """One fragment, parsed and shape-checked (top-level keys only)."""
    doc = require_mapping(load_yaml(path), str(path))
    unknown = sorted(k for k in doc if k not in _ALLOWED_KEYS and not str(k).startswith("x-"))
    if unknown:
        allowed = ", ".join(sorted(_ALLOWED_KEYS))
        raise UsageError(
            f"{path}: unknown top-level key(s) {', '.join(unknown)}; allowed: {allowed}"
        )
    if "openapi" not in doc:
        raise UsageError(f"{path}: missing 'openapi' (the OpenAPI version, e.g. 3.0.3)")
    for key in ("paths", "components"):
        if key in doc:
            require_mapping(doc[key], f"{path}: {key}")
    return doc


def load_fragments(dir: Path | None = None) -> dict[str, Any]:
    """Assemble every fragment of `dir` (default: the shipped specs/) into one OpenAPI document."""
    root = specs_dir() if dir is None else dir
    return assemble({p.name: read_fragment(p) for p in fragment_paths(root)}, root)


def assemble(raw: dict[str, dict[str, Any]], root: Path) -> dict[str, Any]:
    """One document from parsed fragments keyed by file name (see `read_fragment`); `root` is
    the folder they came from, named in errors."""
    fragments = {name: _localise_refs(frag, name, raw) for name, frag in raw.items()}
    return _merge(fragments, root)


def operation_ids(doc: dict[str, Any] | None = None) -> list[str]:
    """Every operationId of `doc` (default: our assembled specs), in document order."""
    document = load_fragments() if doc is None else doc
    return [op["operationId"] for _, _, op in iter_operations(document) if "operationId" in op]


def iter_operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of `doc`, in document order."""
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield path, method, op


def load_schema(base_url: str, directory: Path | None = None) -> OpenApiSchema:
    """Our assembled specs as a schemathesis schema aimed at `base_url` (an origin: the paths
    already carry /api/v4, so a base URL ending in /api/v4 would double it)."""
    import schemathesis

    schema = schemathesis.openapi.from_dict(load_fragments(directory))
    schema.config.update(base_url=base_url.rstrip("/"))
    return schema


def _localise_refs(node: Any, name: str, raw: dict[str, dict[str, Any]]) -> Any:
    """Rewrite `other.yaml#/x` into `#/x`, after checking that `/x` exists in `other.yaml`."""
    if isinstance(node, dict):
        out = {k: _localise_refs(v, name, raw) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            target, _, pointer = ref.partition("#")
            if target.removeprefix("./") not in raw:
                raise UsageError(
                    f"{name}: $ref {ref!r} points outside the fragments; "
                    f"use one of {', '.join(sorted(raw))} followed by #/..."
                )
            if is_missing(resolve_pointer(raw[target.removeprefix("./")], pointer)):
                raise UsageError(f"{name}: $ref {ref!r} resolves to nothing in {target}")
            out["$ref"] = f"#{pointer}"
        return out
    if isinstance(node, list):
        return [_localise_refs(v, name, raw) for v in node]
    return node


def _merge(fragments: dict[str, dict[str, Any]], root: Path) -> dict[str, Any]:
    versions = {name: doc["openapi"] for name, doc in fragments.items()}
    if len(set(map(str, versions.values()))) != 1:
        listing = ", ".join(f"{n}: {v}" for n, v in versions.items())
        raise UsageError(f"{root}: fragments disagree on the OpenAPI version ({listing}); use one")
    doc: dict[str, Any] = {"openapi": str(next(iter(versions.values())))}
    owners: dict[str, str] = {}  # "paths /x", "components schemas X", "header info" -> file

    def claim(key: str, name: str) -> None:
        if key in owners:
            raise UsageError(
                f"{key} is defined in both {owners[key]} and {name}; keep one definition"
            )
        owners[key] = name

    for name, frag in fragments.items():
        for key in _HEADER_KEYS:
            if key in frag:
                claim(f"top-level '{key}'", name)
                doc[key] = copy.deepcopy(frag[key])
        for tag in frag.get("tags") or []:
            claim(f"tag {tag.get('name')!r}", name)
            doc.setdefault("tags", []).append(copy.deepcopy(tag))
        for path, item in (frag.get("paths") or {}).items():
            claim(f"path {path}", name)
            doc.setdefault("paths", {})[path] = copy.deepcopy(item)
        for section, entries in (frag.get("components") or {}).items():
            for entry, value in require_mapping(entries, f"{name}: components.{section}").items():
                claim(f"components.{section}.{entry}", name)
                doc.setdefault("components", {}).setdefault(section, {})[entry] = copy.deepcopy(
                    value
                )
        for key, value in frag.items():
            if str(key).startswith("x-"):
                claim(f"top-level '{key}'", name)
                doc[key] = copy.deepcopy(value)
    _check_operation_ids(fragments)
    doc.setdefault("paths", {})
    _check_local_refs(fragments, doc)
    return doc


def _check_operation_ids(fragments: dict[str, dict[str, Any]]) -> None:
    seen: dict[str, str] = {}
    for name, frag in fragments.items():
        for path, method, op in iter_operations(frag):
            op_id = op.get("operationId")
            if op_id is None:
                continue
            if op_id in seen:
                raise UsageError(
                    f"operationId {op_id!r} is used in both {seen[op_id]} and "
                    f"{name} ({method.upper()} {path}); operationIds must be unique"
                )
            seen[op_id] = name


def _check_local_refs(fragments: dict[str, dict[str, Any]], doc: dict[str, Any]) -> None:
    for name, frag in fragments.items():
        for ref in _refs(frag):
            if resolve_pointer(doc, ref) is _MISSING:
                raise UsageError(f"{name}: $ref {ref!r} resolves to nothing in the assembled specs")


_MISSING = object()


def resolve_pointer(doc: Any, ref: str) -> Any:
    """The node `#/a/b` points at in `doc`, or a sentinel that is not any YAML value."""
    node = doc
    for raw in ref.lstrip("#").split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def is_missing(value: Any) -> bool:
    return value is _MISSING


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)
