"""`mmconform serve`: run the embedded reference server until SIGINT/SIGTERM.

With no `--data-dir` a fresh temp dir is used and removed on exit. The admin account is created at
start; its credentials go to `<data-dir>/admin-credentials.json` (mode 0600) and only that path is
printed, never the password.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from mmconform.errors import UsageError


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
    p = sub.add_parser("serve", help="run the embedded Mattermost reference server")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8065, help="port (default 8065; 0 = any free)")
    p.add_argument("--data-dir", type=Path, help="data directory (default: a temp dir)")
    p.add_argument("--admin-login", default="admin", help="admin username (default admin)")
    p.add_argument("--admin-password", help="admin password (default: random, kept in data dir)")
    p.add_argument(
        "--site-url",
        help="ServiceSettings.SiteURL; its path (e.g. /chat) is the subpath the server lives "
        "under, as Mattermost does; links take scheme and host from the request",
    )
    p.add_argument("--config", type=Path, help="JSON config overrides (Mattermost layout)")
    p.add_argument("--license-public-key", type=Path, help="PEM public key for licences")
    p.add_argument(
        "--as-version",
        "--server-version",
        dest="as_version",
        default=None,
        metavar="X.Y.Z",
        help="emulate this Mattermost version: report it and follow its rules (default 11.5.0)",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a seeded fault (repeatable; see --list-faults)",
    )
    p.add_argument(
        "--team-edition",
        action="store_true",
        help="behave as a Team Edition build (no LicenseManager: a trial-length licence is 500 "
        "api.license.upgrade_needed.app_error)",
    )
    p.add_argument(
        "--had-trial",
        action="store_true",
        help="start as an instance that has had a trial (CanStartTrial false: a second "
        "trial-length licence is 400 api.license.request-trial.can-start-trial.not-allowed)",
    )
    p.add_argument("--list-faults", action="store_true", help="list the seeded faults and exit")
    p.set_defaults(func=handle)


def _faults(names: list[str]) -> frozenset[str]:
    from mmconform.reference.faults import FaultError, check_names

    try:
        return check_names(names)
    except FaultError as exc:
        raise UsageError(str(exc)) from None


def _list_faults() -> int:
    from mmconform.reference.faults import load_catalogue

    for fault in load_catalogue().values():
        print(f"{fault.name:34} {fault.cls:18} {fault.description}")
    return 0


def _check_inputs(args: argparse.Namespace) -> None:
    """Everything that can be checked before anything is made: nothing is left on a refusal."""
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is out of range; give 0-65535 (0 picks a free one)")
    for flag, path in (
        ("--config", args.config),
        ("--license-public-key", args.license_public_key),
    ):
        if path is not None and not path.is_file():
            raise UsageError(f"{flag} {path}: no such file; pass an existing file")
    if args.config is not None:
        import json

        try:
            parsed = json.loads(args.config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise UsageError(
                f"--config {args.config}: not a JSON file ({exc}); give Mattermost config JSON"
            ) from None
        if not isinstance(parsed, dict):
            raise UsageError(f"--config {args.config}: not a JSON object; give config JSON")


def _check_paths(args: argparse.Namespace) -> bool:
    """Make the data dir if needed; True when this call created it (so a failure removes it)."""
    created = args.data_dir is not None and not args.data_dir.exists()
    if args.data_dir is not None:
        try:
            args.data_dir.mkdir(parents=True, exist_ok=True)
            probe = args.data_dir / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UsageError(
                f"data dir {args.data_dir} is not a writable directory ({exc.strerror}); "
                "pass --data-dir with a directory you can write"
            ) from None
    return created


def check_as_version(text: str | None) -> str | None:
    """One line and exit 2 for a version the reference server cannot emulate."""
    from mmconform.reference.versions import VersionError, parse_version

    if text is None:
        return None
    try:
        parse_version(text)
    except VersionError as exc:
        raise UsageError(f"--as-version: {exc}") from None
    return text.strip()


def handle(args: argparse.Namespace) -> int:
    from mmconform.reference.server import bind_socket

    if args.list_faults:
        return _list_faults()
    as_version = check_as_version(args.as_version)
    faults = _faults(args.fault)
    _check_inputs(args)
    try:
        sock = bind_socket(args.host, args.port)
    except (OSError, OverflowError) as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port} ({getattr(exc, 'strerror', None) or exc}); "
            "choose another --port (0 picks a free one)"
        ) from None
    try:
        created = _check_paths(args)
    except UsageError:
        sock.close()
        raise
    try:
        return _serve(args, sock, faults, as_version)
    except UsageError:
        if created:  # refused after all: leave no data dir behind
            import shutil

            shutil.rmtree(args.data_dir, ignore_errors=True)
        raise


def _serve(
    args: argparse.Namespace, sock: Any, faults: frozenset[str], as_version: str | None
) -> int:
    from mmconform.reference.config import ConfigError
    from mmconform.reference.server import running_server
    from mmconform.reference.settings import DEFAULT_VERSION

    settings = {
        "site_url": args.site_url,
        "admin_login": args.admin_login,
        "admin_password": args.admin_password,
        "config_file": args.config,
        "license_public_key": args.license_public_key,
        "server_version": as_version or DEFAULT_VERSION,
        "faults": faults,
        "edition": "team" if args.team_edition else "enterprise",
        "had_trial": bool(args.had_trial),
    }
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with running_server(host=args.host, data_dir=args.data_dir, sock=sock, **settings) as srv:
            print(f"mmconform reference server ready at {srv.url}", flush=True)
            if faults:
                print(f"seeded faults on: {', '.join(sorted(faults))}", flush=True)
            print(
                f"admin login '{srv.admin_login}', credentials in "
                f"{srv.data_dir / 'admin-credentials.json'}",
                flush=True,
            )
            print(f"emulating Mattermost {settings['server_version']}", flush=True)
            stop.wait()
    except ConfigError as exc:
        raise UsageError(f"{exc}; fix the config file") from None
    except ValueError as exc:
        raise UsageError(f"{exc}; check --license-public-key") from None
    finally:
        sock.close()
    print("mmconform reference server stopped", flush=True)
    return 0
