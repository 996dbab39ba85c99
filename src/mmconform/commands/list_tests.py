"""`mmconform list`: print what `mmconform run` with the same options would run, and what would
be not applicable and why, touching the target only with the probe (its version, its admin).

Without --url the embedded reference server's version is assumed, with every permission the
embedded run has.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mmconform.errors import EXIT_OK, UsageError


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
    from mmconform.commands.helptext import exit_codes, parser_kwargs
    from mmconform.options import add_to_argparse

    p = sub.add_parser(
        "list",
        help="list what a run would run and what would be not applicable (probe only)",
        **parser_kwargs(
            __doc__,
            (
                "mmconform list --operation GetFile --actor guest_in_channel",
                "mmconform list --url https://mm.example.com --requirement FILES-READ-004",
                "mmconform list --server-version 9.5.0 --json",
            ),
            exit_codes=exit_codes(
                "0  listed", "2  usage error (an unknown ID, operation or actor; a bad target)"
            ),
        ),
    )
    # The same options as `mmconform run` (mmconform.options), those that decide what runs.
    add_to_argparse(p, LISTING_OPTIONS)
    p.add_argument("--json", action="store_true", help="print the listing as JSON")
    p.set_defaults(func=handle)


LISTING_OPTIONS = (
    "url",
    "token",
    "login",
    "password",
    "profile",
    "server_version",
    "allow_license_changes",
    "allow_config_changes",
    "requirement",
    "operation",
    "actor",
)


def _version(args: argparse.Namespace) -> str:
    if args.server_version:
        return str(args.server_version)  # checked by the option table
    if not args.url:
        from mmconform.reference.settings import DEFAULT_VERSION

        return str(DEFAULT_VERSION)
    from mmconform.live_target.probe import check_url, logout, probe

    check_url(args.url)
    result = probe(args.url, token=args.token, login=args.login, password=args.password)
    logout(result)
    return str(result.version or "unknown")


def handle(args: argparse.Namespace) -> int:
    from mmconform.commands.run import selection_options
    from mmconform.listing import render
    from mmconform.options import resolve_namespace
    from mmconform.resources import conformance_dir

    resolve_namespace(args, LISTING_OPTIONS)
    selection = selection_options(args)
    version = _version(args)
    folder = conformance_dir()
    embedded = not args.url
    with tempfile.TemporaryDirectory(prefix="mmconform-list-") as tmp:
        out = Path(tmp) / "listing.json"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            str(folder),
            "--rootdir",
            str(folder),
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            "--collect-only",
            "-q",
            "--mm-profile",
            args.profile,
            "--mm-server-version",
            version,
            "--mm-list",
            str(out),
            *selection,
        ]
        if embedded or args.allow_license_changes:
            cmd.append("--mm-allow-license-changes")
        if args.allow_config_changes:
            cmd.append("--mm-allow-config-changes")
        if embedded:
            cmd += ["--mm-signing-key", "embedded", "--mm-allow-config-changes"]
            cmd += ["--mm-trial-state", "had-trial"]  # as commands/run.py's embedded server
        env = {k: v for k, v in os.environ.items() if not k.startswith("MMCONFORM_")}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace")
        if done.returncode not in (0, 5) or not out.is_file():
            lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
            why = next((ln for ln in lines if "error" in ln.lower()), lines[-1] if lines else "")
            raise UsageError(f"cannot collect the suite: {why.removeprefix('ERROR: ')}")
        document = json.loads(out.read_text(encoding="utf-8"))
    if args.json:
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        for line in render(document):
            print(line)
    return EXIT_OK
