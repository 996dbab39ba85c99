"""Slices of one run across machines: `run --shard K/N` and `mmconform merge RUN...`.

A slice runs the tests whose stable id hashes to K of N (sha256 of the id, so the split depends
on nothing but the ids: the same seed gives the same ids and the same slices on every machine).
Its results.json carries `shard` (K, N, seed, profile, target, suite version, spec digest) and
its verdict is never CONFORMANT: a slice proves nothing about the whole suite.

`merge` joins the slices into one results.json and one certificate; it refuses (one line, exit 2)
when a slice is missing or given twice, or the slices disagree about the target, the seed, the
profile, the suite version or the specs. The merged results.json names its slices (`merged`), and
`verify` checks that they are 1..N exactly once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mmconform.errors import UsageError

SLICE_BLOCKER = "a slice of the suite (shard {k}/{n}): join every slice with `mmconform merge`"
# What every slice of one run must agree on, as results.json["shard"] states it.
_SAME = ("n", "seed", "profile", "target", "suite_version", "specs_digest")
_SPEC = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)$")


def parse_shard(text: str, where: str = "--shard") -> tuple[int, int]:
    """`K/N` with 1 <= K <= N; one line naming the fix otherwise."""
    match = _SPEC.match(text.strip())
    if match is None:
        raise UsageError(f"{where} {text!r} is not K/N; write e.g. 1/3 (the first of three slices)")
    k, n = int(match.group(1)), int(match.group(2))
    if k > n:
        raise UsageError(f"{where} {text!r}: K must be between 1 and N; write e.g. {n}/{n}")
    return k, n


def in_slice(test_id: str, k: int, n: int) -> bool:
    """Whether the test of this stable id belongs to slice k of n."""
    digest = hashlib.sha256(test_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def slice_facts(
    k: int, n: int, *, seed: int | None, profile: str | None, target: Mapping[str, Any]
) -> dict[str, Any]:
    """results.json's `shard`: what merge checks all slices agree on."""
    from mmconform.report.provenance import suite_info
    from mmconform.spec.digest import specs_digest

    try:
        specs: str | None = specs_digest()
    except OSError:
        specs = None
    return {
        "k": k,
        "n": n,
        "seed": seed,
        "profile": profile,
        "target": {"url": target.get("url"), "version": target.get("version")},
        "suite_version": (suite_info() or {}).get("version"),
        "specs_digest": specs,
    }


def slice_blockers(results: Mapping[str, Any]) -> list[str]:
    """The line that keeps a slice's verdict from CONFORMANT (none for a whole or merged run)."""
    shard = results.get("shard")
    if not isinstance(shard, Mapping):
        return []
    return [SLICE_BLOCKER.format(k=shard.get("k"), n=shard.get("n"))]


def merged_problems(results: Mapping[str, Any]) -> list[str]:
    """For verify: a merged results.json must name slices 1..N of N, each once."""
    merged = results.get("merged")
    if merged is None:
        return []
    if not isinstance(merged, list) or not merged:
        return ["merged: malformed list of slices"]
    ns = {m.get("n") for m in merged if isinstance(m, Mapping)}
    ks = sorted(str(m.get("k")) for m in merged if isinstance(m, Mapping))
    n = next(iter(ns)) if len(ns) == 1 else None
    if not isinstance(n, int):
        return [f"merged: slices of different splits ({sorted(map(str, ns))})"]
    if ks != sorted(str(k) for k in range(1, n + 1)):
        return [f"merged: slices {ks} are not 1..{n} each once"]
    return []


def _load_slice(run: Path) -> dict[str, Any]:
    from mmconform.report.model import RESULTS_NAME, load_results, require_verdict

    path = run / RESULTS_NAME if run.is_dir() else run
    results = require_verdict(load_results(path), path)
    if not isinstance(results.get("shard"), dict):
        raise UsageError(f"{path}: not a slice (no shard); merge the runs of `run --shard K/N`")
    return results


def merge_slices(runs: Iterable[Path]) -> dict[str, Any]:
    """The whole run's results.json from its slices' (refusing incomplete or foreign sets)."""
    from mmconform.report.verdicts import (
        count_verdicts,
        derive_requirements,
        overall_verdict,
        unattributed,
    )

    slices = [(run, _load_slice(run)) for run in runs]
    if not slices:
        raise UsageError("merge needs the run folders of every slice; give them all")
    first_run, first = slices[0]
    facts = first["shard"]
    seen: dict[int, Path] = {}
    for run, results in slices:
        shard = results["shard"]
        for key in _SAME:
            if shard.get(key) != facts.get(key):
                raise UsageError(
                    f"{run}: {key} {shard.get(key)!r} differs from {first_run}'s "
                    f"{facts.get(key)!r}; merge only the slices of one run"
                )
        k = int(shard["k"])
        if k in seen:
            raise UsageError(f"slice {k}/{facts['n']} given twice ({seen[k]} and {run})")
        seen[k] = run
    missing = sorted(set(range(1, int(facts["n"]) + 1)) - set(seen))
    if missing:
        names = ", ".join(f"{k}/{facts['n']}" for k in missing)
        raise UsageError(f"slice(s) {names} missing; give every slice's run folder")
    tests: list[dict[str, Any]] = []
    ids: dict[str, Path] = {}
    for run, results in slices:
        for test in results["tests"]:
            if test["nodeid"] in ids:
                raise UsageError(
                    f"{test['nodeid']} is in two slices ({ids[test['nodeid']]}, {run})"
                )
            ids[test["nodeid"]] = run
            tests.append(test)
    tests.sort(key=lambda t: t["nodeid"])
    version = (first.get("target") or {}).get("version")
    from mmconform.report.verdicts import metas_from_results

    selection = _merged_selection(first.get("selection") or {}, len(tests))
    partial = bool(selection["partial"])
    strict = first.get("strict") or {"on": False}
    requirements = derive_requirements(
        metas_from_results(first["requirements"]), tests, version, partial=partial
    )
    verdict, blockers = overall_verdict(requirements, tests, partial=partial, strict=strict)
    from mmconform.report.model import TEST_OUTCOMES

    traffic: dict[str, Any] = {}
    for _run, results in slices:
        for name, value in (results.get("traffic") or {}).items():
            if name == "max_in_flight":
                traffic[name] = max(traffic.get(name, 0), value)
            else:
                traffic[name] = round(traffic.get(name, 0) + value, 3)
    merged = {k: v for k, v in first.items() if k not in ("shard", "tests", "requirements")}
    merged.update(
        {
            "started_at": min(r["started_at"] for _run, r in slices),
            "finished_at": max(r["finished_at"] for _run, r in slices),
            "traffic": traffic,
            "tests": tests,
            "requirements": requirements,
            "selection": selection,
            "merged": [
                {"k": r["shard"]["k"], "n": r["shard"]["n"], "started_at": r["started_at"]}
                for _run, r in sorted(slices, key=lambda s: int(s[1]["shard"]["k"]))
            ],
            "summary": {
                "tests": {o: sum(t["outcome"] == o for t in tests) for o in TEST_OUTCOMES},
                "requirements": count_verdicts(requirements),
                "verdict": verdict,
                "blockers": blockers,
                "unattributed": unattributed(tests, requirements),
            },
        }
    )
    return merged


def _merged_selection(first: Mapping[str, Any], selected: int) -> dict[str, Any]:
    """The whole run's selection from a slice's: every slice collects the same tests, so the
    joined run is PARTIAL only when the slices together ran fewer (a selection beside the
    shard: --requirement, -k)."""
    collected = int(first.get("collected") or selected)
    criteria = {
        k: v for k, v in (first.get("criteria") or {}).items() if k not in ("pytest", "shard")
    }
    partial = selected < collected
    if partial and not criteria:
        criteria["pytest"] = f"{collected - selected} test(s) deselected by pytest options"
    return {"partial": partial, "collected": collected, "selected": selected, "criteria": criteria}
