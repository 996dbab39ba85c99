"""The requirements registry: `conformance/requirements.yaml` and `requirements-*.yaml` beside it.

Each room that adds checks keeps its requirements in its own file (`requirements-contract.yaml`
for the fuzzing checks, ...), so the registry is one namespace assembled from several files; an
ID defined twice, in one file or across files, is rejected.

Every test, matrix row and fuzz check names the requirement IDs it verifies; the registry is
what those IDs mean. IDs are stable and never reused (a retired requirement stays, marked
`retired: true`), so two runs years apart can still be compared requirement by requirement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mmconform.datafile import load_yaml, require_keys, require_mapping
from mmconform.errors import UsageError
from mmconform.operations import OPERATION_IDS
from mmconform.resources import conformance_dir
from mmconform.versions import VersionRange

ID_PATTERN = re.compile(r"^[A-Z]+(-[A-Z]+)*-\d{3}$")
LEVELS = ("MUST", "SHOULD", "MAY")
OPERATIONS = frozenset(OPERATION_IDS)

_REQUIRED = {"id", "title", "description", "level", "operations", "source"}
_OPTIONAL = {"versions", "retired"}


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    description: str
    level: str
    operations: tuple[str, ...]
    source: str
    versions: VersionRange | None = None
    retired: bool = False

    def applies_to(self, server_version: str | None) -> bool:
        """No range: applies to every version. Unknown server version: every rule applies."""
        if self.versions is None or server_version is None:
            return True
        return self.versions.contains(server_version)


@dataclass(frozen=True)
class Registry:
    path: Path
    requirements: dict[str, Requirement]

    def __contains__(self, req_id: object) -> bool:
        return req_id in self.requirements

    def __getitem__(self, req_id: str) -> Requirement:
        return self.requirements[req_id]

    def check_ids(self, ids: tuple[str, ...] | list[str], where: str) -> None:
        """Reject unknown requirement IDs with a line naming the place that used them."""
        unknown = [i for i in ids if i not in self.requirements]
        if unknown:
            raise UsageError(
                f"{where}: unknown requirement ID(s) {', '.join(unknown)}; "
                f"add them to {self.path} or fix the spelling"
            )


def default_path() -> Path:
    return conformance_dir() / "requirements.yaml"


def registry_files(path: Path) -> list[Path]:
    """The main file and its `requirements-*.yaml` siblings, in a stable order."""
    return [path, *sorted(path.parent.glob(f"{path.stem}-*.yaml"))]


def load_registry(path: Path | None = None) -> Registry:
    """Load the registry from `path` (default: the shipped one) and its sibling files."""
    path = path or default_path()
    found: dict[str, Requirement] = {}
    for file in registry_files(path):
        _load_file(file, found)
    return Registry(path=path, requirements=found)


def _load_file(path: Path, found: dict[str, Requirement]) -> None:
    data = require_mapping(load_yaml(path), str(path))
    rows = data.get("requirements")
    if not isinstance(rows, list) or not rows:
        raise UsageError(f"{path}: expected a non-empty list under 'requirements'")
    for index, raw in enumerate(rows, start=1):
        where = f"{path}: requirement #{index}"
        row = require_mapping(raw, where)
        if "id" in row:
            where = f"{path}: requirement {row['id']}"
        require_keys(row, where, _REQUIRED, _OPTIONAL)
        req_id = str(row["id"])
        if not ID_PATTERN.match(req_id):
            raise UsageError(f"{where}: id must look like FILES-GET-001")
        if req_id in found:
            raise UsageError(f"{where}: duplicate id; IDs are unique across all registry files")
        level = str(row["level"])
        if level not in LEVELS:
            raise UsageError(f"{where}: level must be one of {', '.join(LEVELS)}, got {level!r}")
        ops = row["operations"]
        if not isinstance(ops, list) or not ops:
            raise UsageError(f"{where}: operations must be a non-empty list")
        bad_ops = [o for o in ops if o not in OPERATIONS]
        if bad_ops:
            raise UsageError(
                f"{where}: unknown operation(s) {', '.join(map(str, bad_ops))}; "
                f"known: {', '.join(sorted(OPERATIONS))}"
            )
        for text_field in ("title", "description", "source"):
            if not isinstance(row[text_field], str) or not row[text_field].strip():
                raise UsageError(f"{where}: {text_field} must be a non-empty string")
        versions = row.get("versions")
        found[req_id] = Requirement(
            id=req_id,
            title=row["title"].strip(),
            description=" ".join(row["description"].split()),
            level=level,
            operations=tuple(ops),
            source=row["source"].strip(),
            versions=VersionRange.parse(str(versions), where) if versions is not None else None,
            retired=bool(row.get("retired", False)),
        )
