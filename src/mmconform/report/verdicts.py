"""From per-test outcomes to a verdict per requirement and an overall verdict.

The same functions run when results.json is written and when `mmconform verify` re-derives the
verdicts from the evidence, so the rules live in exactly one place:

- a requirement whose version range excludes the target's version is not applicable;
- failed if any of its tests failed or errored; passed if one passed and none failed;
- a failed test fails exactly the requirements its failure message names (every check of the
  suite, and every built-in schemathesis check through conformance/checks.yaml, puts the ID it
  enforces there): its own IDs named anywhere in the message, and any registry ID named in
  brackets (`[CONTRACT-SERVER-001]`); it is no evidence either way for the others, so a fault is
  charged to the requirement it broke. A test with a single ID needs not name it;
- a failed test that names none of its requirements (or has none) is *unattributed*: an error
  of the suite, charged to no requirement, listed in results.json and blocking conformance,
  because guessing would charge every ID the test carries for a fault it may not have seen;
- not applicable if every one of its tests was not applicable; otherwise untested;
- in a PARTIAL run (one that left out some collected tests, mmconform.selection) a requirement
  none of whose tests ran is `not_selected`, and the overall verdict is PARTIAL whatever the
  selected requirements gave: a subset is never a certification, in either direction; its
  blockers still list what failed among the selected requirements;
- in a strict run (`strict`, results.json's policy) a requirement that is not applicable
  blocks conformance unless each of its reasons is a version range or is covered by a
  capability profile the run declared (mmconform.capabilities);
- CONFORMANT only when every applicable MUST requirement passed. A requirement the registry does
  not know (so its level is unknown) also blocks conformance: a certificate must not be granted on
  evidence the registry cannot vouch for.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mmconform.report.model import (
    BAD_OUTCOMES,
    CONFORMANT,
    FAILED,
    NOT_APPLICABLE,
    NOT_CONFORMANT,
    NOT_SELECTED,
    PARTIAL,
    PASSED,
    UNTESTED,
)
from mmconform.versions import VersionRange


@dataclass(frozen=True)
class RequirementMeta:
    """What verdicts need to know about a requirement, from the registry or from results.json."""

    level: str | None
    title: str = ""
    versions: str | None = None
    retired: bool = False

    def outside_range(self, server_version: str | None) -> bool:
        if self.versions is None or not server_version:
            return False
        try:
            return not VersionRange.parse(self.versions, "requirement").contains(server_version)
        except ValueError:  # an unparsable server version: judge it by every rule
            return False


def metas_from_registry(registry: Any) -> dict[str, RequirementMeta]:
    """`registry` is a `mmconform.registry.Registry`."""
    return {
        req.id: RequirementMeta(
            level=req.level,
            title=req.title,
            versions=req.versions.text if req.versions is not None else None,
            retired=req.retired,
        )
        for req in registry.requirements.values()
    }


def metas_from_results(requirements: Mapping[str, Any]) -> dict[str, RequirementMeta]:
    """The metadata results.json recorded, so verification needs no registry."""
    return {
        req_id: RequirementMeta(
            level=entry.get("level"),
            title=str(entry.get("title", "")),
            versions=entry.get("versions"),
            retired=bool(entry.get("retired", False)),
        )
        for req_id, entry in requirements.items()
    }


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _first_line(text: object) -> str:
    return str(text).strip().splitlines()[0] if str(text).strip() else "failed"


def _judge(tests: list[dict[str, Any]]) -> tuple[str, list[str]]:
    outcomes = [t["outcome"] for t in tests]
    reasons = _unique(str(t["reason"]) for t in tests if t.get("reason"))
    if not outcomes:
        return UNTESTED, ["no test in this run"]
    if any(o in BAD_OUTCOMES for o in outcomes):
        bad = [t for t in tests if t["outcome"] in BAD_OUTCOMES]
        return FAILED, [
            f"{t['nodeid']}: {_first_line(t.get('message') or t['outcome'])}" for t in bad
        ]
    if PASSED in outcomes:
        return PASSED, []
    if all(o == NOT_APPLICABLE for o in outcomes):
        return NOT_APPLICABLE, reasons
    return UNTESTED, reasons


def bracketed_ids(text: str) -> list[str]:
    """The `[ID]`s a failure text names, in order, once each."""
    return _unique(_BRACKETED.findall(text))


_BRACKETED = re.compile(r"\[([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-[0-9]+)\]")


def counted_requirements(test: Mapping[str, Any], known: Collection[str] = ()) -> list[str]:
    """The requirements a test's outcome is evidence for (see the module docstring).

    `known` are the registry's IDs: a bracketed one in a failure message is charged even when
    the test does not carry it (a built-in check may break a requirement the test's marker
    does not list). An empty list for a failed test means it is unattributed.
    """
    ids = [str(i) for i in test.get("requirements", [])]
    if test.get("outcome") not in BAD_OUTCOMES:
        return ids
    message = str(test.get("message") or "")
    message += "".join(f" [{i}]" for i in test.get("named") or [])
    named = [i for i in ids if re.search(rf"(?<![A-Z0-9-]){re.escape(i)}(?![0-9A-Za-z])", message)]
    named += [i for i in _BRACKETED.findall(message) if i in known and i not in named]
    if not named and len(ids) == 1:
        return ids
    return _unique(named)


def unattributed(
    tests: Iterable[Mapping[str, Any]], known: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Failed tests whose failure names none of their requirements: errors of the suite."""
    return [
        {
            "nodeid": t["nodeid"],
            "outcome": t["outcome"],
            "requirements": list(t.get("requirements", [])),
            "message": _first_line(t.get("message") or t["outcome"]),
        }
        for t in tests
        if t.get("outcome") in BAD_OUTCOMES and not counted_requirements(t, known)
    ]


def suite_error_lines(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """One blocker line per unattributed failure."""
    return [
        f"suite error: {e['nodeid']} failed naming none of its requirements "
        f"({', '.join(e['requirements']) or 'none'}): {e['message']}"
        for e in errors
    ]


def derive_requirements(
    metas: Mapping[str, RequirementMeta],
    tests: list[dict[str, Any]],
    server_version: str | None,
    *,
    partial: bool = False,
) -> dict[str, dict[str, Any]]:
    """The `requirements` block of results.json (`partial`: the run selected a subset)."""
    by_req: dict[str, list[dict[str, Any]]] = {}
    for test in tests:
        for req_id in counted_requirements(test, metas):
            by_req.setdefault(req_id, []).append(test)
    result: dict[str, dict[str, Any]] = {}
    for req_id in sorted(set(metas) | set(by_req)):
        meta = metas.get(req_id)
        req_tests = by_req.get(req_id, [])
        if meta is not None and meta.retired and not req_tests:
            continue  # retired and no longer exercised: nothing to say about it
        if meta is None:
            meta = RequirementMeta(level=None, title="(not in the registry)")
        if meta.outside_range(server_version):
            verdict = NOT_APPLICABLE
            reasons = [f"server version {server_version} outside range {meta.versions}"]
        elif partial and not req_tests:
            verdict, reasons = NOT_SELECTED, ["no test of it was selected in this partial run"]
        else:
            verdict, reasons = _judge(req_tests)
        result[req_id] = {
            "verdict": verdict,
            "level": meta.level,
            "title": meta.title,
            "versions": meta.versions,
            "retired": meta.retired,
            "tests": [t["nodeid"] for t in req_tests],
            "reasons": reasons,
        }
    return result


def overall_verdict(
    requirements: Mapping[str, Mapping[str, Any]],
    tests: Iterable[Mapping[str, Any]] = (),
    *,
    partial: bool = False,
    strict: Mapping[str, Any] | None = None,
) -> tuple[str, list[str]]:
    """CONFORMANT or NOT CONFORMANT, with one line per requirement that blocks conformance;
    PARTIAL for a `partial` run, with the blockers among what it selected. `strict`: the
    policy of a strict run (its N/A must be version ranges or declared capabilities).

    `tests` (when given) adds a line per unattributed failure: a suite error is never
    conformant, and it is not any requirement's failure either.
    """
    blockers: list[str] = suite_error_lines(unattributed(tests, requirements))
    counted = 0
    for req_id in sorted(requirements):
        entry = requirements[req_id]
        if entry.get("retired"):
            continue
        level, verdict = entry.get("level"), entry.get("verdict")
        if level is None and verdict != NOT_APPLICABLE:
            blockers.append(f"{req_id} is not in the registry (level unknown), verdict {verdict}")
        elif level == "MUST":
            counted += 1
            if verdict in (FAILED, UNTESTED):
                blockers.append(f"MUST {req_id} {verdict}")
    blockers += strict_blockers(requirements, strict)
    if partial:
        return PARTIAL, blockers
    if not requirements or (counted == 0 and not blockers):
        blockers.append("no MUST requirement was evaluated; check the registry")
    return (NOT_CONFORMANT if blockers else CONFORMANT), blockers


def strict_blockers(
    requirements: Mapping[str, Mapping[str, Any]], strict: Mapping[str, Any] | None
) -> list[str]:
    """Under --strict: one line per N/A requirement a version range or a declared capability
    does not explain."""
    if not strict or not strict.get("on"):
        return []
    from mmconform.capabilities import accepted

    out = []
    for req_id in sorted(requirements):
        entry = requirements[req_id]
        if entry.get("retired") or entry.get("verdict") != NOT_APPLICABLE:
            continue
        reasons = [str(r) for r in entry.get("reasons") or []] or ["no reason given"]
        bad = [r for r in reasons if not accepted(r, strict)]
        if bad:
            out.append(
                f"strict: {req_id} not applicable ({bad[0].removeprefix('not applicable: ')}); "
                "only version ranges and declared capability profiles (--declare) may be N/A"
            )
    return out


def count_verdicts(requirements: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    counts = {PASSED: 0, FAILED: 0, NOT_APPLICABLE: 0, UNTESTED: 0, NOT_SELECTED: 0}
    for entry in requirements.values():
        counts[entry["verdict"]] = counts.get(entry["verdict"], 0) + 1
    return counts
