"""Which requirement each built-in schemathesis check enforces (`conformance/checks.yaml`).

schemathesis' own checks (not_a_server_error, response_schema_conformance, …) raise failures
that name no requirement of ours. Without a name, results.json used to charge every ID the fuzz
test carries: one schema fault made eight MUST requirements fail, "no server error" among them.
Here each built-in check gets exactly one requirement from data, and `install` titles every
failure with it (`[CONTRACT-SCHEMA-001] Response violates schema`) before schemathesis writes
its report, so the verdict charges only what broke.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmconform.datafile import load_yaml, require_keys, require_mapping
from mmconform.errors import UsageError
from mmconform.fuzz.profiles import BUILTIN_CHECKS, FuzzData
from mmconform.resources import conformance_dir

# Our checks (fuzz/checks.py) that run a built-in check on the public route's route hits only:
# a failure they raise is the built-in's and is charged to the built-in's requirement.
RUNS_BUILTIN = {
    "mm_route_aware_headers": "response_headers_conformance",
    "mm_route_aware_negative": "negative_data_rejection",
}


@dataclass(frozen=True)
class Attribution:
    path: Path
    # built-in check name -> requirement ID (None: switched off for every operation)
    checks: Mapping[str, str | None]

    def requirement(self, check: str) -> str | None:
        return self.checks.get(RUNS_BUILTIN.get(check, check))


def default_path() -> Path:
    return conformance_dir() / "checks.yaml"


def load_attribution(
    path: Path | None = None,
    *,
    known: Mapping[str, Any] | None = None,
    fuzz: FuzzData | None = None,
) -> Attribution:
    """Load and validate checks.yaml against the registry (`known`: requirement IDs) and the
    tuning of profiles.yaml (`fuzz`); either defaults to the shipped file."""
    path = path or default_path()
    if known is None:
        from mmconform.registry import load_registry

        known = load_registry().requirements
    if fuzz is None:
        from mmconform.fuzz.profiles import load_fuzz_data

        fuzz = load_fuzz_data()
    data = require_mapping(load_yaml(path), str(path))
    require_keys(data, str(path), {"checks"}, set())
    rows = require_mapping(data["checks"], f"{path}: checks")
    switched_off = set(fuzz.tuning.get("all", {}))
    table: dict[str, str | None] = {}
    for name, raw in rows.items():
        where = f"{path}: check {name}"
        if name not in BUILTIN_CHECKS:
            raise UsageError(f"{where}: unknown built-in check; known: {', '.join(BUILTIN_CHECKS)}")
        row = require_mapping(raw, where)
        require_keys(row, where, {"requirement"}, set())
        req = row["requirement"]
        if req is None:
            if name not in switched_off:
                raise UsageError(
                    f"{where}: requirement is null but the check runs (it is not switched off "
                    f"under tuning: all in {fuzz.path}); name the requirement it enforces"
                )
        elif str(req) not in known:
            raise UsageError(
                f"{where}: unknown requirement {req!r}; use an ID of conformance/requirements*.yaml"
            )
        table[str(name)] = None if req is None else str(req)
    missing = [c for c in BUILTIN_CHECKS if c not in table]
    if missing:
        raise UsageError(
            f"{path}: no row for built-in check(s) {', '.join(missing)}; every check a fuzz test "
            "may run must name the requirement it enforces"
        )
    return Attribution(path=path, checks=table)


def titled(title: str, requirement: str) -> str:
    """A failure title naming its requirement once (a replayed failure is titled already)."""
    prefix = f"[{requirement}] "
    return title if title.startswith(prefix) else prefix + title


def install(schema: Any, attribution: Attribution) -> None:
    """Title each built-in check's failure with its requirement, on `schema` only.

    `after_validate` runs after every check and before schemathesis formats the failure group,
    with the name of the check that raised each failure: the one place both are known.
    """

    def after_validate(context: Any, case: Any, response: Any, results: list[Any]) -> None:
        for result in results:
            failure = getattr(result, "failure", None)
            req = attribution.requirement(str(getattr(result, "name", "")))
            if failure is not None and req is not None:
                failure.title = titled(str(failure.title), req)

    schema.hooks.register_hook_with_name(after_validate, "after_validate")
