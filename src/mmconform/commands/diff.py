"""`mmconform diff`: compare two runs (issue 6).

Placeholder until that work lands: registers nothing.
"""

from typing import Any


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
