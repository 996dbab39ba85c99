"""One suite run against one reference server with the given faults switched on.

The server runs in this process (`running_server(faults=...)`), is licensed and has guest
accounts enabled exactly as `mmconform run` prepares its embedded target, and the suite runs as
a separate `python -m mmconform run --url ...` so it meets the server only over HTTP. Admin
credentials travel in the child's environment, never in argv or the logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmconform.selftest.judge import Outcome, failed_requirements, unattributed_tests

if TYPE_CHECKING:
    from mmconform.reference.server import RunningServer

_DAY_MS = 86_400_000


@dataclass(frozen=True)
class RunSpec:
    """What every run of one selftest shares."""

    profile: str
    seed: int
    reports: Path
    workers: int = 1
    as_version: str | None = None  # the servers emulate this version (None: the default)
    # Per-fault runs select only the tests that can charge the fault's declared requirements
    # (mmconform.selection): a fault is killed only by those, so the verdict is the same as a
    # whole-suite run's, at a fraction of the cost. False: the whole suite for every fault
    # (--strict-attribution must see a charge on any requirement).
    select_declared: bool = True


def server_config(faults: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The config file the faults' server needs (their `server_config`s merged; {} for none)."""
    from mmconform.reference.faults import load_catalogue

    catalogue = load_catalogue()
    merged: dict[str, dict[str, Any]] = {}
    for name in faults:
        for section, values in catalogue[name].server_config.items():
            merged.setdefault(section, {}).update(values)
    return merged


def fault_version(faults: tuple[str, ...]) -> str | None:
    """The version the faults' server must emulate (`as_version` in faults.yaml), if any."""
    from mmconform.reference.faults import load_catalogue

    catalogue = load_catalogue()
    versions = {catalogue[n].as_version for n in faults} - {None}
    return next(iter(sorted(v for v in versions if v is not None)), None)


def fault_edition(faults: tuple[str, ...]) -> str:
    """The build the faults' server stands for (`edition` in faults.yaml): "team" if any says so."""
    from mmconform.reference.faults import load_catalogue

    catalogue = load_catalogue()
    return "team" if any(catalogue[n].edition == "team" for n in faults) else "enterprise"


def restricts_admin(config: dict[str, dict[str, Any]]) -> bool:
    return config.get("ExperimentalSettings", {}).get("RestrictSystemAdmin") is True


def _prepare(url: str, login: str, password: str, licence: bytes | None) -> None:
    """License the server and enable guest accounts (as `run`'s `_embedded_plan` does).

    No licence (None) for a server that restricts its admin: the upload would be refused, and
    the rows that need the restriction need no licence.
    """
    from mmconform.live_target.client import Target
    from mmconform.live_target.probe import probe

    result = probe(url, login=login, password=password)
    target = Target(url)
    try:
        if licence is not None:
            target.api("POST", "/license", result.admin, files={"license": ("l", licence)})
        target.api(
            "PUT", "/config/patch", result.admin, json={"GuestAccountsSettings": {"Enable": True}}
        )
    finally:
        target.close()


def _child_env(login: str, password: str) -> dict[str, str]:
    dropped = ("MMCONFORM_", "PYTEST_XDIST_", "PYTEST_CURRENT_TEST")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["MMCONFORM_LOGIN"] = login
    env["MMCONFORM_PASSWORD"] = password
    return env


def selection_args(spec: RunSpec, faults: tuple[str, ...]) -> list[str]:
    """`--requirement ID` for every declared requirement of `faults` (none for the clean
    server, or when the spec runs the whole suite per fault)."""
    if not faults or not spec.select_declared:
        return []
    from mmconform.reference.faults import load_catalogue

    catalogue = load_catalogue()
    ids = dict.fromkeys(r for name in faults for r in catalogue[name].requirements)
    return [arg for req_id in ids for arg in ("--requirement", req_id)]


def _run_child(
    spec: RunSpec,
    server: RunningServer,
    secret: Path,
    out_dir: Path,
    log: Path,
    restricted: bool,
    selection: list[str],
    trial_state: str,
) -> int:
    """Prepare the running server, run `mmconform run` against it; the child's exit code."""
    if server.signing_key_path is None:  # pragma: no cover - own data dir always has one
        raise RuntimeError("reference server has no licence signing key")
    licence = server.mint_license(users=100_000).encode()
    licence_path = secret / "selftest.mattermost-license"
    licence_path.write_bytes(licence)
    licence_path.chmod(0o600)
    _prepare(
        server.url,
        server.admin_login,
        server.admin_password,
        None if restricted else licence,
    )
    cmd = [
        sys.executable,
        "-m",
        "mmconform",
        "run",
        "--url",
        server.url,
        "--profile",
        spec.profile,
        "--seed",
        str(spec.seed),
        "--reports",
        str(out_dir),
        "--workers",
        str(spec.workers),
        "--allow-config-changes",
        "--allow-license-changes",
        "--license-file",
        str(licence_path),
        *selection,
        "--",
        "--mm-disposable",
        "--mm-signing-key",
        str(server.signing_key_path),
        "--mm-trial-state",
        trial_state,
    ]
    env = _child_env(server.admin_login, server.admin_password)
    with log.open("w", encoding="utf-8") as fh:
        return subprocess.call(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)


def run_suite(spec: RunSpec, faults: tuple[str, ...], label: str) -> Outcome:
    """Start a server with `faults`, run the suite on it, read its verdicts; never raises for a
    misbehaving target (that is what is being measured): problems become `Outcome.error`."""
    from mmconform.reference.server import running_server

    started = time.monotonic()
    out_dir = spec.reports / "runs" / label
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "run.log"
    try:
        with tempfile.TemporaryDirectory(prefix="mmconform-selftest-") as secret:
            config = server_config(faults)
            config_file = None
            if config:
                config_file = Path(secret) / "config.json"
                config_file.write_text(json.dumps(config), encoding="utf-8")
            edition = fault_edition(faults)
            # Every server has had its trial, as the embedded run's (commands/run.py); a Team
            # Edition one has no trial state at all.
            with running_server(
                faults=frozenset(faults),
                config_file=config_file,
                as_version=fault_version(faults) or spec.as_version,
                edition=edition,
                had_trial=edition != "team",
            ) as server:
                code = _run_child(
                    spec,
                    server,
                    Path(secret),
                    out_dir,
                    log,
                    restricts_admin(config),
                    selection_args(spec, faults),
                    "team-edition" if edition == "team" else "had-trial",
                )
    except Exception as exc:  # a server that would not start is an error of this run only
        return Outcome(-1, (), None, log, time.monotonic() - started, f"{exc}")
    elapsed = time.monotonic() - started
    results = out_dir / "latest" / "results.json"
    if code == 4 and results.is_file():  # mmconform run's exit code for a suite error
        why = f"suite error: {', '.join(unattributed_tests(results))} named no requirement"
        return Outcome(code, failed_requirements(results), results, log, elapsed, why)
    if code not in (0, 1) or not results.is_file():
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        why = f"mmconform run exited {code}: {tail[0] if tail else 'no output'} (log: {log})"
        return Outcome(code, (), None, log, elapsed, why)
    return Outcome(code, failed_requirements(results), results, log, elapsed)
