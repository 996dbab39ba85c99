"""Server versions and version ranges.

Behaviour changed across Mattermost releases (public-channel reads by non-members, 501 → 403 for
disabled public links, ...), so requirements and matrix rows carry ranges such as ">=9.5,<11.5",
and a server is judged by the rules of its own version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmconform.errors import UsageError

_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_CLAUSE = re.compile(r"^(>=|<=|==|>|<)\s*(\d+(?:\.\d+){0,2})$")


def parse_version(text: str) -> tuple[int, int, int]:
    """`11.5.1` → (11, 5, 1); tolerant of suffixes such as `11.5.1-rc1` or X-Version-Id parts."""
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError(f"not a version: {text!r}")
    return (int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0))


@dataclass(frozen=True)
class VersionRange:
    """A conjunction of comparisons, e.g. `>=9.5,<11.5`."""

    text: str
    clauses: tuple[tuple[str, tuple[int, int, int]], ...]

    @classmethod
    def parse(cls, text: str, where: str) -> VersionRange:
        clauses = []
        for part in text.split(","):
            match = _CLAUSE.match(part.strip())
            if not match:
                raise UsageError(
                    f"{where}: bad version range {text!r}; write comparisons like '>=9.5,<11.5'"
                )
            clauses.append((match.group(1), parse_version(match.group(2))))
        return cls(text=text, clauses=tuple(clauses))

    def contains(self, version: str) -> bool:
        v = parse_version(version)
        ops = {
            ">=": lambda a, b: a >= b,
            "<=": lambda a, b: a <= b,
            "==": lambda a, b: a == b,
            ">": lambda a, b: a > b,
            "<": lambda a, b: a < b,
        }
        return all(ops[op](v, bound) for op, bound in self.clauses)
