"""`mmconform cleanup`: finish the cleanup of a run from its ledger (after a crash, say).

Idempotent: what the ledger already marks as removed is skipped, objects recorded only as an
intent are looked up by name. Exit 0 when nothing is left, 1 when something could not be removed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from mmconform.errors import EXIT_FAILED, EXIT_OK, UsageError


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
    env = os.environ.get
    p = sub.add_parser("cleanup", help="remove what a run created, from its ledger")
    p.add_argument("--ledger", required=True, help="the run's ledger.jsonl")
    p.add_argument("--url", default=env("MMCONFORM_URL"), help="server root (env MMCONFORM_URL)")
    p.add_argument(
        "--token", default=env("MMCONFORM_TOKEN"), help="system admin token (env MMCONFORM_TOKEN)"
    )
    p.add_argument("--login", default=env("MMCONFORM_LOGIN"), help="system admin login")
    p.add_argument(
        "--password",
        default=env("MMCONFORM_PASSWORD"),
        help="system admin password (env MMCONFORM_PASSWORD)",
    )
    p.add_argument(
        "--license-file",
        default=env("MMCONFORM_LICENSE_FILE"),
        help="licence to reinstall if the run changed it",
    )
    p.add_argument(
        "--allow-config-changes",
        action="store_true",
        help="switch on API team/channel deletion for the sweep (restored after) so they are "
        "deleted, not archived",
    )
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from mmconform.live_target.cleanup import cleanup_ledger
    from mmconform.live_target.client import Target
    from mmconform.live_target.probe import logout, probe

    if not args.url:
        raise UsageError("cleanup needs --url (the server the run used)")
    ledger = Path(args.ledger)
    if not ledger.is_file():
        raise UsageError(f"--ledger {ledger}: no such file; give reports/<run-id>/ledger.jsonl")
    licence = None
    if args.license_file:
        from mmconform.live_target.licence import read_licence_file

        licence = read_licence_file(args.license_file).data
    from mmconform.live_target.identity import check_same_server
    from mmconform.live_target.ledger import read_ledger

    bound = read_ledger(ledger).target  # a damaged ledger is refused before any request
    result = probe(args.url, token=args.token, login=args.login, password=args.password)
    target = Target(result.url)
    try:
        notes = check_same_server(target, result.admin, bound, str(ledger))
        report = cleanup_ledger(
            target,
            result.admin,
            ledger,
            licence_bytes=licence,
            allow_config_changes=args.allow_config_changes,
        )
    finally:
        target.close()
        logout(result)
    for line in [*report.lines(), *notes]:
        print(line)
    return EXIT_OK if not report.left else EXIT_FAILED
