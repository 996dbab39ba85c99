"""Which conformance tests a run selects: by requirement, operation and actor.

A test is described by its `TestFacts`: the operationId it exercises, the actor who sends its
requests, and the requirement IDs it *can charge*. That last set is wider than the IDs a test
carries in its `requirement` marker: a matrix row's body checks name requirements of their own
(`live_target.verdict.NAMED_BY_OPERATION`), a fuzz test's built-in schemathesis checks name the
IDs of `conformance/checks.yaml`, and a licence operation's fuzz item names the licence
requirements its guard enforces. Selecting by requirement selects every test that can charge
it, so a partial run's verdict for a selected requirement is the verdict the whole suite would
give it (the selftest relies on exactly this to run a fault against only the tests that can kill
it).

Criteria of different kinds all have to match (AND); values of one kind are alternatives (OR).
A run that leaves out any collected test, by these criteria or by pytest's own (`-k`, `-m`,
`--deselect`), is PARTIAL: see `mmconform.report.verdicts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmconform.errors import UsageError


@dataclass(frozen=True)
class TestFacts:
    """What selection needs to know of one collected test."""

    nodeid: str
    operation: str | None = None
    actor: str | None = None
    carries: tuple[str, ...] = ()
    charges: frozenset[str] = field(default_factory=frozenset)

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class Criteria:
    """What the user asked for; empty tuples select everything."""

    requirements: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    nodeids: tuple[str, ...] = ()  # --rerun-failed: exactly these tests

    @property
    def empty(self) -> bool:
        return not (self.requirements or self.operations or self.actors or self.nodeids)

    def matches(self, facts: TestFacts) -> bool:
        if self.nodeids and facts.nodeid not in self.nodeids:
            return False
        if self.requirements and not facts.charges.intersection(self.requirements):
            return False
        if self.operations and facts.operation not in self.operations:
            return False
        return not (self.actors and facts.actor not in self.actors)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("requirements", "operations", "actors"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        if self.nodeids:
            out["tests"] = len(self.nodeids)
        return out


def split_values(values: Iterable[str] | None) -> tuple[str, ...]:
    """`--requirement A,B --requirement C` (and `MMCONFORM_REQUIREMENT=A,B`) -> (A, B, C)."""
    out: list[str] = []
    for value in values or ():
        out += [v.strip() for v in str(value).split(",") if v.strip()]
    return tuple(dict.fromkeys(out))


def check_criteria(criteria: Criteria, known_requirements: Iterable[str]) -> None:
    """Unknown IDs, operations or actors are input errors, named with the fix."""
    from mmconform.matrix import ACTORS
    from mmconform.operations import OPERATION_IDS

    known = set(known_requirements)
    bad = [r for r in criteria.requirements if r not in known]
    if bad:
        raise UsageError(
            f"--requirement {', '.join(bad)}: not in the registry; use IDs of "
            "conformance/requirements*.yaml (mmconform list shows them per test)"
        )
    bad = [o for o in criteria.operations if o not in OPERATION_IDS]
    if bad:
        raise UsageError(
            f"--operation {', '.join(bad)}: unknown operationId; use one of "
            f"{', '.join(OPERATION_IDS)}"
        )
    actors = set(ACTORS) | _FUZZ_ONLY_ACTORS
    bad = [a for a in criteria.actors if a not in actors]
    if bad:
        raise UsageError(
            f"--actor {', '.join(bad)}: unknown actor; use one of {', '.join(sorted(actors))}"
        )


# Identities the fuzz profiles refuse that are no matrix actor (conformance/profiles.yaml).
_FUZZ_ONLY_ACTORS = frozenset({"invalid_token", "deactivated_user"})


@dataclass(frozen=True)
class SelectionFacts:
    """What results.json records of a selection (`selection`), so every report can say PARTIAL."""

    collected: int
    selected: int
    criteria: Mapping[str, Any]
    # Tests pytest's own options left out (-k, -m, --deselect), beyond ours.
    deselected_by_pytest: int = 0
    # What pytest's arguments narrowed before collection (named test ids, some modules only):
    # such tests are never collected, so no count shows them (`narrowed_by_arguments`).
    narrowed: str | None = None

    @property
    def partial(self) -> bool:
        return self.selected < self.collected or bool(self.narrowed)

    def as_json(self) -> dict[str, Any]:
        criteria = dict(self.criteria)
        if self.deselected_by_pytest:
            criteria["pytest"] = f"{self.deselected_by_pytest} test(s) deselected by pytest options"
        if self.narrowed:
            criteria["arguments"] = self.narrowed
        return {
            "partial": self.partial,
            "collected": self.collected,
            "selected": self.selected,
            "criteria": criteria,
        }


def narrowed_by_arguments(
    arguments: Sequence[str],
    collected: Sequence[Path],
    suite_modules: Sequence[Path],
    folder: Path,
    cwd: Path,
) -> str | None:
    """What pytest's positional arguments left out of the suite, or None.

    `pytest conformance/test_permissions.py` or `pytest 'conformance/test_fuzz.py::test_x'` is
    an ordinary pytest run whose collection is already narrow, so comparing the selected tests
    with the collected ones shows nothing: without this, it certified CONFORMANT on a fraction
    of the suite. `suite_modules` are the test modules of the conformance folder the collected
    tests lie in, `folder` that folder; an argument naming it (or a folder above it) collects
    every test, so test ids named beside it narrow nothing.
    """
    root = folder.resolve()
    whole = any(
        (cwd / a).resolve() == root or (cwd / a).resolve() in root.parents
        for a in arguments
        if "::" not in a
    )
    named = [] if whole else [a for a in arguments if "::" in a]
    seen = {p.resolve() for p in collected}
    missing = sorted(m.name for m in suite_modules if m.resolve() not in seen)
    parts = []
    if named:
        parts.append(f"named test id(s) {', '.join(named)}")
    if missing:
        parts.append(f"module(s) not collected: {', '.join(missing)}")
    return "; ".join(parts) or None


def describe(selection: Mapping[str, Any] | None) -> str:
    """One line saying what a partial run selected (for terminals, certificates, pages)."""
    if not selection or not selection.get("partial"):
        return "the whole suite"
    criteria = selection.get("criteria") or {}
    parts = [
        f"{name} {', '.join(str(v) for v in criteria[name])}"
        for name in ("requirements", "operations", "actors")
        if criteria.get(name)
    ]
    if criteria.get("tests"):
        parts.append(f"{criteria['tests']} rerun test(s)")
    for key in sorted(set(criteria) - {"requirements", "operations", "actors", "tests"}):
        parts.append(f"{key}: {criteria[key]}")
    how = "; ".join(parts) or "a subset"
    return f"{selection.get('selected')} of {selection.get('collected')} tests ({how})"


def select(
    facts: Sequence[TestFacts], criteria: Criteria
) -> tuple[list[TestFacts], list[TestFacts]]:
    """(kept, left out), in collection order."""
    kept = [f for f in facts if criteria.matches(f)]
    dropped = [f for f in facts if not criteria.matches(f)]
    return kept, dropped
