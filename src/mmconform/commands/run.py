"""`mmconform run`: probe a target, run the conformance suite on it, report, exit with a verdict.

Without `--url` the embedded reference server is started for the duration of the run (fresh data
folder, a licence minted with its signing key and uploaded through the API, guest accounts on).
Secrets go to pytest through the environment, never argv, so they do not show in `ps` or reports.
Every option has an environment twin (shown with it) and the same option for plain pytest as
--mm-*. Selecting (--requirement, --operation, --actor, --rerun-failed, or pytest's -k) makes
the run PARTIAL: it certifies nothing. Reports go to reports/<run-id>/ (reports/latest).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmconform.errors import EXIT_FAILED, EXIT_OK, EXIT_SUITE_ERROR, TargetFailed, UsageError

_DAY_MS = 86_400_000


def register(sub: Any) -> None:
    """Add this verb's parser to `sub` and set `func` (returns an exit code)."""
    from mmconform.commands.helptext import parser_kwargs
    from mmconform.options import add_to_argparse

    p = sub.add_parser(
        "run",
        help="run the conformance suite (default target: the embedded reference server)",
        **parser_kwargs(
            __doc__,
            (
                "mmconform run                                  # the embedded reference server",
                "MMCONFORM_TOKEN=... mmconform run --url https://mm.example.com --profile ci",
                "mmconform run --url URL --login admin --allow-config-changes -n 2",
                "mmconform run --operation GetFile --actor guest_in_channel   # PARTIAL",
                "mmconform run --rerun-failed reports/latest",
                "mmconform run --profile certify --declare subpath --sign-key issuer.key",
                "mmconform run -- -k GetFileLink            # pytest arguments after --",
            ),
            profiles=True,
        ),
    )
    add_to_argparse(p)  # every option, from the one table (mmconform.options)
    p.add_argument(
        "pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="extra pytest arguments after --"
    )
    p.set_defaults(func=handle)


def add_selection_options(p: argparse.ArgumentParser) -> None:
    """--requirement/--operation/--actor, shared by `run` and `list` (mmconform.selection)."""
    from mmconform.options import add_to_argparse

    add_to_argparse(p, ("requirement", "operation", "actor"))


def check_selection(args: argparse.Namespace) -> None:
    """Unknown requirement IDs, operations, actors or capability profiles: one line, exit 2."""
    from mmconform.registry import load_registry
    from mmconform.selection import Criteria, check_criteria, split_values

    check_criteria(
        Criteria(
            split_values(getattr(args, "requirement", None)),
            split_values(getattr(args, "operation", None)),
            split_values(getattr(args, "actor", None)),
        ),
        load_registry().requirements,
    )
    if getattr(args, "declare", None):
        from mmconform.capabilities import load_capabilities

        load_capabilities().check_declared(split_values(args.declare))


def selection_options(args: argparse.Namespace) -> list[str]:
    """The selection as plugin options (for `mmconform list`), checked."""
    from mmconform.options import resolve_namespace, to_plugin_args

    resolve_namespace(args, ("requirement", "operation", "actor"))
    check_selection(args)
    picked = argparse.Namespace(
        **{d: getattr(args, d, None) for d in ("requirement", "operation", "actor")}
    )
    return to_plugin_args(picked)


@dataclass
class Plan:
    """What pytest is told: the target, its credentials (env only) and the permissions."""

    url: str
    version: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rerun:
    """The failed tests of an earlier run, and the facts to rerun them with."""

    source: Path
    nodeids: tuple[str, ...]
    seed: int | None
    profile: str | None
    version: str | None


def _profiles() -> tuple[str, ...]:
    from mmconform.options import PROFILES

    return PROFILES


def _rerun_of(run: str) -> Rerun:
    from mmconform.report.model import BAD_OUTCOMES, load_results, results_path

    path = results_path(Path(run))
    results = load_results(Path(run))
    failed = tuple(str(t["nodeid"]) for t in results["tests"] if t["outcome"] in BAD_OUTCOMES)
    if not failed:
        raise UsageError(f"--rerun-failed {run}: no test failed in that run; nothing to rerun")
    seed = results.get("seed")
    return Rerun(
        source=path,
        nodeids=failed,
        seed=int(seed) if isinstance(seed, int) else None,
        profile=results.get("profile") if results.get("profile") in _profiles() else None,
        version=(results.get("target") or {}).get("version"),
    )


def _apply_rerun(args: argparse.Namespace) -> None:
    """The rerun run's seed and profile unless given; on the embedded server its version."""
    args.rerun = None
    if not getattr(args, "rerun_failed", None):
        return
    rerun = _rerun_of(args.rerun_failed)
    args.rerun = rerun
    if args.seed is None and not os.environ.get("MMCONFORM_SEED"):
        args.seed = rerun.seed
    if args.profile is None and not os.environ.get("MMCONFORM_PROFILE"):
        args.profile = rerun.profile
    if args.url is None and args.as_version is None and rerun.version:
        from mmconform.reference.settings import DEFAULT_VERSION

        if rerun.version != DEFAULT_VERSION:
            args.as_version = rerun.version
    print(
        f"mmconform: rerunning {len(rerun.nodeids)} failed test(s) of {rerun.source} "
        f"(seed {args.seed}, profile {args.profile or 'ci'})"
    )


def _validate(args: argparse.Namespace) -> None:
    """Every option and environment value, before anything is started, created or sent."""
    from mmconform.options import resolve_namespace

    _apply_rerun(args)
    resolve_namespace(args)  # environment twins, defaults and value checks (mmconform.options)
    if args.url is not None:
        from mmconform.live_target.probe import check_url

        check_url(args.url)
    reports = Path(args.reports)
    if reports.exists() and not reports.is_dir():
        raise UsageError(f"--reports {reports} is not a directory; give a folder for run folders")
    if args.url is None and (args.token or args.login or args.password):
        raise UsageError("credentials given without --url; add --url or drop the credentials")
    if args.as_version and args.url:
        raise UsageError(
            "--as-version sets the embedded server's version and cannot change a --url target; "
            "drop it, or use --server-version to judge the target as another version"
        )
    if args.as_version:
        from mmconform.commands.serve import check_as_version

        args.as_version = check_as_version(args.as_version)
    if args.allow_license_changes and not args.license_file:
        raise UsageError(
            "--allow-license-changes needs --license-file FILE (the licence to restore afterwards)"
        )
    if args.license_file:
        from mmconform.live_target.licence import read_licence_file

        read_licence_file(args.license_file)  # readable, non-empty, a licence in shape
    if args.workers is not None and args.workers < 1:
        raise UsageError("-n/--workers (MMCONFORM_WORKERS) must be 1 or more")
    if args.sign_key:
        from mmconform.report.signing import load_private_key

        load_private_key(Path(args.sign_key))  # a bad key fails now, not after the whole run
    check_selection(args)


def _check_installed_licence(args: argparse.Namespace, result: Any) -> None:
    """The file must be the target's licence before anything may remove it (nothing created yet)."""
    from mmconform.live_target.client import Target
    from mmconform.live_target.licence import check_matches, read_licence_file

    target = Target(result.url)
    try:
        check_matches(target, result.admin, read_licence_file(args.license_file))
    finally:
        target.close()


def _remote_plan(args: argparse.Namespace) -> Plan:
    plan = Plan(url=args.url)
    if args.token:
        plan.env["MMCONFORM_TOKEN"] = args.token
    if args.login:
        plan.env["MMCONFORM_LOGIN"] = args.login
    if args.password:
        plan.env["MMCONFORM_PASSWORD"] = args.password
    if args.license_file:
        plan.options += ["--mm-license-file", str(Path(args.license_file).resolve())]
    return plan


@contextmanager
def _embedded_plan(stack: ExitStack, as_version: str | None = None) -> Iterator[Plan]:
    """Start the reference server, license it, enable guest accounts; stop it afterwards."""
    from mmconform.live_target.client import Target
    from mmconform.live_target.probe import logout, probe
    from mmconform.reference.licensing import mint_license
    from mmconform.reference.server import running_server

    # had_trial: the embedded server starts as an instance that has had its trial, so the trial
    # guard's rows have a known state to check (a real server's cannot be read or undone).
    server = stack.enter_context(running_server(as_version=as_version, had_trial=True))
    if server.signing_key_path is None:
        raise UsageError("the embedded server has no licence signing key; cannot license it")
    secret_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mmconform-lic-")))
    licence = mint_license(
        server.signing_key_path.read_bytes(),
        users=100_000,
        expires_at_ms=int(time.time() * 1000) + 365 * _DAY_MS,
    ).encode()
    licence_path = secret_dir / "embedded.mattermost-license"
    licence_path.write_bytes(licence)
    licence_path.chmod(0o600)
    result = probe(server.url, login=server.admin_login, password=server.admin_password)
    stack.callback(logout, result)
    target = Target(server.url)
    try:
        target.api("POST", "/license", result.admin, files={"license": ("l", licence)})
        target.api(
            "PUT",
            "/config/patch",
            result.admin,
            json={"GuestAccountsSettings": {"Enable": True}},
        )
    finally:
        target.close()
    yield Plan(
        url=server.url,
        version=result.version,
        env={"MMCONFORM_LOGIN": server.admin_login, "MMCONFORM_PASSWORD": server.admin_password},
        options=[
            "--mm-allow-config-changes",
            "--mm-allow-license-changes",
            "--mm-disposable",
            "--mm-license-file",
            str(licence_path),
            "--mm-signing-key",
            str(server.signing_key_path),
            "--mm-trial-state",
            "had-trial",
        ],
    )


def _make_run_dir(reports: Path, seed: int) -> tuple[str, Path]:
    from mmconform.live_target.world import make_prefix

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    run_id = f"{stamp}-{make_prefix(seed, stamp)}"
    run_dir = reports / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise UsageError(f"--reports {reports}: cannot create {run_dir} ({exc.strerror})") from None
    return run_id, run_dir


def _point_latest(run_dir: Path) -> None:
    """reports/latest names a run only once the suite has really started in it."""
    reports, run_id = run_dir.parent, run_dir.name
    latest = reports / "latest"
    temp = reports / f".latest-{run_id}"
    temp.unlink(missing_ok=True)
    temp.symlink_to(run_id)
    os.replace(temp, latest)


def _pytest_command(args: argparse.Namespace, plan: Plan, seed: int, run_dir: Path) -> list[str]:
    from mmconform.resources import conformance_dir

    folder = conformance_dir()
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
        "--mm-url",
        plan.url,
        "--mm-profile",
        args.profile,
        "--mm-seed",
        str(seed),
        "--mm-reports",
        str(run_dir),
        "--junitxml",
        str(run_dir / "junit.xml"),
        "--alluredir",
        str(run_dir / "allure-results"),
        "-q",
        "-rfE",
        "--no-header",
    ]
    version = args.server_version or plan.version
    if version:
        cmd += ["--mm-server-version", version]
    workers = args.workers or 1
    if workers > 1:
        cmd += ["-n", str(workers)]
    rerun: Rerun | None = getattr(args, "rerun", None)
    if rerun is not None:
        listed = run_dir / "rerun-tests.txt"
        listed.write_text("\n".join(rerun.nodeids) + "\n", encoding="utf-8")
        cmd += ["--mm-tests", str(listed)]
    # Every table option with a plugin twin (mmconform.options), but those set above and the
    # secrets; the plan's own options (the embedded server's permissions) come last and win.
    from mmconform.options import to_plugin_args

    passed = argparse.Namespace(**vars(args))
    for dest in ("url", "profile", "seed", "server_version", "license_file"):
        setattr(passed, dest, None)
    return cmd + to_plugin_args(passed) + plan.options + list(args.pytest_args)


def _child_env(plan: Plan) -> dict[str, str]:
    # Our own variables are replaced by the plan; an enclosing pytest's are not for the child.
    dropped = ("MMCONFORM_", "PYTEST_XDIST_", "PYTEST_CURRENT_TEST")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(plan.env)
    return env


def _verdict(run_dir: Path, url: str, pytest_rc: int, sign_key: Path | None) -> int:
    failed_file = run_dir / "target-failed.txt"
    if failed_file.exists():
        first = failed_file.read_text(encoding="utf-8").splitlines()[:1]
        raise TargetFailed(first[0] if first else "see " + str(failed_file))
    if pytest_rc in (2, 3, 4):
        raise UsageError(f"pytest stopped with exit code {pytest_rc} (see the output above)")
    from mmconform.report import finalize_run

    if not (run_dir / "results.json").exists():
        raise UsageError(
            f"pytest wrote no results.json in {run_dir} (exit code {pytest_rc}); "
            "see its output above"
        )
    summary = finalize_run(run_dir, target_url=url, sign_key=sign_key)
    for line in summary.lines():
        print(line)
    if summary.suite_errors:
        return EXIT_SUITE_ERROR
    # The verdict is the results'; a failed SHOULD makes pytest exit 1 without breaking it.
    return EXIT_OK if summary.ok else EXIT_FAILED


def _run_child(cmd: list[str], env: dict[str, str], run_dir: Path) -> int:
    """Run pytest; on Ctrl-C let it finish its cleanup (it got the signal too) before leaving.

    `subprocess.call` would kill the child at once, leaving the world behind. Until the suite
    has started (its ledger exists) pytest's stderr is held back: if pytest refuses its
    arguments, that becomes one line and exit 2, and the run folder is removed unused.
    """
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, errors="replace")
    relay = _StderrRelay(proc, run_dir / "ledger.jsonl")
    relay.start()
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        print(
            "mmconform: interrupted; waiting for the suite to clean up (Ctrl-C again to stop "
            f"now, then run: mmconform cleanup --ledger {run_dir / 'ledger.jsonl'} ...)",
            file=sys.stderr,
        )
        try:
            proc.wait()
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
        raise
    finally:
        relay.join(timeout=10)
    if not relay.started and rc != 0:
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)
        raise UsageError(f"pytest refused to start: {relay.reason()}; check the arguments after --")
    if relay.started or run_dir.exists():
        _point_latest(run_dir)
    return rc


class _StderrRelay(threading.Thread):
    """Forwards the child's stderr, holding it back until the suite has started."""

    def __init__(self, proc: subprocess.Popen[str], ledger: Path) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.ledger = ledger
        self.held: list[str] = []
        self.started = False

    def run(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if not self.started and self.ledger.exists():
                self.started = True
                sys.stderr.write("".join(self.held))
                self.held.clear()
            if self.started:
                sys.stderr.write(line)
            else:
                self.held.append(line)
        self.started = self.started or self.ledger.exists()
        if self.started and self.held:
            sys.stderr.write("".join(self.held))
            self.held.clear()

    def reason(self) -> str:
        lines = [ln.strip() for ln in self.held if ln.strip()]
        for line in reversed(lines):
            if "error:" in line.lower() or line.startswith("ERROR"):
                return line.removeprefix("ERROR:").strip()
        return lines[-1] if lines else f"exit code {self.proc.returncode}"


def handle(args: argparse.Namespace) -> int:
    _validate(args)
    seed = args.seed
    if seed is None:
        seed = random.SystemRandom().randrange(10**9)
    print(f"mmconform: seed {seed}")
    with ExitStack() as stack:
        if args.url:
            from mmconform.live_target.probe import logout, probe

            plan = _remote_plan(args)
            result = probe(
                args.url,
                token=args.token,
                login=args.login,
                password=args.password,
                server_version=args.server_version,
            )
            plan.url, plan.version = result.url, result.version
            try:
                if args.allow_license_changes:
                    _check_installed_licence(args, result)
            finally:
                logout(result)  # pytest logs in on its own; this session is done
        else:
            plan = stack.enter_context(_embedded_plan(stack, args.as_version))
            print(f"mmconform: embedded reference server at {plan.url}")
        run_id, run_dir = _make_run_dir(Path(args.reports), seed)
        version = args.server_version or plan.version or "unknown"
        print(f"mmconform: run {run_id} against {plan.url} (version {version})")
        cmd = _pytest_command(args, plan, seed, run_dir)
        rc = _run_child(cmd, _child_env(plan), run_dir)
        sign_key = Path(args.sign_key) if args.sign_key else None
        code = _verdict(run_dir, plan.url, rc, sign_key)
    har = run_dir / "exchanges.har"
    if har.is_file():
        print(
            f"mmconform: each failure's request and response (secrets redacted) in {har}; "
            "open it in a browser's developer tools or any HAR viewer"
        )
    print(f"mmconform: reports in {run_dir}")
    return code
