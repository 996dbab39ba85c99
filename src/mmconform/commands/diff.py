"""`mmconform diff OLD NEW`: what changed between two runs, for upgrades and PR comments.

Exit 1 on any regression, 0 otherwise, 2 when an input is not a run directory or results.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mmconform.errors import EXIT_FAILED, EXIT_OK


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
    from mmconform.commands.helptext import exit_codes, parser_kwargs

    parser = sub.add_parser(
        "diff",
        help="compare two runs (regressions, fixes, N/A changes)",
        **parser_kwargs(
            "Compare two runs per requirement and per test (matched by stable test ids). A "
            "PARTIAL run is compared only where both runs ran.",
            (
                "mmconform diff reports/before reports/after",
                "mmconform diff old/results.json new/results.json --format markdown >> comment.md",
            ),
            exit_codes=exit_codes(
                "0  no regression", "1  a regression", "2  an input is no run or results.json"
            ),
        ),
    )
    parser.add_argument("old", type=Path, metavar="OLD", help="run directory or results.json")
    parser.add_argument("new", type=Path, metavar="NEW", help="run directory or results.json")
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="output format (markdown suits a PR comment; default: text)",
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from mmconform.report.diff import diff_runs, render_json, render_markdown, render_text
    from mmconform.report.model import load_results, require_verdict

    old = require_verdict(load_results(args.old), args.old)
    new = require_verdict(load_results(args.new), args.new)
    diff = diff_runs(old, new, str(args.old), str(args.new))
    render = {"text": render_text, "markdown": render_markdown, "json": render_json}[args.format]
    print(render(diff))
    return EXIT_FAILED if diff.regressions else EXIT_OK
