"""The seeded-fault catalogue (`faults.yaml` next to this module) as the server reads it.

The server only needs the names, to refuse an unknown one before it starts; what each fault
breaks and which requirements must catch it is for `mmconform selftest`. The check is plain
Python (no `mmconform.datafile`): the reference package never imports the rest of mmconform.
Hooks consult `State.fault(name)`, a frozenset membership test, and sit only on the code path
the fault concerns, so a clean server pays one set lookup at most on those paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from mmconform.reference.versions import VersionError, parse_version

CATALOGUE = "faults.yaml"
CLASSES = frozenset(
    {
        "object-authz",
        "function-authz",
        "authentication",
        "public-links",
        "data-integrity",
        "error-contract",
        "response-schema",
        "security-headers",
        "licence-validation",
        "lifecycle",
        "limits",
        "robustness",
    }
)
_REQUIRED = {"name", "class", "description", "requirements"}
_OPTIONAL = {"known_gap", "server_config", "as_version", "also_breaks", "edition"}
EDITIONS = ("enterprise", "team")  # Settings.edition


class FaultError(ValueError):
    """The catalogue is malformed or a name is not in it; the message names the fix."""


@dataclass(frozen=True)
class Fault:
    name: str
    cls: str
    description: str
    requirements: tuple[str, ...]
    known_gap: str | None = None
    # Config-file content the fault's server starts with ({section: {key: value}}): for settings
    # such as ExperimentalSettings.RestrictSystemAdmin that the API cannot change.
    server_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The version the fault's server emulates (X.Y.Z; None: the selftest's): for faults that
    # only exist on a server of an older version (versions.yaml).
    as_version: str | None = None
    # Requirements the fault breaks beside `requirements`: not a kill, not an overcharge.
    also_breaks: tuple[str, ...] = ()
    # The build the fault's server stands for (Settings.edition): "team" for the faults of the
    # Team Edition trial guard; the selftest tells the suite (--mm-trial-state team-edition).
    edition: str = "enterprise"


def _fault(row: Any, index: int) -> Fault:
    where = f"{CATALOGUE} fault #{index + 1}"
    if not isinstance(row, dict):
        raise FaultError(f"{where}: expected a mapping")
    missing = _REQUIRED - row.keys()
    unknown = row.keys() - _REQUIRED - _OPTIONAL
    if missing or unknown:
        raise FaultError(f"{where}: missing {sorted(missing)} / unknown {sorted(unknown)} field(s)")
    reqs = row["requirements"]
    if not isinstance(reqs, list) or not reqs or not all(isinstance(r, str) for r in reqs):
        raise FaultError(f"{where} ({row['name']}): requirements must be a non-empty list of IDs")
    also = row.get("also_breaks") or []
    if not isinstance(also, list) or not all(isinstance(r, str) for r in also):
        raise FaultError(f"{where} ({row['name']}): also_breaks must be a list of IDs")
    if set(also) & set(reqs):
        raise FaultError(
            f"{where} ({row['name']}): {sorted(set(also) & set(reqs))} in both requirements "
            "and also_breaks; keep each ID in one of them"
        )
    if row["class"] not in CLASSES:
        raise FaultError(
            f"{where} ({row['name']}): class {row['class']!r} not in {sorted(CLASSES)}"
        )
    gap = row.get("known_gap")
    config = row.get("server_config") or {}
    if not isinstance(config, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in config.items()
    ):
        raise FaultError(
            f"{where} ({row['name']}): server_config must map config sections to "
            "{setting: value} mappings"
        )
    version = row.get("as_version")
    if version is not None:
        try:
            parse_version(str(version))
        except VersionError as exc:
            raise FaultError(f"{where} ({row['name']}): as_version: {exc}") from None
    edition = str(row.get("edition") or "enterprise")
    if edition not in EDITIONS:
        raise FaultError(f"{where} ({row['name']}): edition {edition!r} not in {list(EDITIONS)}")
    return Fault(
        str(row["name"]),
        str(row["class"]),
        " ".join(str(row["description"]).split()),
        tuple(reqs),
        " ".join(str(gap).split()) if gap else None,
        {str(k): dict(v) for k, v in config.items()},
        str(version) if version is not None else None,
        tuple(also),
        edition,
    )


def load_catalogue() -> dict[str, Fault]:
    """Every fault by name, in catalogue order; names are unique."""
    text = resources.files("mmconform.reference").joinpath(CATALOGUE).read_text("utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FaultError(f"{CATALOGUE}: malformed YAML ({exc}); fix the catalogue") from None
    rows = data.get("faults") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise FaultError(f"{CATALOGUE}: expected a top-level 'faults' list")
    out: dict[str, Fault] = {}
    for i, row in enumerate(rows):
        fault = _fault(row, i)
        if fault.name in out:
            raise FaultError(f"{CATALOGUE}: fault {fault.name!r} appears twice")
        out[fault.name] = fault
    return out


def check_names(names: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """The names as a frozenset, or FaultError naming the first unknown one."""
    known = load_catalogue()
    for name in names:
        if name not in known:
            raise FaultError(
                f"unknown fault {name!r}; list them with 'mmconform serve --list-faults'"
            )
    return frozenset(names)
