"""`mmconform spec check` and `mmconform spec diff` (filled in by the specs work)."""

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("spec", help="check our OpenAPI fragments")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
