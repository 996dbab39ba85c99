"""Server versions and version ranges.

Behaviour changed across Mattermost releases (public-channel reads by non-members, 501 → 403 for
disabled public links, ...), so requirements and matrix rows carry ranges such as ">=9.5,<11.5",
and a server is judged by the rules of its own version.

A range is one or more conjunctions joined by `||` (`>=9.9.3,<9.10 || >=9.10.2`): fixes picked
into dot releases of older branches make a rule hold on pieces of the line, and a matrix row may
appear only once, so one row has to name every piece.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmconform.errors import UsageError

_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_CLAUSE = re.compile(r"^(>=|<=|==|>|<)\s*(\d+(?:\.\d+){0,2})$")

Version = tuple[int, int, int]
Clauses = tuple[tuple[str, Version], ...]

_OPS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def parse_version(text: str) -> Version:
    """`11.5.1` → (11, 5, 1); tolerant of suffixes such as `11.5.1-rc1` or X-Version-Id parts."""
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError(f"not a version: {text!r}")
    return (int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0))


@dataclass(frozen=True)
class VersionRange:
    """Alternatives (`||`) of conjunctions (`,`) of comparisons, e.g. `>=9.5,<11.5`."""

    text: str
    alternatives: tuple[Clauses, ...]

    @classmethod
    def parse(cls, text: str, where: str) -> VersionRange:
        alternatives = []
        for alternative in text.split("||"):
            clauses = []
            for part in alternative.split(","):
                match = _CLAUSE.match(part.strip())
                if not match:
                    raise UsageError(
                        f"{where}: bad version range {text!r}; write comparisons like "
                        "'>=9.5,<11.5', alternatives joined by '||'"
                    )
                clauses.append((match.group(1), parse_version(match.group(2))))
            alternatives.append(tuple(clauses))
        return cls(text=text, alternatives=tuple(alternatives))

    def contains(self, version: str) -> bool:
        v = parse_version(version)
        return any(
            all(_OPS[op](v, bound) for op, bound in clauses) for clauses in self.alternatives
        )
