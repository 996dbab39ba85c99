"""`--help` texts: the whole description (never its first line cut mid-sentence), examples,
the profiles and the exit codes, so a user can act on `--help` alone."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Sequence
from typing import Any

EXIT_CODES = """\
Exit codes:
  0  conformant (or a PARTIAL run whose selected requirements all pass)
  1  not conformant: a requirement failed (in a PARTIAL run: a selected one)
  2  usage or configuration error: one line says what is wrong and how to fix it
  3  the target failed mid-run (unreachable, 5xx storm); nothing is judged
  4  suite error: a failure named none of its requirements (a bug of mmconform; report it)"""
TOP_EXIT_CODES = """\
Exit codes (each command's --help has its own):
  0  success: conformant, verified, no regression, every fault killed
  1  the finding: not conformant (run), a mismatch (verify), a regression (diff),
     a fault that survived (selftest), something left behind (cleanup)
  2  usage or configuration error: one line says what is wrong and how to fix it
  3  run: the target failed mid-run
  4  run: suite error (a failure named none of its requirements)"""


def exit_codes(*lines: str) -> str:
    return "Exit codes:\n" + "\n".join(f"  {line}" for line in lines)


def _description(doc: str | None) -> str | None:
    """The module docstring without its `Exit codes:` sentence (the epilog lists them)."""
    return inspect.cleandoc(doc) if doc else None


def profiles_text() -> str:
    """What each --profile does, from conformance/profiles.yaml."""
    try:
        from mmconform.fuzz.profiles import PROFILE_NAMES, load_fuzz_data

        data = load_fuzz_data()
    except Exception:  # a broken data file must not break --help; `run` reports it properly
        return "Profiles: quick, ci, full, certify (conformance/profiles.yaml)"
    lines = ["Profiles (conformance/profiles.yaml; each generates more than the one before):"]
    for name in PROFILE_NAMES:
        p = data.profile(name)
        strict = ", strict by default" if p.strict else ""
        lines.append(
            f"  {name:<8} {p.max_examples} cases per operation and mode, {p.refused_examples} per "
            f"refused identity, {p.stateful_scenarios} stateful scenarios{strict}"
        )
    lines.append("  quick: a smoke test; ci: pull requests; full: nightly; certify: certificates")
    return "\n".join(lines)


def parser_kwargs(
    doc: str | None,
    examples: Sequence[str] = (),
    *,
    profiles: bool = False,
    exit_codes: str | None = EXIT_CODES,
) -> dict[str, Any]:
    """`add_parser` keywords: the full description, and an epilog of examples, profiles and
    exit codes, laid out as written."""
    parts = []
    if examples:
        parts.append("Examples:\n" + "\n".join(f"  {e}" for e in examples))
    if profiles:
        parts.append(profiles_text())
    if exit_codes:
        parts.append(exit_codes)
    return {
        "description": _description(doc),
        "epilog": "\n\n".join(parts) or None,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
