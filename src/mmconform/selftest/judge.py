"""From each run's results.json to the kill matrix, and the selftest's verdict.

A fault is *killed* only when a requirement it declares fails: a run that fails for some other
reason proves nothing about the fault (it may be noise, or a different check tripping by
accident), so it counts as *misattributed*. A fault marked `known_gap` is expected to survive;
if it is killed, the mark is stale and that too fails the selftest.

A fault killed by its declared requirements that also fails undeclared ones is *overcharged*:
the verdict charged more than the fault breaks (a check blaming the wrong requirement, or a
declaration that is too narrow). With `strict_attribution` (`.ci/run`, over the whole
catalogue) that fails the selftest, so each fault charges exactly its declared requirements.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmconform.reference.faults import Fault

KILLED = "killed"
OVERCHARGED = "overcharged"
SURVIVED = "survived"
MISATTRIBUTED = "misattributed"
KNOWN_GAP = "known-gap"
STALE_GAP = "stale-gap"
ERROR = "error"
PASSED = "passed"
FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """One suite run against one server (clean, or with one fault on)."""

    exit_code: int
    failed: tuple[str, ...]
    results: Path | None
    log: Path
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class Kill:
    fault: str
    cls: str
    description: str
    declared: tuple[str, ...]
    status: str
    caught_by: tuple[str, ...]
    also_failed: tuple[str, ...]
    seconds: float
    run: str
    known_gap: str | None = None
    error: str | None = None
    # "selected": only the tests that can charge the declared requirements ran; "whole suite".
    mode: str = "whole suite"


SELECTED_MODE = "selected"
WHOLE_MODE = "whole suite"


@dataclass
class SelftestReport:
    profile: str
    seed: int
    clean_status: str
    clean_failed: tuple[str, ...]
    clean_run: str
    kills: list[Kill] = field(default_factory=list)
    wall_seconds: float = 0.0
    jobs: int = 1
    shard: str | None = None
    strict_attribution: bool = False
    mode: str = WHOLE_MODE  # how each fault's run selected its tests (the clean run: all)

    @property
    def ok(self) -> bool:
        good = {KILLED, KNOWN_GAP}
        return self.clean_status == PASSED and all(k.status in good for k in self.kills)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in self.kills:
            out[k.status] = out.get(k.status, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "profile": self.profile,
            "seed": self.seed,
            "jobs": self.jobs,
            "shard": self.shard,
            "strict_attribution": self.strict_attribution,
            "per_fault_mode": self.mode,
            "wall_seconds": round(self.wall_seconds, 1),
            "verdict": "PASS" if self.ok else "FAIL",
            "clean": {
                "status": self.clean_status,
                "failed": list(self.clean_failed),
                "run": self.clean_run,
            },
            "counts": self.counts(),
            "faults": [{**asdict(k), "seconds": round(k.seconds, 1)} for k in self.kills],
        }


def failed_requirements(results: Path) -> tuple[str, ...]:
    """IDs whose verdict in results.json is "failed", sorted."""
    data = json.loads(results.read_text(encoding="utf-8"))
    reqs = data.get("requirements", {}) if isinstance(data, dict) else {}
    return tuple(
        sorted(k for k, v in reqs.items() if isinstance(v, dict) and v.get("verdict") == "failed")
    )


def unattributed_tests(results: Path) -> tuple[str, ...]:
    """Tests whose failure named no requirement (results.json summary.unattributed)."""
    data = json.loads(results.read_text(encoding="utf-8"))
    summary = data.get("summary", {}) if isinstance(data, dict) else {}
    rows = summary.get("unattributed") or [] if isinstance(summary, dict) else []
    return tuple(str(r.get("nodeid")) for r in rows if isinstance(r, dict))


def _run_name(outcome: Outcome) -> str:
    return str(outcome.results.parent) if outcome.results is not None else str(outcome.log)


def judge_fault(
    fault: Fault, outcome: Outcome, strict_attribution: bool = False, mode: str = WHOLE_MODE
) -> Kill:
    """Killed, or with `strict_attribution` overcharged when it also failed undeclared IDs
    (listed in `also_failed` either way)."""
    caught = tuple(r for r in fault.requirements if r in outcome.failed)
    # What else failed, but for what the fault is declared to break as well (also_breaks).
    also = tuple(
        r for r in outcome.failed if r not in fault.requirements and r not in fault.also_breaks
    )
    if outcome.error is not None:
        status = ERROR
    elif fault.known_gap:
        status = STALE_GAP if caught else KNOWN_GAP
    elif caught:
        status = OVERCHARGED if also and strict_attribution else KILLED
    elif outcome.failed:
        status = MISATTRIBUTED
    else:
        status = SURVIVED
    return Kill(
        fault=fault.name,
        cls=fault.cls,
        description=fault.description,
        declared=fault.requirements,
        status=status,
        caught_by=caught,
        also_failed=also,
        seconds=outcome.seconds,
        run=_run_name(outcome),
        known_gap=fault.known_gap,
        error=outcome.error,
        mode=mode,
    )


def judge(
    clean: Outcome,
    faulty: list[tuple[Fault, Outcome]],
    *,
    profile: str,
    seed: int,
    jobs: int,
    wall_seconds: float,
    strict_attribution: bool = False,
    mode: str = WHOLE_MODE,
) -> SelftestReport:
    clean_status = FAILED if clean.failed else PASSED
    if clean.error is not None:
        clean_status = ERROR
    return SelftestReport(
        profile=profile,
        seed=seed,
        clean_status=clean_status,
        clean_failed=clean.failed,
        clean_run=_run_name(clean),
        kills=[judge_fault(f, o, strict_attribution, mode) for f, o in faulty],
        wall_seconds=wall_seconds,
        jobs=jobs,
        strict_attribution=strict_attribution,
        mode=mode,
    )
