"""Fuzz profiles and per-operation check tuning, from `conformance/profiles.yaml`.

A profile is the whole size of a fuzz run (examples, phases, refused identities, stateful
scenarios); the seed is not in it, it comes from the run. Tuning switches off built-in
schemathesis checks that the real server's documented behaviour would trip, with the reason.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmconform.datafile import load_yaml, require_keys, require_mapping
from mmconform.errors import UsageError
from mmconform.operations import OPERATION_IDS
from mmconform.resources import conformance_dir

PROFILE_NAMES = ("quick", "ci", "full", "certify")
PHASES = ("examples", "coverage", "fuzzing")
REFUSABLE_ACTORS = (
    "anonymous",
    "invalid_token",
    "deactivated_user",
    "other_team_user",
    "team_member_not_in_channel",
    "guest_not_in_channel",
)
BUILTIN_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)
_OPERATIONS = OPERATION_IDS
_KEYS = {"max_examples", "phases", "refused_actors", "refused_examples", "stateful"}


@dataclass(frozen=True)
class Profile:
    name: str
    max_examples: int
    phases: tuple[str, ...]
    refused_actors: tuple[str, ...]
    refused_examples: int
    stateful_scenarios: int
    stateful_steps: int
    # --strict by default: N/A outside version ranges and declared capabilities fail the run.
    strict: bool = False


@dataclass(frozen=True)
class FuzzData:
    path: Path
    profiles: dict[str, Profile]
    # operationId (or "all") -> {check name: reason}
    tuning: dict[str, dict[str, str]]

    def profile(self, name: str) -> Profile:
        if name not in self.profiles:
            raise UsageError(
                f"unknown fuzz profile {name!r}; choose one of {', '.join(self.profiles)}"
            )
        return self.profiles[name]

    def excluded_checks(self, operation_id: str) -> tuple[str, ...]:
        """Built-in check names switched off for `operation_id` (global ones first)."""
        names = [*self.tuning.get("all", {}), *self.tuning.get(operation_id, {})]
        return tuple(dict.fromkeys(names))


def default_path() -> Path:
    return conformance_dir() / "profiles.yaml"


def load_fuzz_data(path: Path | None = None) -> FuzzData:
    """Load and validate profiles.yaml; every error names the file and the entry."""
    path = path or default_path()
    data = require_mapping(load_yaml(path), str(path))
    require_keys(data, str(path), {"profiles", "tuning"}, set())
    raw_profiles = require_mapping(data["profiles"], f"{path}: profiles")
    missing = [n for n in PROFILE_NAMES if n not in raw_profiles]
    extra = [str(n) for n in raw_profiles if n not in PROFILE_NAMES]
    if missing or extra:
        raise UsageError(
            f"{path}: profiles must be exactly {', '.join(PROFILE_NAMES)} "
            f"(missing: {', '.join(missing) or '-'}; unknown: {', '.join(extra) or '-'})"
        )
    profiles = {n: _profile(path, n, raw_profiles[n]) for n in PROFILE_NAMES}
    _check_growth(path, profiles)
    tuning = _tuning(path, require_mapping(data["tuning"], f"{path}: tuning"))
    return FuzzData(path=path, profiles=profiles, tuning=tuning)


def _count(where: str, key: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{where}: {key} must be a whole number >= {minimum}, got {value!r}")
    return value


def _names(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise UsageError(f"{where}: {key} must be a non-empty list")
    bad = [str(v) for v in value if v not in allowed]
    if bad:
        raise UsageError(f"{where}: unknown {key} {', '.join(bad)}; allowed: {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise UsageError(f"{where}: {key} lists an entry twice")
    return tuple(str(v) for v in value)


def _profile(path: Path, name: str, raw: Any) -> Profile:
    where = f"{path}: profile {name}"
    row = require_mapping(raw, where)
    require_keys(row, where, _KEYS, {"strict"})
    strict = row.get("strict", False)
    if not isinstance(strict, bool):
        raise UsageError(f"{where}: strict must be true or false")
    stateful = require_mapping(row["stateful"], f"{where}: stateful")
    require_keys(stateful, f"{where}: stateful", {"scenarios", "steps"}, set())
    phases = _names(where, "phases", row["phases"], PHASES)
    if "fuzzing" not in phases:
        raise UsageError(f"{where}: phases must include fuzzing")
    return Profile(
        name=name,
        max_examples=_count(where, "max_examples", row["max_examples"]),
        phases=phases,
        refused_actors=_names(where, "refused_actors", row["refused_actors"], REFUSABLE_ACTORS),
        refused_examples=_count(where, "refused_examples", row["refused_examples"]),
        stateful_scenarios=_count(where, "stateful.scenarios", stateful["scenarios"]),
        stateful_steps=_count(where, "stateful.steps", stateful["steps"], minimum=2),
        strict=strict,
    )


def _check_growth(path: Path, profiles: dict[str, Profile]) -> None:
    """Each profile is at least as thorough as the one before it."""
    order = [profiles[n] for n in PROFILE_NAMES]
    for small, big in itertools.pairwise(order):
        for attr in ("max_examples", "refused_examples", "stateful_scenarios", "stateful_steps"):
            if getattr(big, attr) < getattr(small, attr):
                raise UsageError(
                    f"{path}: profile {big.name} has fewer {attr} than {small.name}; "
                    "profiles must grow from quick to certify"
                )


def _tuning(path: Path, raw: dict[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for op, entries in raw.items():
        where = f"{path}: tuning {op}"
        if op != "all" and op not in _OPERATIONS:
            raise UsageError(
                f"{where}: unknown operation; use 'all' or one of {', '.join(_OPERATIONS)}"
            )
        checks = require_mapping(entries, where)
        for check, reason in checks.items():
            if check not in BUILTIN_CHECKS:
                raise UsageError(
                    f"{where}: unknown built-in check {check!r}; known: {', '.join(BUILTIN_CHECKS)}"
                )
            if not isinstance(reason, str) or not reason.strip():
                raise UsageError(f"{where}: {check} needs a reason (a non-empty string)")
        out[str(op)] = {str(k): str(v) for k, v in checks.items()}
    return out
