"""Writing a `spec diff` result as text (one line per difference), JSON or Markdown."""

from __future__ import annotations

import json
from dataclasses import asdict

from mmconform.spec.diff import Difference, DiffResult

FORMATS = ("text", "json", "markdown")


def render(result: DiffResult, fmt: str) -> str:
    if fmt == "json":
        return _json(result)
    if fmt == "markdown":
        return _markdown(result)
    return _text(result)


def summary(result: DiffResult) -> str:
    total, drift = len(result.differences), len(result.drift)
    line = f"{total} difference(s): {total - drift} explained by errata, {drift} drift"
    if result.stale_errata:
        line += f"; errata that matched nothing (fixed upstream?): {', '.join(result.stale_errata)}"
    return line


def _describe(d: Difference) -> str:
    return (
        f"{d.operation}: {d.kind} {d.subject} {d.change} (ours: {d.ours}; upstream: {d.upstream})"
    )


def _text(result: DiffResult) -> str:
    lines = [f"{_describe(d)} — {d.verdict}" for d in result.differences]
    return "\n".join([*lines, f"spec diff: {summary(result)}"])


def _json(result: DiffResult) -> str:
    payload = {
        "differences": [{**asdict(d), "verdict": d.verdict} for d in result.differences],
        "stale_errata": result.stale_errata,
        "summary": {
            "differences": len(result.differences),
            "explained": len(result.differences) - len(result.drift),
            "drift": len(result.drift),
        },
    }
    return json.dumps(payload, indent=2)


def _cell(value: str) -> str:
    return value.replace("|", "\\|") or " "


def _markdown(result: DiffResult) -> str:
    lines = [
        "# Our specs against upstream",
        "",
        summary(result),
        "",
        "| Operation | Kind | Subject | Change | Ours | Upstream | Verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in result.differences:
        cells = (d.operation, d.kind, f"`{d.subject}`", d.change, d.ours, d.upstream, d.verdict)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)
