"""`mmconform run`: run the conformance suite (issue 4).

Placeholder until that work lands: registers nothing.
"""

from typing import Any


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
