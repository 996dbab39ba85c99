"""`mmconform spec check` and `mmconform spec diff` (filled in by the specs work)."""

from typing import Any


def register(sub: Any) -> None:
    sub.add_parser("spec", help="check our OpenAPI fragments")
