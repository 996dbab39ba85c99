"""The kill matrix as Markdown (for people and CI summaries) and as terminal lines."""

from __future__ import annotations

import json
from pathlib import Path

from mmconform.selftest.judge import SelftestReport

_MARK = {
    "killed": "killed",
    "overcharged": "killed, **charged undeclared requirements**",
    "survived": "**SURVIVED**",
    "misattributed": "**MISATTRIBUTED**",
    "known-gap": "survived (known gap)",
    "stale-gap": "**KILLED (stale known_gap)**",
    "error": "**ERROR**",
}


def _mode_text(mode: str) -> str:
    if mode == "selected":
        return (
            "**selected** (only the tests that can charge the fault's declared requirements; "
            "'also failed' lists only what those tests charged)"
        )
    return "**whole suite**"


def markdown(report: SelftestReport) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(report.counts().items()))
    lines = [
        "# mmconform selftest: kill matrix",
        "",
        f"- profile `{report.profile}`, seed {report.seed}, {report.jobs} job(s), "
        + (f"shard {report.shard}, " if report.shard else "")
        + f"wall time {report.wall_seconds:.0f} s",
        f"- per-fault runs: {_mode_text(report.mode)}; the clean server runs the whole suite",
        f"- clean reference server: **{report.clean_status}**"
        + (f" (failed: {', '.join(report.clean_failed)})" if report.clean_failed else ""),
        f"- faults: {len(report.kills)} ({counts})",
        f"- verdict: **{'PASS' if report.ok else 'FAIL'}**",
        "",
        "| fault | class | status | caught by (declared) | also failed | s |",
        "|---|---|---|---|---|---|",
    ]
    for k in report.kills:
        caught = ", ".join(k.caught_by) or "—"
        also = ", ".join(k.also_failed) or "—"
        lines.append(
            f"| `{k.fault}` | {k.cls} | {_MARK.get(k.status, k.status)} | {caught} | {also} | "
            f"{k.seconds:.0f} |"
        )
    notes = [k for k in report.kills if k.known_gap or k.error or k.status != "killed"]
    if notes:
        lines += ["", "## Notes", ""]
        for k in notes:
            text = k.error or k.known_gap or f"declared {', '.join(k.declared)}"
            lines.append(f"- `{k.fault}` ({k.status}): {text}")
    return "\n".join(lines) + "\n"


def terminal_lines(report: SelftestReport) -> list[str]:
    width = max((len(k.fault) for k in report.kills), default=10)
    out = [f"clean reference server: {report.clean_status}"]
    if report.clean_failed:
        out.append(f"  failed on the clean server: {', '.join(report.clean_failed)}")
    for k in report.kills:
        by = ", ".join(k.caught_by) or "-"
        line = f"{k.fault:<{width}}  {k.status:<13}  {by}"
        if k.status in ("overcharged", "killed") and k.also_failed:
            line += f"  (charged undeclared requirements: {', '.join(k.also_failed)})"
        if k.status in ("misattributed", "error"):
            line += f"  ({k.error or 'failed: ' + ', '.join(k.also_failed)})"
        out.append(line)
    counts = ", ".join(f"{v} {k}" for k, v in sorted(report.counts().items()))
    out.append(
        f"selftest {'PASS' if report.ok else 'FAIL'}: {len(report.kills)} fault(s) ({counts}), "
        f"{report.wall_seconds:.0f} s wall with {report.jobs} job(s), per-fault runs: "
        f"{report.mode}"
    )
    return out


def write(report: SelftestReport, folder: Path) -> tuple[Path, Path]:
    """kill-matrix.{json,md}, or kill-matrix-shard-K-of-N.* so shards never overwrite."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "kill-matrix"
    if report.shard:
        k, _, n = report.shard.partition("/")
        stem += f"-shard-{k}-of-{n}"
    js = folder / f"{stem}.json"
    md = folder / f"{stem}.md"
    js.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    md.write_text(markdown(report), encoding="utf-8")
    return js, md
