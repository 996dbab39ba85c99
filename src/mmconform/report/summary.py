"""The few lines a person reads at the end of a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmconform.report.model import CONFORMANT, NOT_CONFORMANT, PARTIAL, TEST_OUTCOMES
from mmconform.report.verdicts import count_verdicts, overall_verdict, unattributed


@dataclass(frozen=True)
class RunSummary:
    """Requirement counts and the overall verdict of one run."""

    passed: int
    failed: int
    not_applicable: int
    untested: int
    conformant: bool
    blockers: tuple[str, ...] = ()
    tests: Mapping[str, int] = field(default_factory=dict)
    certificate: Path | None = None
    digest: str | None = None
    signed_by: str | None = None
    traffic: Mapping[str, Any] | None = None
    # Failures naming none of their requirements (errors of the suite, see verdicts).
    suite_errors: tuple[str, ...] = ()
    # Requirement ID -> title, for the failed-requirement list.
    titles: Mapping[str, str] = field(default_factory=dict)
    # Why requirements were not applicable: (reason, IDs), most IDs first.
    not_applicable_reasons: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # A run of a selected subset (mmconform.selection): its verdict is PARTIAL.
    partial: bool = False
    selected: str = "the whole suite"
    not_selected: int = 0
    # --strict: the declared capability profiles (None: not strict).
    strict_declared: tuple[str, ...] | None = None

    @property
    def verdict(self) -> str:
        if self.partial:
            return PARTIAL
        return CONFORMANT if self.conformant else NOT_CONFORMANT

    @property
    def ok(self) -> bool:
        """Exit 0: conformant, or a partial run whose selected requirements block nothing."""
        return self.conformant or (self.partial and not self.blockers)

    def lines(self) -> list[str]:
        total = self.passed + self.failed + self.not_applicable + self.untested
        total += self.not_selected
        out = [
            f"Requirements: {self.passed} passed, {self.failed} failed, "
            f"{self.not_applicable} not applicable, {self.untested} untested"
            + (f", {self.not_selected} not selected" if self.partial else "")
            + f" ({total} total)"
        ]
        if self.partial:
            out.append(f"Selected: {self.selected} (a PARTIAL run certifies nothing)")
        if self.tests:
            parts = [f"{self.tests.get(o, 0)} {o.replace('_', ' ')}" for o in TEST_OUTCOMES]
            out.append("Tests: " + ", ".join(parts))
        if self.traffic:
            out.append(traffic_line(self.traffic))
        if self.suite_errors:
            out.append(
                f"Suite errors: {len(self.suite_errors)} failure(s) name none of their "
                "requirements (a bug of the suite, charged to no requirement; report it)"
            )
        if self.not_applicable_reasons:
            out.append("Not applicable:")
            for reason, ids in self.not_applicable_reasons:
                out.append(f"  - {reason}: {', '.join(ids)}")
        if self.strict_declared is not None:
            declared = ", ".join(self.strict_declared) or "none"
            out.append(f"Strict: N/A only for version ranges and declared profiles ({declared})")
        out.append(f"Verdict: {self.verdict}")
        # Every blocker, with the requirement's title: the list is what the user acts on.
        for blocker in self.blockers:
            req_id = blocker.split()[1] if blocker.startswith(("MUST ", "SHOULD ")) else ""
            title = self.titles.get(req_id, "")
            out.append(f"  - {blocker}" + (f": {title}" if title else ""))
        if self.certificate is not None:
            signer = f", signed by {self.signed_by}" if self.signed_by else ", unsigned"
            out.append(f"Certificate: {self.certificate} ({self.digest}{signer})")
        return out


def traffic_line(traffic: Mapping[str, Any]) -> str:
    """What the run cost the target and what it pushed back (429s are waited out, not judged)."""
    return (
        f"Traffic: {traffic.get('requests', 0)} requests, {traffic.get('rate_limited', 0)} "
        f"answered 429 (rate limited; waited {float(traffic.get('rate_limit_wait_s', 0)):.1f} s), "
        f"{traffic.get('transport_retries', 0)} transport retries"
    )


def summarize(
    requirements: Mapping[str, Mapping[str, Any]],
    tests: list[dict[str, Any]],
    selection: Mapping[str, Any] | None = None,
    strict: Mapping[str, Any] | None = None,
) -> RunSummary:
    from mmconform.selection import describe

    partial = bool((selection or {}).get("partial"))
    counts = count_verdicts(requirements)
    verdict, blockers = overall_verdict(requirements, tests, partial=partial, strict=strict)
    return RunSummary(
        passed=counts["passed"],
        failed=counts["failed"],
        not_applicable=counts["not_applicable"],
        untested=counts["untested"],
        conformant=verdict == CONFORMANT,
        blockers=tuple(blockers),
        tests={o: sum(t["outcome"] == o for t in tests) for o in TEST_OUTCOMES},
        suite_errors=tuple(e["nodeid"] for e in unattributed(tests, requirements)),
        titles={r: str(e.get("title") or "") for r, e in requirements.items()},
        not_applicable_reasons=na_reasons(requirements),
        partial=partial,
        selected=describe(selection),
        not_selected=counts.get("not_selected", 0),
        strict_declared=(
            tuple(str(d) for d in strict.get("declared") or [])
            if strict and strict.get("on")
            else None
        ),
    )


def na_reasons(
    requirements: Mapping[str, Mapping[str, Any]],
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Not-applicable requirements grouped by reason (the prefix "not applicable: " dropped)."""
    by_reason: dict[str, list[str]] = {}
    for req_id, entry in sorted(requirements.items()):
        if entry.get("verdict") != "not_applicable" or entry.get("retired"):
            continue
        for reason in entry.get("reasons") or ["no reason given"]:
            text = str(reason).removeprefix("not applicable:").strip() or "no reason given"
            by_reason.setdefault(text, []).append(req_id)
    ordered = sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return tuple((reason, tuple(ids)) for reason, ids in ordered)
