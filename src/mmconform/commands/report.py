"""`mmconform report RUN [--html]` and `mmconform report keygen -o KEY`.

Without options it prints the summary of RUN's results.json; `--html` writes RUN/report.html, one
self-contained page that opens from disk (no Java, no server); `--allure` renders the Allure
report with the Allure CLI (2 or 3) when it is installed. `keygen` makes the Ed25519 key pair
`run --sign-key` and `verify --public-key` use.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mmconform.errors import EXIT_OK, UsageError

KEYGEN = "keygen"


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
    parser = sub.add_parser(
        "report",
        help="summarise a run, render its HTML report, or make a signing key",
        description="Print the summary of RUN/results.json; --html writes RUN/report.html, a "
        "single page that opens from disk; --allure renders RUN/allure-results with the Allure "
        "CLI. 'mmconform report keygen -o KEY' writes an Ed25519 key pair (KEY and KEY.pub) "
        "for signing certificates.",
        epilog="examples:\n  mmconform report reports/latest\n"
        "  mmconform report reports/latest --html     # then open reports/latest/report.html\n"
        "  mmconform report reports/latest --allure   # needs the allure CLI",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run", type=Path, metavar="RUN", help=f"run directory, or '{KEYGEN}'")
    parser.add_argument(
        "--html",
        action="store_true",
        help="write RUN/report.html: one self-contained page, opens from disk",
    )
    parser.add_argument(
        "--allure",
        action="store_true",
        help="render RUN/allure-results with the Allure CLI (2 or 3) into RUN/allure-report",
    )
    parser.add_argument("-o", "--output", type=Path, metavar="KEY", help="keygen: private key path")
    parser.add_argument("--force", action="store_true", help="keygen: overwrite existing keys")
    parser.set_defaults(func=handle)


def _keygen(args: argparse.Namespace) -> int:
    from mmconform.report.signing import generate

    if args.output is None:
        raise UsageError("keygen needs -o KEY (where to write the private key)")
    public, fingerprint = generate(args.output, force=args.force)
    print(f"private key: {args.output} (keep it secret)")
    print(f"public key:  {public} (give it to whoever verifies your certificates)")
    print(f"fingerprint: {fingerprint}")
    return EXIT_OK


def handle(args: argparse.Namespace) -> int:
    # A run folder literally named "keygen" is still reachable as ./keygen.
    if str(args.run) == KEYGEN:
        return _keygen(args)
    if args.output is not None or args.force:
        raise UsageError("-o/--force belong to 'mmconform report keygen'; drop them")
    if args.html or args.allure:
        if args.html:
            from mmconform.report.html_page import write_page

            print(f"HTML report: {write_page(args.run)}")
        if args.allure:
            from mmconform.report.html import render_html

            folder, note = render_html(args.run)
            print(f"Allure report: {folder}/index.html" + (f"; {note}" if note else ""))
        return EXIT_OK
    from mmconform.report.certificate import rederive
    from mmconform.report.model import load_results
    from mmconform.report.summary import summarize

    results = load_results(args.run)
    target = results.get("target") or {}
    print(
        f"Target: {target.get('url') or 'unknown'} (version {target.get('version') or 'unknown'}"
        f"{licence_text(target.get('licence'))}), "
        f"profile {results.get('profile') or '-'}, seed {results.get('seed')}"
    )
    summary = summarize(
        rederive(results), results["tests"], results.get("selection"), results.get("strict")
    )
    for line in summary.lines():
        print(line)
    _print_certificate(args.run)
    return EXIT_OK


def licence_text(licence: Any) -> str:
    """ ", licensed (sku entry)", ", unlicensed" or "" when the run did not record it."""
    if not isinstance(licence, dict) or "licensed" not in licence:
        return ""
    if not licence.get("licensed"):
        return ", unlicensed"
    return f", licensed (sku {licence.get('sku') or 'unknown'})"


def _print_certificate(run: Path) -> None:
    """Point at the certificate when the run has one; `mmconform verify` is what checks it."""
    from mmconform.report.model import CERTIFICATE_NAME, results_path
    from mmconform.report.verify import load_certificate

    path = results_path(run).parent / CERTIFICATE_NAME
    if not path.is_file():
        return
    cert = load_certificate(path)
    signature = cert.get("signature") or {}
    signer = signature.get("public_key_fingerprint")
    signed = f"signed by {signer}" if signer else "unsigned"
    print(
        f"Certificate: {path} states {cert.get('verdict')} ({signed}); "
        f"check it with 'mmconform verify {path}'"
    )
