"""`mmconform license mint`: a licence the reference server with that data dir accepts.

The signing key is the data dir's `license-signing-key.pem` (created here if the dir has none,
exactly as the server would on first start). The licence text is a secret-ish artefact: it goes to
stdout or `-o FILE` (mode 0600) and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmconform.errors import UsageError

_DAYS = re.compile(r"^(\d+)d$")


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
    p = sub.add_parser("license", help="licence tools for the reference server")
    verbs = p.add_subparsers(dest="license_command", metavar="ACTION")
    mint = verbs.add_parser("mint", help="mint a licence signed with a data dir's key")
    mint.add_argument("--data-dir", type=Path, required=True, help="reference server data dir")
    mint.add_argument("--expires", default="365d", help="30d | ISO-8601 | epoch ms (default 365d)")
    mint.add_argument("--users", type=int, default=1000, help="licensed users (default 1000)")
    mint.add_argument("--trial", action="store_true", help="flag the licence as a trial")
    mint.add_argument("-o", "--output", type=Path, help="write here (mode 0600) instead of stdout")
    mint.set_defaults(func=handle_mint)
    p.set_defaults(func=_missing_action)


def _missing_action(args: argparse.Namespace) -> int:
    raise UsageError("license needs an action: 'mmconform license mint --data-dir DIR'")


def parse_expires(value: str, now_ms: int) -> int:
    """'30d' from now, an epoch in milliseconds, or an ISO-8601 time (naive = UTC)."""
    days = _DAYS.match(value)
    if days:
        return now_ms + int(days.group(1)) * 24 * 3600 * 1000
    if value.isdigit():
        return int(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(
            f"--expires {value!r} is not '<N>d', epoch milliseconds or ISO-8601; try --expires 30d"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def handle_mint(args: argparse.Namespace) -> int:
    from mmconform.reference.licensing import load_or_create_keypair, mint_license

    if not args.data_dir.is_dir():
        raise UsageError(
            f"--data-dir {args.data_dir} is not a directory; pass the reference server's data dir"
        )
    if args.users < 0:
        raise UsageError("--users must be 0 or more")
    now = int(time.time() * 1000)
    expires = parse_expires(args.expires, now)
    pair = load_or_create_keypair(args.data_dir)
    text = mint_license(
        pair.private_key_path.read_bytes(),
        users=args.users,
        expires_at_ms=expires,
        starts_at_ms=now,
        is_trial=args.trial,
    )
    if args.output is None:
        sys.stdout.write(text + "\n")
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    print(f"licence written to {args.output}", file=sys.stderr)
    return 0
