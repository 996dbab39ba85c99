"""`specs/errata.yaml`: every place our fragments knowingly differ from upstream, and why.

Each erratum carries machine-matchable `matches` so `mmconform spec diff` can tell an explained
difference from drift. A match names a difference by (operation, kind, subject, change); the
operation defaults to the erratum's own, `subject` and `operation` are shell-style globs, and
`change` defaults to any. Errata without `matches` document differences the diff does not compare
(descriptions, patterns, required lists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from mmconform.datafile import load_yaml
from mmconform.errors import UsageError

ID_PATTERN = re.compile(r"^ERRATUM-\d{3}$")
KINDS = ("status-code", "schema", "parameter", "path", "content-type", "security")
CHANGES = ("added", "removed", "type", "required", "nullable", "moved")
_REQUIRED = {"id", "operation", "kind", "upstream", "server", "source"}
_OPTIONAL = {"matches", "note"}
_MATCH_KEYS = {"operation", "kind", "subject", "change"}


@dataclass(frozen=True)
class Match:
    operation: str
    kind: str
    subject: str
    change: str

    def covers(self, operation: str, kind: str, subject: str, change: str) -> bool:
        return (
            fnmatchcase(operation, self.operation)
            and kind == self.kind
            and fnmatchcase(subject, self.subject)
            and fnmatchcase(change, self.change)
        )


@dataclass(frozen=True)
class Erratum:
    id: str
    operations: tuple[str, ...]
    kind: str
    upstream: str
    server: str
    source: str
    matches: tuple[Match, ...]


def errata_problems(raw: Any, where: str, operations: set[str]) -> list[str]:
    """Every problem with the errata document `raw`, one line each (empty when it is sound)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("errata"), list):
        return [f"{where}: expected a mapping with an 'errata' list"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, row in enumerate(raw["errata"], start=1):
        label = f"{where}: erratum #{index}"
        if not isinstance(row, dict):
            problems.append(f"{label}: expected a mapping, got {type(row).__name__}")
            continue
        label = f"{where}: {row.get('id', f'erratum #{index}')}"
        problems.extend(_row_problems(row, label, operations, seen))
    return problems


def _row_problems(
    row: dict[str, Any], label: str, operations: set[str], seen: set[str]
) -> list[str]:
    problems = []
    missing = _REQUIRED - row.keys()
    if missing:
        problems.append(f"{label}: missing field(s) {', '.join(sorted(missing))}")
    unknown = row.keys() - _REQUIRED - _OPTIONAL
    if unknown:
        allowed = ", ".join(sorted(_REQUIRED | _OPTIONAL))
        problems.append(
            f"{label}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {allowed}"
        )
    erratum_id = row.get("id")
    if not isinstance(erratum_id, str) or not ID_PATTERN.match(erratum_id):
        problems.append(f"{label}: id {erratum_id!r} is not like ERRATUM-001")
    elif erratum_id in seen:
        problems.append(f"{label}: id {erratum_id} is used twice; ids are unique and never reused")
    else:
        seen.add(erratum_id)
    for field in ("upstream", "server", "source"):
        if field in row and (not isinstance(row[field], str) or not row[field].strip()):
            problems.append(f"{label}: {field} must be a non-empty string")
    if row.get("kind") not in KINDS and "kind" in row:
        problems.append(f"{label}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    ops = _as_list(row.get("operation"))
    if "operation" in row and (not ops or not all(isinstance(o, str) for o in ops)):
        problems.append(f"{label}: operation must be an operationId or a list of them")
    for op in ops:
        if isinstance(op, str) and op != "*" and op not in operations:
            problems.append(f"{label}: operation {op!r} is not in our specs")
    matches = row.get("matches", [])
    if not isinstance(matches, list):
        return [*problems, f"{label}: matches must be a list"]
    for n, match in enumerate(matches, start=1):
        problems.extend(_match_problems(match, f"{label}: matches #{n}", operations))
    return problems


def _match_problems(match: Any, label: str, operations: set[str]) -> list[str]:
    if not isinstance(match, dict):
        return [f"{label}: expected a mapping"]
    problems = []
    unknown = match.keys() - _MATCH_KEYS
    if unknown:
        problems.append(
            f"{label}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
            f"{', '.join(sorted(_MATCH_KEYS))}"
        )
    if not isinstance(match.get("subject"), str):
        problems.append(
            f"{label}: subject (a glob such as '201' or '* detailed_error') is required"
        )
    if "kind" in match and match["kind"] not in KINDS:
        problems.append(f"{label}: kind {match['kind']!r} is not one of {', '.join(KINDS)}")
    change = match.get("change", "*")
    if not isinstance(change, str) or (change != "*" and change not in CHANGES):
        problems.append(f"{label}: change {change!r} is not one of {', '.join(CHANGES)} or *")
    op = match.get("operation")
    if isinstance(op, str) and not any(ch in op for ch in "*?[") and op not in operations:
        problems.append(f"{label}: operation {op!r} is not in our specs")
    return problems


def parse_errata(raw: Any, where: str, operations: set[str]) -> list[Erratum]:
    """The errata of `raw`; the first problem, if any, is a UsageError (bad input: exit 2)."""
    problems = errata_problems(raw, where, operations)
    if problems:
        raise UsageError(f"{problems[0]}; run 'mmconform spec check' for the full list")
    errata = []
    for row in raw["errata"]:
        ops = tuple(_as_list(row["operation"]))
        matches = tuple(
            Match(
                operation=op,
                kind=m.get("kind", row["kind"]),
                subject=m["subject"],
                change=m.get("change", "*"),
            )
            for m in row.get("matches", [])
            for op in ([m["operation"]] if "operation" in m else ops)
        )
        errata.append(
            Erratum(
                id=row["id"],
                operations=ops,
                kind=row["kind"],
                upstream=row["upstream"],
                server=row["server"],
                source=row["source"],
                matches=matches,
            )
        )
    return errata


def load_errata(path: Path, operations: set[str]) -> list[Erratum]:
    return parse_errata(load_yaml(path), str(path), operations)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
