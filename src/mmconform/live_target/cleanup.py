"""Undo a run from its ledger: remove what was created, restore config and licence.

Idempotent: objects already marked removed are skipped, and objects found only as intents (the
crash came between the intent and the answer) are looked up by name; absent means never created.
Deletion prefers the permanent form and falls back to archiving where the target forbids it
(channel and team deletion through the API are off by default on real servers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmconform.live_target.client import Actor, ApiError, Target
from mmconform.live_target.ledger import Ledger, LedgerObject, LedgerState, read_ledger
from mmconform.live_target.settings import apply_settings, nested_patch, restore_settings

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
        """Returns how the object went; raises ApiError when the target refuses."""
        kind = obj.kind
        if kind == "post":
            self.t.api("DELETE", f"/posts/{object_id}", self.admin, expect=(200, 404))
            return "deleted"
        if kind == "user":
            self.t.api("DELETE", f"/users/{object_id}", self.admin, expect=(200, 404))
            return "deactivated"
        if kind == "file":
            return "unreachable"
        if kind == "channel" and obj.extra.get("type") == "D":
            return "kept"
        base = f"/channels/{object_id}" if kind == "channel" else f"/teams/{object_id}"
        try:
            self.t.api("DELETE", base + "?permanent=true", self.admin, expect=(200, 404))
            return "deleted"
        except ApiError:
            self.t.api("DELETE", base, self.admin, expect=(200, 404))
            return "archived"

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
        pending = self.state.pending_config()
        if not pending:
            return
        values = {}
        for change in pending:  # newest first: the oldest value of a setting wins
            values[change.setting] = change.old
        try:
            self.t.api("PUT", "/config/patch", self.admin, json=nested_patch(values))
        except ApiError as exc:
            self.report.left.append(f"config {', '.join(sorted(values))}: {exc.reason}")
            return
        for change in pending:
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
