"""`mmconform selftest`: the suite against the clean reference server and one server per seeded
fault; prints and writes the kill matrix (reports/selftest/kill-matrix.{json,md}).

Each fault's run selects the tests that can charge the fault's declared requirements (the kill
verdict is the whole suite's); the clean server, --whole-suite and --strict-attribution run
the whole suite.

Exit codes: 0 the clean server passes and every fault is killed by a requirement it declares
(known gaps excepted; with --strict-attribution, failing no undeclared requirement either);
1 otherwise; 2 usage error.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mmconform.errors import EXIT_FAILED, EXIT_OK, UsageError

PROFILES = ("quick", "ci", "full", "certify")
DEFAULT_SEED = 20261127


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
    from mmconform.commands.helptext import exit_codes, parser_kwargs

    p = sub.add_parser(
        "selftest",
        help="prove the suite catches every seeded fault of the reference server",
        **parser_kwargs(
            __doc__,
            (
                "mmconform selftest --jobs 2                   # the whole catalogue",
                "mmconform selftest --jobs 1 --fault get-file-truncated",
                "mmconform selftest --strict-attribution       # whole suite per fault",
                "mmconform selftest --shard 2/3                # a third of the faults",
            ),
            profiles=True,
            exit_codes=exit_codes(
                "0  the clean server passes and every fault is killed by a declared requirement",
                "1  a fault survived, was misattributed or overcharged (strict), or the clean "
                "server failed",
                "2  usage error",
            ),
        ),
    )
    p.add_argument("--profile", choices=PROFILES, default="ci", help="suite profile (default ci)")
    p.add_argument("--jobs", type=int, default=2, help="servers tested at once (default 2)")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="test only this fault (repeatable; default: the whole catalogue)",
    )
    p.add_argument(
        "--reports",
        type=Path,
        default=Path("reports"),
        help="reports root; the matrix goes to DIR/selftest/ (default ./reports)",
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"suite seed (default {DEFAULT_SEED})"
    )
    p.add_argument(
        "--as-version",
        default=None,
        metavar="X.Y.Z",
        help="every server (the clean one too) emulates this Mattermost version (default 11.5.0)",
    )
    p.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="run only every N-th fault starting at the K-th (1-based), e.g. 2/3, to split the "
        "catalogue over CI jobs; the clean server runs in every shard",
    )
    p.add_argument(
        "--strict-attribution",
        action="store_true",
        help="also fail when a fault charges requirements it does not declare (each fault "
        "must charge exactly its declared requirements; .ci/run uses it on the whole catalogue)",
    )
    p.add_argument(
        "--whole-suite",
        action="store_true",
        help="run the whole suite against every fault (default: only the tests that can charge "
        "the fault's declared requirements, which gives the same kill verdict; "
        "--strict-attribution implies it)",
    )
    p.set_defaults(func=handle)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise UsageError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 1/3")
    return int(k), int(n)


def handle(args: argparse.Namespace) -> int:
    from mmconform.commands.serve import check_as_version
    from mmconform.selftest.judge import SELECTED_MODE, WHOLE_MODE, judge
    from mmconform.selftest.plan import load_faults
    from mmconform.selftest.render import terminal_lines, write
    from mmconform.selftest.runner import RunSpec, run_suite

    if args.jobs < 1:
        raise UsageError("--jobs must be 1 or more")
    as_version = check_as_version(args.as_version)
    shard = parse_shard(args.shard)
    faults = load_faults(args.fault)
    if shard is not None:
        k, n = shard
        faults = faults[k - 1 :: n]
    folder = args.reports / "selftest"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"--reports {args.reports}: cannot create {folder} ({exc.strerror})"
        ) from None
    whole = bool(args.whole_suite or args.strict_attribution)
    spec = RunSpec(
        profile=args.profile,
        seed=args.seed,
        reports=folder,
        as_version=as_version,
        select_declared=not whole,
    )
    mode = WHOLE_MODE if whole else SELECTED_MODE
    where = f" (shard {args.shard})" if shard else ""
    print(
        f"mmconform selftest: {len(faults)} fault(s){where} + the clean server, profile "
        f"{args.profile}, seed {args.seed}, {args.jobs} job(s), per-fault runs: {mode}"
        + (f", emulating {as_version}" if as_version else ""),
        flush=True,
    )
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        clean_future = pool.submit(run_suite, spec, (), "clean")
        futures = [(f, pool.submit(run_suite, spec, (f.name,), f.name)) for f in faults]
        outcomes = [(f, fut.result()) for f, fut in futures]
        clean = clean_future.result()
    report = judge(
        clean,
        outcomes,
        profile=args.profile,
        seed=args.seed,
        jobs=args.jobs,
        wall_seconds=time.monotonic() - started,
        strict_attribution=args.strict_attribution,
        mode=mode,
    )
    report.shard = args.shard if shard else None
    for line in terminal_lines(report):
        print(line)
    js, md = write(report, folder)
    print(f"mmconform selftest: kill matrix in {js} and {md}")
    return EXIT_OK if report.ok else EXIT_FAILED
