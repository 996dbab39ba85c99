"""`mmconform merge RUN...`: join the slices of `run --shard K/N` into one results.json and one
certificate (in `--out`, default a new run folder beside the first slice's).

Refuses, one line and exit 2, when a slice is missing or given twice, or the slices disagree
about the target, seed, profile, suite version or specs (report/shard.py). Exit 0 conformant,
1 not, as `run`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mmconform.errors import EXIT_FAILED, EXIT_OK, EXIT_SUITE_ERROR, UsageError


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
    parser = sub.add_parser(
        "merge",
        help="join the run folders of every `run --shard K/N` slice into one certificate",
        description="Join the slices of one sharded run into one results.json and certificate.",
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="a slice's run folder")
    parser.add_argument(
        "-o", "--out", type=Path, default=None, help="folder for the merged run (must not exist)"
    )
    parser.add_argument(
        "--sign-key", default=None, help="Ed25519 private key (PEM) to sign the certificate"
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from mmconform.report import finalize_run
    from mmconform.report.model import RESULTS_NAME, write_json
    from mmconform.report.shard import merge_slices

    for run in args.runs:
        if not run.exists():
            raise UsageError(f"{run} does not exist; give the run folder of each slice")
    merged = merge_slices(args.runs)
    out = args.out or args.runs[0].resolve().parent / f"{args.runs[0].resolve().name}-merged"
    try:
        out.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise UsageError(
            f"--out {out}: cannot create it ({exc.strerror}); name a new folder"
        ) from None
    write_json(out / RESULTS_NAME, merged)
    target_url = (merged.get("target") or {}).get("url") or ""
    sign_key = Path(args.sign_key) if args.sign_key else None
    summary = finalize_run(out, target_url=target_url, sign_key=sign_key)
    for line in summary.lines():
        print(line)
    print(f"mmconform: merged {len(args.runs)} slices into {out}")
    if summary.suite_errors:
        return EXIT_SUITE_ERROR
    return EXIT_OK if summary.conformant else EXIT_FAILED
