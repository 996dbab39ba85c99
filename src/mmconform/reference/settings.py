"""Start-up settings of the reference server (not to be confused with the Mattermost config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmconform.reference.versions import parse_version

DEFAULT_VERSION = "11.5.0"
EDITIONS = ("enterprise", "team")


@dataclass(frozen=True)
class Settings:
    """Everything fixed for the life of one server process.

    `faults` is the seam for the later fault-injection catalogue: a set of names the handlers may
    consult; empty by default so the clean server pays nothing for it.
    `server_version` is both what X-Version-Id reports and the version whose rules the handlers
    follow (`versions.yaml`): a server that reported one version and behaved as another would
    teach the suite the wrong boundaries. Checked here, so every way of starting a server
    (serve, run, selftest, tests) refuses a malformed one.
    """

    data_dir: Path
    site_url: str | None = None
    admin_login: str = "admin"
    admin_password: str | None = None
    server_version: str = DEFAULT_VERSION
    config_file: Path | None = None
    license_public_key: Path | None = None
    faults: frozenset[str] = field(default_factory=frozenset)
    # The licence manager's trial state, explicit because a real server's cannot be read over the
    # API or undone (docs/facts/trial-guard.md): `edition` "team" is a Team Edition build (no
    # LicenseManager: a non-sanctioned trial licence is 500 upgrade_needed); `had_trial` seeds
    # "this instance has had a trial" (CanStartTrial false) at start.
    edition: str = "enterprise"
    had_trial: bool = False

    def __post_init__(self) -> None:
        parse_version(self.server_version)
        if self.edition not in EDITIONS:
            raise ValueError(f"edition {self.edition!r}: give one of {', '.join(EDITIONS)}")
