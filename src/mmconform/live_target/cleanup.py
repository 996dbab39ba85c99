"""Undo a run from its ledger: remove what was created, restore config and licence.

Idempotent: objects already marked removed are skipped, and objects found only as intents (the
crash came between the intent and the answer) are looked up by name; absent means never created.
Deletion prefers the permanent form and falls back to archiving where the target forbids it
(channel and team deletion through the API are off by default on real servers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmconform.live_target.client import API, Actor, ApiError, Target, error_id_of
from mmconform.live_target.ledger import Ledger, LedgerObject, LedgerState, read_ledger
from mmconform.live_target.settings import (
    apply_settings,
    get_setting,
    nested_patch,
    read_config,
    restore_settings,
)

_PERMANENT_DELETION = {
    "ServiceSettings.EnableAPITeamDeletion": True,
    "ServiceSettings.EnableAPIChannelDeletion": True,
}


@dataclass
class CleanupReport:
    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    orphaned_files: int = 0
    kept_direct: int = 0

    def lines(self) -> list[str]:
        out = [
            f"cleanup: {len(self.removed)} removed, {len(self.restored)} restored, "
            f"{len(self.left)} left"
        ]
        out += [f"  left: {line}" for line in self.left]
        if self.orphaned_files:
            out.append(
                f"  note: {self.orphaned_files} unattached file(s) stay in file storage "
                "(no API deletes a file; their channels are gone)"
            )
        if self.kept_direct:
            out.append(
                f"  note: {self.kept_direct} direct channel(s) kept (the API cannot delete "
                "them; their members are deactivated)"
            )
        return out


# A 404 with this id means the route does not exist, not that the object does not.
NO_ROUTE = "api.context.404.app_error"


def _get_id(target: Target, admin: Actor, path: str) -> str | None:
    try:
        body = target.api("GET", path, admin)
    except ApiError as exc:
        if exc.status in (403, 404) and exc.error_id != NO_ROUTE:
            return None
        raise
    return str(body["id"]) if isinstance(body, dict) and "id" in body else None


class _Cleaner:
    def __init__(self, target: Target, admin: Actor, state: LedgerState, ledger: Ledger) -> None:
        self.t = target
        self.admin = admin
        self.state = state
        self.ledger = ledger
        self.report = CleanupReport()

    def resolve(self, obj: LedgerObject) -> str | None:
        if obj.id is not None:
            return obj.id
        parent = self.state.objects.get(obj.parent) if obj.parent else None
        parent_id = self.resolve(parent) if parent is not None else None
        if obj.kind == "user":
            obj.id = _get_id(self.t, self.admin, f"/users/username/{obj.name}")
        elif obj.kind == "team":
            obj.id = _get_id(self.t, self.admin, f"/teams/name/{obj.name}")
        elif obj.kind == "channel" and parent_id is not None:
            obj.id = _get_id(
                self.t,
                self.admin,
                f"/teams/{parent_id}/channels/name/{obj.name}?include_deleted=true",
            )
        elif obj.kind == "post" and parent_id is not None:
            obj.id = self.find_post(parent_id, obj.name)
        return obj.id

    def find_post(self, channel_id: str, message: str) -> str | None:
        try:
            body = self.t.api("GET", f"/channels/{channel_id}/posts?per_page=200", self.admin)
        except ApiError as exc:
            if exc.error_id == NO_ROUTE:
                raise
            return None
        for post in (body or {}).get("posts", {}).values():
            if post.get("message") == message:
                return str(post["id"])
        return None

    def delete(self, obj: LedgerObject, object_id: str) -> str:
        """Returns how the object went; raises ApiError when the target refuses.

        A 404 counts as "already gone" only when a look-up by id confirms it: a 404 alone is
        also what any other server answers for ids it never had.
        """
        kind = obj.kind
        if kind == "file":
            return "unreachable"
        if kind == "channel" and obj.extra.get("type") == "D":
            return "kept"
        if kind in ("post", "user"):
            path = f"/{kind}s/{object_id}"
            return self._delete(
                kind, object_id, path, "deleted" if kind == "post" else "deactivated"
            )
        base = f"/channels/{object_id}" if kind == "channel" else f"/teams/{object_id}"
        try:
            return self._delete(kind, object_id, base + "?permanent=true", "deleted")
        except ApiError:
            return self._delete(kind, object_id, base, "archived")

    def _delete(self, kind: str, object_id: str, path: str, how: str) -> str:
        try:
            self.t.api("DELETE", path, self.admin)
        except ApiError as exc:
            if exc.status == 404 and exc.error_id != NO_ROUTE and self.gone(kind, object_id):
                return "already-gone"
            raise
        return how

    def gone(self, kind: str, object_id: str) -> bool:
        """The target's own look-up: no such object (404), or deleted / deactivated."""
        response = self.t.request("GET", f"{API}/{kind}s/{object_id}", actor=self.admin)
        if response.status_code == 404:
            return error_id_of(response) != NO_ROUTE
        if response.status_code != 200:
            return False
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and int(body.get("delete_at") or 0) > 0

    def objects(self) -> None:
        for obj in self.state.pending_objects():
            if obj.removed is not None:  # went with its post earlier in this loop
                continue
            label = f"{obj.kind} {obj.name}"
            try:
                object_id = self.resolve(obj)
                if object_id is None:
                    how = "never-created" if obj.kind != "file" else "unreachable"
                else:
                    how = self.delete(obj, object_id)
            except ApiError as exc:
                self.report.left.append(f"{label}: {exc.reason}")
                continue
            if how == "kept":
                self.report.kept_direct += 1
            elif how == "unreachable":
                self.report.orphaned_files += 1
            else:
                self.report.removed.append(f"{label} ({how})")
            self.ledger.removed(obj.key, how, object_id)
            if obj.kind == "post":
                self.files_went_with(obj)

    def files_went_with(self, post: LedgerObject) -> None:
        """Deleting a post deletes its file infos too, so its files are gone with it."""
        for key in post.extra.get("files", []):
            attached = self.state.objects.get(str(key))
            if attached is not None and attached.removed is None:
                attached.removed = "with-post"
                self.ledger.removed(attached.key, "with-post")

    def config(self) -> None:
        """Put back what this ledger's run changed, and only where its value is still in force.

        A setting already back at its old value is done; one someone changed since (it holds
        neither the old value nor the run's) is left alone and reported.
        """
        pending = self.state.pending_config()
        if not pending:
            return
        old: dict[str, Any] = {}
        new: dict[str, Any] = {}
        for change in pending:  # newest first: the oldest value of a setting wins
            old[change.setting] = change.old
            new.setdefault(change.setting, change.new)
        try:
            current = read_config(self.t, self.admin)
        except ApiError as exc:
            self.report.left.append(f"config {', '.join(sorted(old))}: {exc.reason}")
            return
        values: dict[str, Any] = {}
        done: set[str] = set()
        for setting, value in old.items():
            now = get_setting(current, setting)
            if now == value:
                done.add(setting)
            elif new[setting] is None or now == new[setting]:
                values[setting] = value
            else:
                done.add(setting)
                self.report.left.append(
                    f"config {setting}: changed since the run by someone else; left as it is"
                )
        if values:
            try:
                self.t.api("PUT", "/config/patch", self.admin, json=nested_patch(values))
            except ApiError as exc:
                self.report.left.append(f"config {', '.join(sorted(values))}: {exc.reason}")
                values = {}
        for change in pending:
            if change.setting in values or change.setting in done:
                self.ledger.config_restored(change.key)
        self.report.restored += [f"config {s}" for s in sorted(values)]

    def licence(self, licence_bytes: bytes | None) -> None:
        pending = self.state.pending_licence()
        if not pending:
            return
        original = pending[-1]  # the oldest change knows the state before the run
        try:
            if original.was_licensed:
                if licence_bytes is None:
                    self.report.left.append(
                        "licence: the run changed it; re-run cleanup with --license-file"
                    )
                    return
                self.t.api(
                    "POST",
                    "/license",
                    self.admin,
                    files={"license": ("restore.mattermost-license", licence_bytes)},
                )
            else:
                self.t.api("DELETE", "/license", self.admin)
        except ApiError as exc:
            self.report.left.append(f"licence: {exc.reason}")
            return
        for change in pending:
            self.ledger.licence_restored(change.key)
        self.report.restored.append("licence")


def cleanup_ledger(
    target: Target,
    admin: Actor,
    path: Path,
    *,
    owner: str = "cleanup",
    licence_bytes: bytes | None = None,
    only_owner: str | None = None,
    allow_config_changes: bool = False,
) -> CleanupReport:
    """Finish every pending entry of the ledger at `path` and record what was done in it."""
    state = read_ledger(path)
    if only_owner is not None:
        state = state.owned_by(only_owner)
    writer = Ledger(path, owner)
    cleaner = _Cleaner(target, admin, state, writer)
    containers = [o for o in state.pending_objects() if o.kind in ("team", "channel")]
    made = []
    if allow_config_changes and containers:
        # Permanent deletion through the API is off by default; switch it on for the sweep.
        made = apply_settings(target, admin, writer, _PERMANENT_DELETION)
    try:
        cleaner.objects()
    finally:
        restore_settings(target, admin, writer, made)
    cleaner.config()
    cleaner.licence(licence_bytes)
    return cleaner.report
