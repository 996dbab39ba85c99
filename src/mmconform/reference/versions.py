"""The version the reference server emulates, and the rules that version has.

`versions.yaml` beside this module is the one table of behaviours that changed between releases;
a handler asks `State.has_rule(name)` ("does this server have rule X?") instead of comparing
versions itself, so adding a version-dependent behaviour is one YAML entry plus one question.
The comparison is written here, not borrowed from `mmconform.versions`: the reference package
never imports the suite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

TABLE = "versions.yaml"
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_CLAUSE = re.compile(r"^(>=|<=|==|>|<)\s*(\d+(?:\.\d+){0,2})$")

Version = tuple[int, int, int]

_OPS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


class VersionError(ValueError):
    """A version string or the rule table is malformed; the message names the fix."""


def parse_version(text: str) -> Version:
    """Exactly `X.Y.Z`: the server reports it in X-Version-Id, where a partial one would lie."""
    match = _VERSION.match(text.strip())
    if not match:
        raise VersionError(
            f"server version {text!r} is not of the form X.Y.Z; give one such as 9.5.0"
        )
    return (int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _bound(text: str) -> Version:
    parts = [int(p) for p in text.split(".")]
    return (parts[0], parts[1] if len(parts) > 1 else 0, parts[2] if len(parts) > 2 else 0)


def _parse_range(text: str, where: str) -> tuple[tuple[tuple[str, Version], ...], ...]:
    alternatives = []
    for alternative in text.split("||"):
        clauses = []
        for part in alternative.split(","):
            match = _CLAUSE.match(part.strip())
            if not match:
                raise VersionError(f"{TABLE} {where}: bad range {text!r}; write e.g. '>=9.7'")
            clauses.append((match.group(1), _bound(match.group(2))))
        alternatives.append(tuple(clauses))
    return tuple(alternatives)


@dataclass(frozen=True)
class Rule:
    name: str
    versions: str
    alternatives: tuple[tuple[tuple[str, Version], ...], ...]

    def holds_for(self, version: Version) -> bool:
        return any(all(_OPS[op](version, b) for op, b in alt) for alt in self.alternatives)


def _rule(row: Any, index: int) -> Rule:
    where = f"rule #{index + 1}"
    if not isinstance(row, dict):
        raise VersionError(f"{TABLE} {where}: expected a mapping")
    missing = {"name", "versions", "now", "before", "source"} - row.keys()
    if missing:
        raise VersionError(f"{TABLE} {where}: missing {', '.join(sorted(missing))}")
    name = str(row["name"])
    return Rule(name, str(row["versions"]), _parse_range(str(row["versions"]), name))


@cache
def load_rules() -> dict[str, Rule]:
    text = resources.files("mmconform.reference").joinpath(TABLE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    rows = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise VersionError(f"{TABLE}: expected a non-empty list under 'rules'")
    rules: dict[str, Rule] = {}
    for index, row in enumerate(rows):
        rule = _rule(row, index)
        if rule.name in rules:
            raise VersionError(f"{TABLE}: duplicate rule {rule.name}")
        rules[rule.name] = rule
    return rules


@cache
def rules_for(version: str) -> frozenset[str]:
    """The names of the rules a server of `version` has (validated: X.Y.Z)."""
    v = parse_version(version)
    return frozenset(r.name for r in load_rules().values() if r.holds_for(v))


def check_rule(name: str) -> None:
    """A handler asking for a rule the table lacks is a bug; fail loudly at the question."""
    if name not in load_rules():
        raise KeyError(f"no version rule {name!r} in {TABLE}")
