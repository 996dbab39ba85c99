"""Assembling results.json from the per-test records the plugin collected.

Kept apart from the pytest hooks so the document's shape is built (and tested) in one plain
function; the plugin only gathers the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmconform.report.model import SCHEMA, TEST_OUTCOMES
from mmconform.report.provenance import clean_url, suite_info
from mmconform.report.redact import Scrubber
from mmconform.report.shard import SLICE_BLOCKER
from mmconform.report.verdicts import (
    RequirementMeta,
    count_verdicts,
    derive_requirements,
    overall_verdict,
    unattributed,
)

MESSAGE_LINES = 6
MESSAGE_CHARS = 1500


@dataclass
class TestRecord:
    """One test's fate across setup, call and teardown."""

    nodeid: str
    outcome: str | None = None
    reason: str | None = None
    message: str | None = None
    requirements: list[str] = field(default_factory=list)
    duration: float = 0.0
    # Requirement IDs the whole failure text names in brackets: `message` keeps only its first
    # lines, and a failure group can name its third requirement on line 20.
    named: list[str] = field(default_factory=list)
    # The failure's exchange in the run's exchanges.har (mmconform.exchanges), by entry id.
    exchange: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            # A test that never reported a call phase (interrupted run) did not pass.
            "outcome": self.outcome or "error",
            "reason": self.reason,
            "message": self.message,
            "requirements": self.requirements,
            "duration": round(self.duration, 3),
            "named": self.named,
            "exchange": (
                {"file": "exchanges.har", "entry": self.exchange} if self.exchange else None
            ),
        }


def short_message(text: str) -> str:
    """The first lines of a failure: enough to see what broke, short enough for a table."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    head = "\n".join(lines[:MESSAGE_LINES])
    if len(lines) > MESSAGE_LINES:
        head += "\n…"
    return head if len(head) <= MESSAGE_CHARS else head[: MESSAGE_CHARS - 1] + "…"


@dataclass(frozen=True)
class RunContext:
    target_url: str | None
    target_version: str | None
    profile: str | None
    seed: int | None
    started_at: str
    finished_at: str
    registry: Mapping[str, Any]
    # Requests sent, 429 answers and the seconds waited for them (mmconform.traffic).
    traffic: Mapping[str, Any] | None = None
    # What the run selected (mmconform.selection.SelectionFacts.as_json); None: everything.
    selection: Mapping[str, Any] | None = None
    # The --strict policy (mmconform.capabilities.Capabilities.policy); None: not strict.
    strict: Mapping[str, Any] | None = None
    # The target's licence as the probe found it: {"licensed": bool, "sku": str | None}.
    target_licence: Mapping[str, Any] | None = None
    # `run --shard K/N`: the slice's facts (report/shard.py); None for a whole run.
    shard: Mapping[str, Any] | None = None


def build_results(
    records: list[TestRecord],
    metas: Mapping[str, RequirementMeta],
    context: RunContext,
    scrubber: Scrubber,
) -> dict[str, Any]:
    """The whole results.json document, secrets scrubbed."""
    tests = [r.as_json() for r in sorted(records, key=lambda r: r.nodeid)]
    selection = dict(context.selection or {"partial": False})
    if context.shard is not None:  # a slice (`run --shard K/N`) is a selected part of the suite
        criteria = {k: v for k, v in dict(selection.get("criteria") or {}).items() if k != "pytest"}
        criteria["shard"] = f"{context.shard['k']}/{context.shard['n']}"
        selection.update(partial=True, criteria=criteria)
    partial = bool(selection.get("partial"))
    requirements = derive_requirements(metas, tests, context.target_version, partial=partial)
    strict = dict(context.strict) if context.strict else {"on": False}
    verdict, blockers = overall_verdict(requirements, tests, partial=partial, strict=strict)
    if context.shard is not None:
        blockers.append(SLICE_BLOCKER.format(k=context.shard["k"], n=context.shard["n"]))
    outcome_counts = {o: sum(t["outcome"] == o for t in tests) for o in TEST_OUTCOMES}
    document = {
        "schema": SCHEMA,
        "suite": suite_info(),
        "target": {
            "url": clean_url(context.target_url),
            "version": context.target_version,
            "licence": dict(context.target_licence) if context.target_licence else None,
        },
        "profile": context.profile,
        "seed": context.seed,
        "started_at": context.started_at,
        "finished_at": context.finished_at,
        "registry": dict(context.registry),
        "traffic": dict(context.traffic or {}),
        "selection": selection,
        "strict": strict,
        **({"shard": dict(context.shard)} if context.shard is not None else {}),
        "tests": tests,
        "requirements": requirements,
        "summary": {
            "tests": outcome_counts,
            "requirements": count_verdicts(requirements),
            "verdict": verdict,
            "blockers": blockers,
            # Failures that name none of their requirements: errors of the suite, not of the
            # target, charged to no requirement (see mmconform.report.verdicts).
            "unattributed": unattributed(tests, requirements),
        },
    }
    scrubbed: dict[str, Any] = scrubber.tree(document)
    return scrubbed
