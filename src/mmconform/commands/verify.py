"""`mmconform verify CERT`: check a certificate's digest, signature and verdicts.

Exit 0 when everything matches, 1 on any mismatch (each one printed), 2 on bad input.
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
        "verify",
        help="verify a conformance certificate against its results",
        **parser_kwargs(
            "Recompute a certificate's digest, check its signature and re-derive every verdict "
            "(PARTIAL and --strict included) from the results.json it was issued from.",
            (
                "mmconform verify reports/latest/certificate.json",
                "mmconform verify certificate.json --public-key issuer.key.pub",
            ),
            exit_codes=exit_codes(
                "0  everything matches", "1  a mismatch (each one printed)", "2  bad input"
            ),
        ),
    )
    parser.add_argument("certificate", type=Path, metavar="CERT", help="certificate.json")
    parser.add_argument(
        "--public-key",
        type=Path,
        metavar="KEY",
        help="trusted Ed25519 public key (PEM) the certificate must be signed with",
    )
    parser.add_argument(
        "--results",
        type=Path,
        metavar="FILE",
        help="results.json to check against (default: the one next to the certificate)",
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from mmconform.report.verify import verify_certificate

    outcome = verify_certificate(
        args.certificate, public_key=args.public_key, results_path=args.results
    )
    for note in outcome.notes:
        print(f"note: {note}")
    for mismatch in outcome.mismatches:
        print(f"MISMATCH {mismatch}")
    if outcome.ok:
        print(f"{args.certificate}: verified")
        return EXIT_OK
    print(f"{args.certificate}: {len(outcome.mismatches)} mismatch(es); do not trust it")
    return EXIT_FAILED
