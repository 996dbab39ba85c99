"""The `mmconform` command line.

Each verb lives in `mmconform.commands.<name>` and exposes `register(subparsers)`; this module only
wires them together and turns the errors of `mmconform.errors` into exit codes, so a bad input is
one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from mmconform import __version__
from mmconform.commands import COMMAND_MODULES
from mmconform.errors import EXIT_TARGET_FAILED, EXIT_USAGE, TargetFailed, UsageError


class _Parser(argparse.ArgumentParser):
    """argparse prints a usage block and the error on two lines; we want one line naming the fix."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _version_line() -> str:
    from mmconform.spec.digest import specs_digest

    try:
        digest = specs_digest()
    except OSError as exc:  # a broken install: still print the version
        digest = f"unavailable ({exc})"
    return f"mmconform {__version__} (specs sha256 {digest})"


def build_parser() -> argparse.ArgumentParser:
    from mmconform.commands.helptext import TOP_EXIT_CODES

    parser = _Parser(
        prog="mmconform",
        description="Conformance and contract testing of the Mattermost REST API v4 file and "
        "licence endpoints: a permission matrix, schemathesis fuzzing and a faithful reference "
        "server, with verifiable certificates.",
        epilog="Examples:\n  mmconform run                  # against the embedded reference "
        "server\n  mmconform run --url URL        # credentials in MMCONFORM_TOKEN or "
        "MMCONFORM_LOGIN/_PASSWORD\n  mmconform list --operation GetFile\n  mmconform report "
        "reports/latest --html\n  mmconform COMMAND --help       # each command's options, "
        "examples and exit codes\n\n" + TOP_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print version and spec digest")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(_version_line())
        return 0
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(func(args))
    except UsageError as exc:
        print(f"mmconform: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TargetFailed as exc:
        print(f"mmconform: target failed: {exc}", file=sys.stderr)
        return EXIT_TARGET_FAILED
    except KeyboardInterrupt:
        print("mmconform: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mmconform report RUN | head`: the reader is gone, not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
