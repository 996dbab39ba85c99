"""The few lines a person reads at the end of a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmconform.report.model import CONFORMANT, NOT_CONFORMANT, TEST_OUTCOMES
from mmconform.report.verdicts import count_verdicts, overall_verdict

MAX_BLOCKERS_SHOWN = 10


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

    @property
    def verdict(self) -> str:
        return CONFORMANT if self.conformant else NOT_CONFORMANT

    def lines(self) -> list[str]:
        total = self.passed + self.failed + self.not_applicable + self.untested
        out = [
            f"Requirements: {self.passed} passed, {self.failed} failed, "
            f"{self.not_applicable} not applicable, {self.untested} untested ({total} total)"
        ]
        if self.tests:
            parts = [f"{self.tests.get(o, 0)} {o.replace('_', ' ')}" for o in TEST_OUTCOMES]
            out.append("Tests: " + ", ".join(parts))
        if self.traffic:
            out.append(traffic_line(self.traffic))
        out.append(f"Verdict: {self.verdict}")
        shown = self.blockers[:MAX_BLOCKERS_SHOWN]
        out += [f"  - {b}" for b in shown]
        if len(self.blockers) > len(shown):
            out.append(f"  - … and {len(self.blockers) - len(shown)} more")
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
    requirements: Mapping[str, Mapping[str, Any]], tests: list[dict[str, Any]]
) -> RunSummary:
    counts = count_verdicts(requirements)
    verdict, blockers = overall_verdict(requirements)
    return RunSummary(
        passed=counts["passed"],
        failed=counts["failed"],
        not_applicable=counts["not_applicable"],
        untested=counts["untested"],
        conformant=verdict == CONFORMANT,
        blockers=tuple(blockers),
        tests={o: sum(t["outcome"] == o for t in tests) for o in TEST_OUTCOMES},
    )
