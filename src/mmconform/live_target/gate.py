"""Serialise server-wide changes against the rows that depend on server-wide state.

Config and licence are global to the target while several pytest workers run rows at once, so
every row holds a shared lock on `<run dir>/target.lock` and a row that changes config or the
licence holds it exclusively, changes, checks, and restores before releasing. Whether a change is
allowed at all is the user's decision (`--allow-config-changes`, `--allow-license-changes`);
without it the row is "not applicable" and names the flag.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmconform.live_target.client import Actor, Target
from mmconform.live_target.ledger import Ledger
from mmconform.live_target.settings import (
    apply_settings,
    differences,
    get_setting,
    read_config,
    restore_settings,
)


class NotApplicable(Exception):
    """The target cannot provide what a row needs; the message is the reason."""


@dataclass(frozen=True)
class Permissions:
    allow_config_changes: bool = False
    allow_license_changes: bool = False
    license_bytes: bytes | None = None
    signing_key: bytes | None = None
    disposable: bool = False


class Gate:
    def __init__(
        self, lock_path: Path, target: Target, admin: Actor, ledger: Ledger, perms: Permissions
    ) -> None:
        self.lock_path = lock_path
        self.target = target
        self.admin = admin
        self.ledger = ledger
        self.perms = perms
        self._snapshot: dict[str, Any] | None = None
        lock_path.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _lock(self, mode: int) -> Iterator[None]:
        with self.lock_path.open("a") as fh:
            fcntl.flock(fh.fileno(), mode)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def settings(self, wanted: dict[str, Any], *, needs_disposable: bool = False) -> Iterator[None]:
        """Run with `wanted` in force: as is under a shared lock, or changed under an exclusive."""
        if not wanted:
            with self._lock(fcntl.LOCK_SH):
                yield
            return
        with self._lock(fcntl.LOCK_SH):
            diff = differences(self._baseline(), wanted)
            if not diff:
                yield
                return
        if needs_disposable and not self.perms.disposable:
            raise NotApplicable(
                f"needs a throw-away target: changing {', '.join(sorted(diff))} cannot be undone"
            )
        if not self.perms.allow_config_changes:
            raise NotApplicable(
                f"needs --allow-config-changes (target has "
                f"{', '.join(f'{k} != {v!r}' for k, v in sorted(diff.items()))})"
            )
        with self._lock(fcntl.LOCK_EX):
            made = apply_settings(self.target, self.admin, self.ledger, wanted)
            try:
                yield
            finally:
                self._snapshot = None  # re-read if the restore below does not complete
                restore_settings(self.target, self.admin, self.ledger, made)

    def _baseline(self) -> dict[str, Any]:
        """The config outside exclusive sections; every such section restores it on exit,
        so one read per process serves every shared-lock row."""
        if self._snapshot is None:
            self._snapshot = read_config(self.target, self.admin)
        return self._snapshot

    def restricts_admin(self) -> bool | None:
        """ExperimentalSettings.RestrictSystemAdmin as the admin's GET /config shows it.

        Upstream tags the field `write_restrictable` (not `cloud_restrictable`), so a restricted
        admin still reads it; None (absent or not a bool) means unknown. It can only be set in the
        config file, so one read per process is enough.
        """
        value = get_setting(self._baseline(), "ExperimentalSettings.RestrictSystemAdmin")
        return value if isinstance(value, bool) else None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._lock(fcntl.LOCK_EX):
            yield

    def is_licensed(self) -> bool:
        body = self.target.api("GET", "/license/client?format=old", self.admin)
        return isinstance(body, dict) and str(body.get("IsLicensed", "false")) == "true"

    @contextmanager
    def licence_change(self, action: str, *, restore_needed: bool = True) -> Iterator[None]:
        """Exclusive; records the licence state and re-establishes it afterwards.

        Without --allow-license-changes a row that may change the licence runs only on an
        unlicensed target (nothing to lose); the restore then removes whatever got installed.
        """
        with self._lock(fcntl.LOCK_EX):
            was_licensed = self.is_licensed()
            if was_licensed and not (self.perms.allow_license_changes and self.perms.license_bytes):
                raise NotApplicable(
                    "needs --allow-license-changes and --license-file (the target is licensed "
                    "and this request may change its licence)"
                )
            key = self.ledger.licence_change(action, was_licensed)
            try:
                yield
            finally:
                if restore_needed or self.is_licensed() != was_licensed:
                    self.restore_licence(was_licensed)
                self.ledger.licence_restored(key)

    def restore_licence(self, was_licensed: bool) -> None:
        if was_licensed:
            assert self.perms.license_bytes is not None
            self.target.api(
                "POST",
                "/license",
                self.admin,
                files={"license": ("restore.mattermost-license", self.perms.license_bytes)},
            )
        elif self.is_licensed():
            self.target.api("DELETE", "/license", self.admin)
