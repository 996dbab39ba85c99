"""The one table of run options: `mmconform run`'s argparse options and the pytest plugin's
`--mm-*` options are both made from it, with their environment twins, defaults, help and checks.

Before, every option was declared twice (argparse in `commands/run.py`, `pytest_addoption` in
the plugin), each side with its own environment table, and they drifted: MMCONFORM_PROFILE
worked for the CLI only, a bad MMCONFORM_SEED was a traceback in pytest. Here an `Option` names
its CLI flag and/or its plugin flag, one `dest`, an environment variable, a kind (text, whole
number, yes/no, choice, repeatable list, on/off pair) and a default; `resolve` applies the
environment and the default and checks the value the same way for both. Secrets are marked, so
`mmconform run` hands them to pytest in the environment, never in argv.

To add an option, append one row; `tests/suite/test_suite_options.py` checks that both sides
expose every row.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mmconform.errors import UsageError

PROFILES = ("quick", "ci", "full", "certify")
TEXT, INT, FLAG, CHOICE, LIST, ONOFF = "text", "int", "flag", "choice", "list", "onoff"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Option:
    """One run option. `cli`/`plugin`: its flag on each side (None: not on that side)."""

    dest: str
    help: str
    cli: str | None = None
    plugin: str | None = None
    env: str | None = None
    kind: str = TEXT
    default: Any = None
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    short: str | None = None  # a CLI short flag, e.g. -n
    secret: bool = False
    # The flag that turns an ONOFF option off, per side (e.g. --no-strict / --mm-no-strict).
    cli_off: str | None = None
    plugin_off: str | None = None

    @property
    def plugin_dest(self) -> str:
        return "mm_" + self.dest

    def help_text(self) -> str:
        extra = []
        if self.env:
            extra.append(f"env {self.env}")
        if self.default not in (None, False, ()):
            extra.append(f"default {self.default}")
        return self.help + (f" ({'; '.join(extra)})" if extra else "")

    def parse_env(self, raw: str) -> Any:
        """The environment variable's text as this option's value, or a one-line UsageError."""
        where = f"{self.env}={raw!r}"
        if self.kind == INT:
            try:
                return int(raw)
            except ValueError:
                raise UsageError(f"{where} is not a whole number; set e.g. {self.env}=2") from None
        if self.kind in (FLAG, ONOFF):
            low = raw.strip().lower()
            if low not in _TRUE + _FALSE:
                raise UsageError(f"{where} is not a yes/no value; set 1/true/yes or 0/false/no")
            return low in _TRUE
        if self.kind == CHOICE and raw not in self.choices:
            raise UsageError(f"{where} is not one of {', '.join(self.choices)}; set one of those")
        if self.kind == LIST:
            return [raw]
        return raw


def _check_version(value: str, flag: str) -> None:
    from mmconform.versions import parse_version

    try:
        parse_version(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a version; write e.g. 11.5.0") from None


OPTIONS: tuple[Option, ...] = (
    Option("url", "server root to test; omit for the embedded server", "--url", "--mm-url",
           "MMCONFORM_URL", metavar="URL"),
    Option("token", "system admin token; prefer the env var (argv is visible in ps)", "--token",
           "--mm-token", "MMCONFORM_TOKEN", metavar="TOKEN", secret=True),
    Option("login", "system admin login", "--login", "--mm-login", "MMCONFORM_LOGIN",
           metavar="LOGIN"),
    Option("password", "system admin password; prefer the env var", "--password",
           "--mm-password", "MMCONFORM_PASSWORD", metavar="PASSWORD", secret=True),
    Option("profile", "how thorough the run is (conformance/profiles.yaml)", "--profile",
           "--mm-profile", "MMCONFORM_PROFILE", CHOICE, "ci", PROFILES),
    Option("seed", "seed for names, file contents and generated cases (default random, printed)",
           "--seed", "--mm-seed", "MMCONFORM_SEED", INT, metavar="N"),
    Option("server_version", "judge the target as this version instead of its X-Version-Id",
           "--server-version", "--mm-server-version", "MMCONFORM_SERVER_VERSION",
           metavar="X.Y.Z"),
    Option("allow_config_changes", "allow temporary config changes, restored afterwards",
           "--allow-config-changes", "--mm-allow-config-changes",
           "MMCONFORM_ALLOW_CONFIG_CHANGES", FLAG),
    Option("allow_license_changes", "allow licence uploads and removal; needs --license-file "
           "to restore", "--allow-license-changes", "--mm-allow-license-changes",
           "MMCONFORM_ALLOW_LICENSE_CHANGES", FLAG),
    Option("license_file", "the licence to (re)install after licence rows", "--license-file",
           "--mm-license-file", "MMCONFORM_LICENSE_FILE", metavar="FILE"),
    Option("requirement", "run only the tests that can charge this requirement (repeatable, "
           "or ID,ID); PARTIAL", "--requirement", "--mm-requirement", "MMCONFORM_REQUIREMENT",
           LIST, metavar="ID"),
    Option("operation", "run only the tests of this operationId, e.g. GetFile (repeatable); "
           "PARTIAL", "--operation", "--mm-operation", "MMCONFORM_OPERATION", LIST,
           metavar="OP"),
    Option("actor", "run only the tests sent as this actor, e.g. guest_in_channel "
           "(repeatable); PARTIAL", "--actor", "--mm-actor", "MMCONFORM_ACTOR", LIST,
           metavar="ACTOR"),
    Option("strict", "strict certification: any N/A outside a version range or a declared "
           "capability profile fails it (default: on for the certify profile)", "--strict",
           "--mm-strict", "MMCONFORM_STRICT", ONOFF, cli_off="--no-strict",
           plugin_off="--mm-no-strict"),
    Option("declare", "a capability profile the target lacks, whose N/A --strict accepts "
           "(repeatable; conformance/capabilities.yaml)", "--declare", "--mm-declare",
           "MMCONFORM_DECLARE", LIST, metavar="CAPABILITY"),
    Option("concurrency", "requests in flight at once per process: matrix rows, the header "
           "table, fuzz operations, provisioning and cleanup overlap; 1 = strictly sequential "
           "(default 8)", "--concurrency", "--mm-concurrency", "MMCONFORM_CONCURRENCY", INT,
           metavar="N"),
    Option("shard", "run slice K of N of the suite (same seed, same ids), e.g. one CI job "
           "each; join the run folders with 'mmconform merge' (a slice alone is never "
           "CONFORMANT)", "--shard", "--mm-shard", "MMCONFORM_SHARD", metavar="K/N"),
    # mmconform run only
    Option("reports", "where run folders go", "--reports", None, "MMCONFORM_REPORTS",
           default="reports", metavar="DIR"),
    Option("as_version", "the embedded server emulates this Mattermost version (not with "
           "--url)", "--as-version", None, "MMCONFORM_AS_VERSION", metavar="X.Y.Z"),
    Option("workers", "pytest-xdist workers (default 1)", "--workers", None,
           "MMCONFORM_WORKERS", INT, metavar="N", short="-n"),
    Option("sign_key", "Ed25519 private key (PEM) to sign the certificate; make one with "
           "'mmconform report keygen -o KEY'", "--sign-key", None, "MMCONFORM_SIGN_KEY",
           metavar="PEM"),
    Option("rerun_failed", "rerun only the tests that failed or errored in RUN (a run folder "
           "or its results.json) with its seed and profile (and, on the embedded server, its "
           "version); PARTIAL", "--rerun-failed", None, metavar="RUN"),
    # the plugin only (mmconform run sets them)
    Option("reports_dir", "the run folder (ledger, results); default reports/<run-id>", None,
           "--mm-reports", metavar="DIR"),
    Option("signing_key", "licence signing key the target trusts (embedded server), for "
           "minted licences", None, "--mm-signing-key", metavar="PEM"),
    Option("trial_state", "what the target's licence manager says of a trial-length licence: "
           "had-trial (CanStartTrial false) or team-edition (no LicenseManager); the trial "
           "guard's rows run only where it is declared (the embedded server's is had-trial)",
           None, "--mm-trial-state", metavar="STATE"),
    Option("disposable", "the target is thrown away after the run: irreversible changes are "
           "allowed", None, "--mm-disposable", kind=FLAG),
    Option("tests", "run only the tests whose stable ids FILE lists, one a line "
           "(--rerun-failed)", None, "--mm-tests", metavar="FILE"),
    Option("list", "with --collect-only: write what would run (facts, predicted N/A) to FILE "
           "as JSON (mmconform list)", None, "--mm-list", metavar="FILE"),
)  # fmt: skip
BY_DEST = {o.dest: o for o in OPTIONS}
# The plugin's historical dest for the run folder is mm_reports.
_PLUGIN_DEST = {"reports_dir": "mm_reports"}


def plugin_dest(option: Option) -> str:
    return _PLUGIN_DEST.get(option.dest, option.plugin_dest)


def _kwargs(option: Option, *, for_pytest: bool) -> dict[str, Any]:
    kw: dict[str, Any] = {"help": option.help_text(), "default": None}
    if for_pytest:
        kw["dest"] = plugin_dest(option)
    else:
        kw["dest"] = option.dest
    if option.kind == INT:
        kw["type"] = int
    if option.kind in (FLAG, ONOFF):
        kw["action"] = "store_true"
    elif option.kind == LIST:
        kw["action"] = "append"
    if option.kind == CHOICE:
        kw["choices"] = option.choices
    if option.metavar and option.kind not in (FLAG, ONOFF):
        kw["metavar"] = option.metavar
    return kw


def add_to_argparse(parser: argparse.ArgumentParser, dests: Iterable[str] | None = None) -> None:
    """The CLI side: every option with a `cli` flag (or only `dests`)."""
    wanted = set(dests) if dests is not None else None
    for option in OPTIONS:
        if option.cli is None or (wanted is not None and option.dest not in wanted):
            continue
        flags = [option.short, option.cli] if option.short else [option.cli]
        if option.kind == ONOFF and option.cli_off:
            group = parser.add_mutually_exclusive_group()
            group.add_argument(*flags, **_kwargs(option, for_pytest=False))
            group.add_argument(
                option.cli_off,
                dest=option.dest,
                action="store_false",
                help=f"the opposite of {option.cli}",
            )
        else:
            parser.add_argument(*flags, **_kwargs(option, for_pytest=False))


def add_to_pytest(add: Callable[..., Any]) -> None:
    """The plugin side: `add` is a pytest option group's `addoption`."""
    for option in OPTIONS:
        if option.plugin is None:
            continue
        add(option.plugin, **_kwargs(option, for_pytest=True))
        if option.kind == ONOFF and option.plugin_off:
            add(
                option.plugin_off,
                dest=plugin_dest(option),
                action="store_false",
                help=f"the opposite of {option.plugin}",
            )


def resolve(option: Option, value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """The value given, else the environment twin's, else the default; checked."""
    environ = os.environ if environ is None else environ
    if option.kind == FLAG and value is False:
        value = None  # store_true's "not given" under a non-None default
    if value is None and option.env and environ.get(option.env, "") != "":
        value = option.parse_env(environ[option.env])
    if value is None:
        value = option.default
    if option.kind == CHOICE and value is not None and value not in option.choices:
        raise UsageError(
            f"{option.cli or option.plugin} {value!r} is not one of {', '.join(option.choices)}"
        )
    flag = option.cli or option.plugin or option.dest
    if option.dest in ("server_version",) and value:
        _check_version(str(value), flag)
    if option.dest == "concurrency" and value is not None and value < 1:
        raise UsageError(f"{flag} {value} is not a count of requests; give 1 (sequential) or more")
    if option.dest == "shard" and value:
        from mmconform.report.shard import parse_shard

        parse_shard(str(value), flag)
    if option.kind == FLAG:
        return bool(value)
    return value


def resolve_namespace(args: argparse.Namespace, dests: Sequence[str] | None = None) -> None:
    """Resolve every CLI option of `args` in place (env twins, defaults, checks)."""
    for option in OPTIONS:
        if option.cli is None or (dests is not None and option.dest not in dests):
            continue
        if hasattr(args, option.dest):
            setattr(args, option.dest, resolve(option, getattr(args, option.dest)))


def resolve_pytest(option_namespace: Any) -> None:
    """Resolve every plugin option of pytest's `config.option` in place."""
    for option in OPTIONS:
        if option.plugin is None:
            continue
        dest = plugin_dest(option)
        setattr(option_namespace, dest, resolve(option, getattr(option_namespace, dest, None)))


def to_plugin_args(args: argparse.Namespace) -> list[str]:
    """The plugin flags carrying the CLI values that have a plugin twin, secrets excepted (they
    travel in the child's environment)."""
    out: list[str] = []
    for option in OPTIONS:
        if option.cli is None or option.plugin is None or option.secret:
            continue
        value = getattr(args, option.dest, None)
        if value is None or value is False or value == []:
            if option.kind == ONOFF and value is False and option.plugin_off:
                out.append(option.plugin_off)
            continue
        if option.kind in (FLAG, ONOFF):
            out.append(option.plugin)
        elif option.kind == LIST:
            for item in value:
                out += [option.plugin, str(item)]
        else:
            out += [option.plugin, str(value)]
    return out
