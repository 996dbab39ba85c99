"""Serialise server-wide changes against the rows that depend on server-wide state.

Config and licence are global to the target while several pytest workers run rows at once, so
every row holds a shared lock on `<run dir>/target.lock` and a row that changes config or the
licence holds it exclusively, changes, checks, and restores before releasing. Whether a change is
allowed at all is the user's decision (`--allow-config-changes`, `--allow-license-changes`);
without it the row is "not applicable" and names the flag.

Licence safety is a rule of the house: no request that could change the licence (POST or DELETE
/api/v4/license, as ANY actor, matrix and fuzz alike) is sent without --allow-license-changes and
a checked --license-file, because whether a refused actor can change it is exactly what is being
tested. With them, the state is read before and after every such section; a change a refused
request made is shouted, undone from the file and fails the requirement the server broke.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmconform.live_target.client import Actor, ApiError, Target
from mmconform.live_target.ledger import Ledger
from mmconform.live_target.licence import Installed, installed
from mmconform.live_target.settings import (
    apply_settings,
    differences,
    get_setting,
    read_config,
    restore_settings,
)
from mmconform.live_target.verdict import ConformanceFailure

NEEDS_LICENCE_FLAG = (
    "needs --allow-license-changes and --license-file (this request may change the target's "
    "licence, whoever sends it)"
)
ALARM_FILE = "licence-alarm.txt"


class NotApplicable(Exception):
    """The target cannot provide what a row needs; the message is the reason."""


@dataclass(frozen=True)
class Permissions:
    allow_config_changes: bool = False
    allow_license_changes: bool = False
    license_bytes: bytes | None = None
    license_id: str | None = None
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
        self._held: dict[str, Any] | None = None  # the settings of a `holding` section
        self._local = threading.local()
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
        """Run with `wanted` in force: as is under a shared lock, or changed under an exclusive;
        inside a held section this thread joined (`holding`) whose settings cover `wanted`, as
        they are (the section holds the exclusive lock for it)."""
        held = self._held if getattr(self._local, "joined", False) else None
        if held is not None and all(k in held and held[k] == v for k, v in wanted.items()):
            yield
            return
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

    @contextmanager
    def holding(self, wanted: dict[str, Any]) -> Iterator[None]:
        """One exclusive section with `wanted` in force for several rows (overlap.batch_key):
        the threads that `joined()` it run their rows inside it side by side, each as it would
        run alone under the same settings; everything else waits, as for any exclusive row."""
        if not self.perms.allow_config_changes:
            with self._lock(fcntl.LOCK_SH):
                diff = differences(self._baseline(), wanted)
            if diff:
                raise NotApplicable(
                    f"needs --allow-config-changes (target has "
                    f"{', '.join(f'{k} != {v!r}' for k, v in sorted(diff.items()))})"
                )
        with self._lock(fcntl.LOCK_EX):
            made = apply_settings(self.target, self.admin, self.ledger, wanted)
            self._held = dict(wanted)
            try:
                yield
            finally:
                self._held = None
                self._snapshot = None
                restore_settings(self.target, self.admin, self.ledger, made)

    @contextmanager
    def joined(self) -> Iterator[None]:
        """This thread runs inside the section `holding` holds (see `settings`)."""
        self._local.joined = True
        try:
            yield
        finally:
            self._local.joined = False

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

    def developer_mode(self) -> bool | None:
        """ServiceSettings.EnableDeveloper as GET /config shows it (None: unknown). Only with it
        off must every handler error carry detailed_error "" (HTTP-ERROR-001)."""
        value = get_setting(self._baseline(), "ServiceSettings.EnableDeveloper")
        return value if isinstance(value, bool) else None

    @contextmanager
    def shared(self) -> Iterator[None]:
        """What a check started ahead holds: no exclusive section runs beside it."""
        with self._lock(fcntl.LOCK_SH):
            yield

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._lock(fcntl.LOCK_EX):
            yield

    def is_licensed(self) -> bool:
        return self.licence_state().licensed

    def licence_state(self) -> Installed:
        return installed(self.target, self.admin)

    def may_change_licence(self) -> bool:
        return bool(self.perms.allow_license_changes and self.perms.license_bytes)

    @contextmanager
    def licence_change(
        self, action: str, *, restore_needed: bool = True, refused: tuple[str, ...] = ()
    ) -> Iterator[None]:
        """Exclusive; records the licence state and re-establishes it afterwards.

        `refused` names the requirements of a request that must not change the licence: if it
        did, the change is written to the alarm file and stderr, undone, and the section fails
        with those requirements even when the answer itself looked right.
        """
        if not self.may_change_licence():
            raise NotApplicable(NEEDS_LICENCE_FLAG)
        with self._lock(fcntl.LOCK_EX):
            before = self.licence_state()
            if before.licensed and self.perms.license_id and before.id != self.perms.license_id:
                raise NotApplicable(
                    f"the installed licence ({before.id}) is not --license-file's "
                    f"({self.perms.license_id}); nothing that could remove it is sent"
                )
            key = self.ledger.licence_change(action, before.licensed, before.id)
            alarm: str | None = None
            try:
                yield
            finally:
                if restore_needed and not refused:
                    # Restored whatever it is now: reading it first would change nothing (one
                    # round trip per accepted admin licence row, in sequence: it holds the lock).
                    self.restore_licence(before.licensed)
                else:
                    after = self.licence_state()
                    if refused and after != before:
                        alarm = self._alarm(action, refused, before, after)
                    if restore_needed or after != before:
                        self.restore_licence(before.licensed)
                if alarm is not None:
                    back = self.licence_state()
                    alarm += " Restored." if back == before else " NOT restored: fix it by hand."
                    self._shout(alarm)
                self.ledger.licence_restored(key)
                if alarm is not None:  # wins over whatever the section raised: it matters more
                    raise ConformanceFailure(alarm)

    def check_unchanged(self, action: str, refused: tuple[str, ...], before: Installed) -> None:
        """After one refused-actor licence request inside `licence_change`: fail at once."""
        after = self.licence_state()
        if after == before:
            return
        alarm = self._alarm(action, refused, before, after)
        self.restore_licence(before.licensed)
        back = self.licence_state()
        alarm += " Restored." if back == before else " NOT restored: fix it by hand."
        self._shout(alarm)
        raise ConformanceFailure(alarm)

    @staticmethod
    def _alarm(action: str, refused: tuple[str, ...], before: Installed, after: Installed) -> str:
        def show(state: Installed) -> str:
            return f"licence {state.id or '?'}" if state.licensed else "no licence"

        return (
            f"[{', '.join(refused)}] THE TARGET'S LICENCE CHANGED after a refused {action} "
            f"request: {show(before)} before, {show(after)} after."
        )

    def _shout(self, text: str) -> None:
        import sys

        with (self.lock_path.parent / ALARM_FILE).open("a", encoding="utf-8") as fh:
            fh.write(text + "\n")
        sys.stderr.write(f"\nmmconform: WARNING: {text}\n")

    def restore_licence(self, was_licensed: bool) -> None:
        try:
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
        except ApiError as exc:
            self._shout(f"could not restore the target's licence: {exc.reason}")
