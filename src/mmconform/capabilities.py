"""What `--strict` accepts as not applicable: version ranges, and declared capability profiles.

`conformance/capabilities.yaml` holds the patterns (see its header). A strict run records in
results.json the patterns it was judged by (`strict`), so `verify` re-derives the verdict from
the evidence alone, without this installation's data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmconform.datafile import load_yaml, require_keys, require_mapping
from mmconform.errors import UsageError
from mmconform.resources import conformance_dir


@dataclass(frozen=True)
class Capability:
    name: str
    description: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Capabilities:
    path: Path
    version_ranges: tuple[str, ...]
    profiles: Mapping[str, Capability]

    def check_declared(self, names: Iterable[str]) -> tuple[str, ...]:
        chosen = tuple(dict.fromkeys(names))
        unknown = [n for n in chosen if n not in self.profiles]
        if unknown:
            raise UsageError(
                f"--declare {', '.join(unknown)}: not a capability profile; use one of "
                f"{', '.join(self.profiles)} ({self.path})"
            )
        return chosen

    def policy(self, declared: Sequence[str]) -> dict[str, Any]:
        """The `strict` block of results.json for a strict run declaring `declared`."""
        names = self.check_declared(declared)
        return {
            "on": True,
            "declared": list(names),
            "accepted": sorted(
                {*self.version_ranges, *(r for n in names for r in self.profiles[n].reasons)}
            ),
        }


def default_path() -> Path:
    return conformance_dir() / "capabilities.yaml"


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"{where}: expected a non-empty list of texts")
    return tuple(value)


def load_capabilities(path: Path | None = None) -> Capabilities:
    path = path or default_path()
    data = require_mapping(load_yaml(path), str(path))
    require_keys(data, str(path), {"version_ranges", "capabilities"}, set())
    ranges = _strings(data["version_ranges"], f"{path}: version_ranges")
    raw = require_mapping(data["capabilities"], f"{path}: capabilities")
    profiles: dict[str, Capability] = {}
    for name, row in raw.items():
        where = f"{path}: capability {name}"
        row = require_mapping(row, where)
        require_keys(row, where, {"description", "reasons"}, set())
        profiles[str(name)] = Capability(
            str(name), str(row["description"]), _strings(row["reasons"], f"{where}: reasons")
        )
    return Capabilities(path=path, version_ranges=ranges, profiles=profiles)


def accepted(reason: str, policy: Mapping[str, Any]) -> bool:
    """Whether `reason` (an N/A reason) is one the strict `policy` accepts."""
    text = reason.lower()
    return any(str(p).lower() in text for p in policy.get("accepted") or [])
