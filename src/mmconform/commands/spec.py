"""`mmconform spec check` and `mmconform spec diff`: our OpenAPI fragments, checked and compared."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mmconform.errors import EXIT_FAILED, EXIT_OK, UsageError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "spec", help="check our OpenAPI fragments and compare them with upstream"
    )
    verbs = parser.add_subparsers(
        dest="spec_command", metavar="SUBCOMMAND", parser_class=type(parser)
    )

    check = verbs.add_parser("check", help="validate the fragments, errata.yaml and UPSTREAM.yaml")
    check.add_argument("--specs", type=Path, default=None, help="specs folder (default: shipped)")
    check.set_defaults(func=_check)

    diff = verbs.add_parser("diff", help="compare our fragments with upstream's OpenAPI sources")
    diff.add_argument(
        "--upstream", type=Path, required=True, help="folder with upstream's api/v4/source/*.yaml"
    )
    diff.add_argument("--specs", type=Path, default=None, help="specs folder (default: shipped)")
    diff.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    diff.set_defaults(func=_diff)

    def _no_verb(args: argparse.Namespace) -> int:
        raise UsageError("spec needs a subcommand: 'mmconform spec check' or 'mmconform spec diff'")

    parser.set_defaults(func=_no_verb)


def _specs(args: argparse.Namespace) -> Path:
    from mmconform.resources import specs_dir

    return args.specs if args.specs is not None else specs_dir()


def _check(args: argparse.Namespace) -> int:
    from mmconform.spec.check import check_specs

    problems = check_specs(_specs(args))
    for line in problems:
        print(line)
    if problems:
        print(f"spec check: {len(problems)} problem(s)")
        return EXIT_FAILED
    print("spec check: no problems")
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from mmconform.spec.diff import diff_specs
    from mmconform.spec.errata import load_errata
    from mmconform.spec.loader import load_fragments, operation_ids
    from mmconform.spec.render import render
    from mmconform.spec.upstream import load_upstream

    specs = _specs(args)
    ours = load_fragments(specs)
    errata = load_errata(specs / "errata.yaml", set(operation_ids(ours)))
    result = diff_specs(ours, load_upstream(args.upstream), errata)
    print(render(result, args.format))
    return EXIT_FAILED if result.drift else EXIT_OK
