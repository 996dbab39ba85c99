"""Comparing two runs, per requirement and per test, for upgrade checks and PR comments.

A regression is anything that was not failing before and fails now (passed → failed, passed →
error, not applicable → failed, ...): those make `mmconform diff` exit 1. Everything else that
changed is listed under its own heading so nothing moves silently.

A PARTIAL run (mmconform.selection) says nothing of what it did not select: when either run is
partial, only the requirements both runs selected and the tests both ran are compared, and the
diff says so, so a subset never reads as "removed" or as a regression.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmconform.report.model import BAD_OUTCOMES, NOT_APPLICABLE, NOT_SELECTED, PASSED, is_partial
from mmconform.report.testids import normalise

CATEGORIES = (
    ("regressions", "Regressions"),
    ("fixes", "Fixes"),
    ("newly_not_applicable", "Newly not applicable"),
    ("no_longer_not_applicable", "No longer not applicable"),
    ("other_changes", "Other changes"),
    ("added", "Added"),
    ("removed", "Removed"),
)
FAILING = BAD_OUTCOMES
DETAIL_CHARS = 200
MARKDOWN_ROWS = 100


@dataclass(frozen=True)
class Change:
    key: str
    old: str | None
    new: str | None
    detail: str | None = None

    def arrow(self) -> str:
        return f"{self.old or 'absent'} → {self.new or 'absent'}"


@dataclass
class Section:
    """The changes of one kind of thing (requirements or tests), by category."""

    by_category: dict[str, list[Change]] = field(
        default_factory=lambda: {name: [] for name, _ in CATEGORIES}
    )

    def total(self) -> int:
        return sum(len(v) for v in self.by_category.values())


def _category(old: str, new: str) -> str | None:
    if old == new:
        return None
    if new in FAILING and old not in FAILING:
        return "regressions"
    if old in FAILING and new == PASSED:
        return "fixes"
    if new == NOT_APPLICABLE:
        return "newly_not_applicable"
    if old == NOT_APPLICABLE:
        return "no_longer_not_applicable"
    return "other_changes"


def compare(old: Mapping[str, str], new: Mapping[str, str], details: Mapping[str, str]) -> Section:
    section = Section()
    for key in sorted(set(old) | set(new)):
        if key not in old:
            section.by_category["added"].append(Change(key, None, new[key], details.get(key)))
        elif key not in new:
            section.by_category["removed"].append(Change(key, old[key], None))
        else:
            category = _category(old[key], new[key])
            if category is not None:
                change = Change(key, old[key], new[key], details.get(key))
                section.by_category[category].append(change)
    return section


@dataclass
class RunDiff:
    old_label: str
    new_label: str
    requirements: Section
    tests: Section
    # Set when either run is PARTIAL: what the comparison was restricted to.
    scope: str | None = None

    @property
    def regressions(self) -> int:
        return len(self.requirements.by_category["regressions"]) + len(
            self.tests.by_category["regressions"]
        )


def _label(results: Mapping[str, Any], name: str) -> str:
    target = results.get("target") or {}
    version = target.get("version") or "unknown version"
    partial = ", PARTIAL" if is_partial(dict(results)) else ""
    return f"{name} ({target.get('url') or 'unknown target'}, {version}{partial})"


def diff_runs(
    old: Mapping[str, Any], new: Mapping[str, Any], old_name: str, new_name: str
) -> RunDiff:
    def verdicts(r: Mapping[str, Any]) -> dict[str, str]:
        return {k: v["verdict"] for k, v in r["requirements"].items()}

    # Matched by the stable id (relative to the conformance folder), so two runs started in
    # different ways (CLI, checkout, --pyargs) compare test by test.
    def outcomes(r: Mapping[str, Any]) -> dict[str, str]:
        return {normalise(t["nodeid"]): t["outcome"] for t in r["tests"]}

    req_details = {k: _summarise(v.get("reasons") or []) for k, v in new["requirements"].items()}
    test_details = {
        normalise(t["nodeid"]): t.get("message") or t.get("reason") or "" for t in new["tests"]
    }
    old_reqs, new_reqs = verdicts(old), verdicts(new)
    old_tests, new_tests = outcomes(old), outcomes(new)
    scope = None
    if is_partial(dict(old)) or is_partial(dict(new)):
        both = {
            k
            for k in set(old_reqs) & set(new_reqs)
            if NOT_SELECTED not in (old_reqs[k], new_reqs[k])
        }
        old_reqs = {k: v for k, v in old_reqs.items() if k in both}
        new_reqs = {k: v for k, v in new_reqs.items() if k in both}
        ran = set(old_tests) & set(new_tests)
        old_tests = {k: v for k, v in old_tests.items() if k in ran}
        new_tests = {k: v for k, v in new_tests.items() if k in ran}
        scope = (
            f"a PARTIAL run is compared only where both runs ran: {len(both)} requirement(s), "
            f"{len(ran)} test(s)"
        )
    return RunDiff(
        old_label=_label(old, old_name),
        new_label=_label(new, new_name),
        requirements=compare(old_reqs, new_reqs, req_details),
        tests=compare(old_tests, new_tests, test_details),
        scope=scope,
    )


def _summarise(reasons: list[str]) -> str:
    """One reason is enough to start looking; the count says how many more there are."""
    if not reasons:
        return ""
    first = reasons[0] if len(reasons[0]) <= 150 else reasons[0][:149] + "…"
    return first + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else "")


def _first_line(text: str | None) -> str:
    """The first line, cut at DETAIL_CHARS: a diff is read in a terminal or a PR comment."""
    line = text.strip().splitlines()[0] if text and text.strip() else ""
    return line if len(line) <= DETAIL_CHARS else line[: DETAIL_CHARS - 1] + "…"


def render_text(diff: RunDiff) -> str:
    lines = [f"old: {diff.old_label}", f"new: {diff.new_label}"]
    if diff.scope:
        lines.append(f"scope: {diff.scope}")
    for title, section in (("Requirements", diff.requirements), ("Tests", diff.tests)):
        lines.append(f"{title}: {section.total()} change(s)")
        for name, heading in CATEGORIES:
            changes = section.by_category[name]
            if changes:
                lines.append(f"  {heading} ({len(changes)}):")
                for c in changes:
                    detail = _first_line(c.detail) if name == "regressions" else ""
                    lines.append(f"    {c.key}: {c.arrow()}" + (f"  ({detail})" if detail else ""))
    lines.append(f"{diff.regressions} regression(s)")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(section: Section) -> list[str]:
    """Rows in category order, capped: a PR comment has a size limit and a reader has less."""
    rows = [
        f"| {heading} | `{c.key}` | {c.arrow()} | {_md_cell(_first_line(c.detail))} |"
        for name, heading in CATEGORIES
        for c in section.by_category[name]
    ]
    shown = rows[:MARKDOWN_ROWS]
    lines = ["| Change | Item | Old → New | Detail |", "|---|---|---|---|", *shown]
    if len(rows) > len(shown):
        lines += ["", f"… and {len(rows) - len(shown)} more (see `mmconform diff --format json`)"]
    return lines


def render_markdown(diff: RunDiff) -> str:
    icon = "❌" if diff.regressions else "✅"
    lines = [
        f"### {icon} mmconform: {diff.regressions} regression(s)",
        "",
        f"Old: {_md_cell(diff.old_label)}  ",
        f"New: {_md_cell(diff.new_label)}",
    ]
    if diff.scope:
        lines += ["", f"_{_md_cell(diff.scope)}_"]
    for title, section in (("Requirements", diff.requirements), ("Tests", diff.tests)):
        if not section.total():
            lines += ["", f"**{title}**: no change"]
            continue
        counts = ", ".join(
            f"{len(section.by_category[name])} {heading.lower()}"
            for name, heading in CATEGORIES
            if section.by_category[name]
        )
        # Requirements are the headline; the per-test table folds away in a PR comment.
        opened = " open" if title == "Requirements" else ""
        lines += ["", f"<details{opened}><summary><b>{title}</b>: {counts}</summary>", ""]
        lines += [*_md_table(section), "", "</details>"]
    return "\n".join(lines) + "\n"


def render_json(diff: RunDiff) -> str:
    def section(s: Section) -> dict[str, list[dict[str, str | None]]]:
        return {
            name: [{"id": c.key, "old": c.old, "new": c.new, "detail": c.detail} for c in changes]
            for name, changes in s.by_category.items()
        }

    document = {
        "old": diff.old_label,
        "new": diff.new_label,
        "regressions": diff.regressions,
        "scope": diff.scope,
        "requirements": section(diff.requirements),
        "tests": section(diff.tests),
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
