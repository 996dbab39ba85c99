"""Undo a run from its ledger: remove what was created, restore config and licence.

Idempotent: objects already marked removed are skipped, and objects found only as intents (the
crash came between the intent and the answer) are looked up by name; absent means never created.
Deletion prefers the permanent form and falls back to archiving where the target forbids it
(channel and team deletion through the API are off by default on real servers).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mmconform.live_target.client import API, Actor, ApiError, Target, error_id_of
from mmconform.live_target.ledger import Ledger, LedgerObject, LedgerState, read_ledger
from mmconform.live_target.settings import (
    apply_settings,
    get_setting,
    nested_patch,
    read_config,
    restore_settings,
)
from mmconform.traffic import IN_FLIGHT

_PERMANENT_DELETION = {
    "ServiceSettings.EnableAPITeamDeletion": True,
    "ServiceSettings.EnableAPIChannelDeletion": True,
}


@dataclass
class CleanupReport:
    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    # What the API cannot remove at all, each with the reason; counted from the whole ledger,
    # so every pass (the run's own, each `mmconform cleanup`) states the same true number.
    kept: list[str] = field(default_factory=list)
    bookmark_files: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"cleanup: {len(self.removed)} removed, {len(self.restored)} restored, "
            f"{len(self.left)} left, {len(self.kept) + len(self.bookmark_files)} kept"
        ]
        out += [f"  left: {line}" for line in self.left]
        out += [f"  kept: {line}" for line in self.kept]
        out += [
            f"  kept: {line}: uploaded with bookmark=true, so owned by no user and attachable "
            "only to a channel bookmark; mmconform does not create bookmarks to delete it"
            for line in self.bookmark_files
        ]
        return out


# model.BookmarkFileOwner: the creator of files uploaded with bookmark=true.
BOOKMARK_OWNER = "bookmark"
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


T = TypeVar("T")
R = TypeVar("R")


def side_by_side(work: Callable[[T], R], items: list[T]) -> list[R | ApiError]:
    """`work(item)` for each item, up to the process's --concurrency at once (traffic.IN_FLIGHT;
    1 for `mmconform cleanup`); answers in the items' order, an ApiError kept as the answer.
    Anything else (the target died) is raised as if sequential."""

    def one(item: T) -> R | ApiError:
        try:
            return work(item)
        except ApiError as exc:
            return exc

    width = min(IN_FLIGHT.limit, len(items))
    if width <= 1:
        return [one(item) for item in items]
    with ThreadPoolExecutor(width, thread_name_prefix="mmconform-cleanup") as pool:
        return list(pool.map(one, items))


def _outcome(answer: R | ApiError) -> R:
    if isinstance(answer, ApiError):
        raise answer
    return answer


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
        if kind == "channel" and obj.extra.get("type") in ("D", "G"):
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

    def _remove(self, obj: LedgerObject) -> tuple[str | None, str]:
        object_id = self.resolve(obj)
        return object_id, "never-created" if object_id is None else self.delete(obj, object_id)

    def objects(self) -> None:
        """Kind by kind (children first); the objects of one kind are independent, so their
        requests overlap (--concurrency) and the bookkeeping follows in ledger order."""
        pending = [o for o in self.state.pending_objects() if o.kind != "file"]
        # Files are settled after the sweep: gone with a post, or left (or never recorded).
        for kind in dict.fromkeys(o.kind for o in pending):
            batch = [o for o in pending if o.kind == kind and o.removed is None]
            for obj, outcome in zip(batch, side_by_side(self._remove, batch), strict=True):
                self._book(obj, outcome)

    def _book(self, obj: LedgerObject, outcome: tuple[str | None, str] | ApiError) -> None:
        label = f"{obj.kind} {obj.name}"
        if isinstance(outcome, ApiError):
            self.report.left.append(f"{label}: {outcome.reason}")
            return
        object_id, how = outcome
        if how not in ("kept", "never-created"):
            self.report.removed.append(f"{label} ({how})")
        obj.removed = how
        self.ledger.removed(obj.key, how, object_id)
        if obj.kind == "post":
            self.files_went_with(obj)

    def files_went_with(self, post: LedgerObject) -> None:
        """Deleting a post deletes its file infos too, so its files are gone with it."""
        by_id = {o.id: o for o in self.state.objects.values() if o.kind == "file" and o.id}
        went = [self.state.objects.get(str(key)) for key in post.extra.get("files", [])]
        went += [by_id.get(str(file_id)) for file_id in post.extra.get("file_ids", [])]
        for attached in went:
            if attached is not None and attached.removed is None:
                attached.removed = "with-post"
                self.ledger.removed(attached.key, "with-post")

    def retire_files(self) -> None:
        """Attach every unattached file to a throw-away post, which the sweep then deletes.

        No API deletes a file, but deleting a post deletes its files' infos (`app/post.go
        DeletePost` → `deletePostFiles` → `FileInfo().DeleteForPost`), after which the file is
        404 to everyone. Only a file's creator can attach it (`app/file.go attachFilesToPost`
        skips files of another user, and files of another channel), so cleanup acts as each
        creator the ledger owns: an admin sets a fresh password (`PUT /users/{id}/password`,
        `api4/user.go updatePassword`), logs in, posts, and logs that session out again.
        """
        users = {o.id: o for o in self.state.objects.values() if o.kind == "user" and o.id}
        channels = {o.id: o for o in self.state.objects.values() if o.kind == "channel" and o.id}
        groups: dict[tuple[str, str], list[LedgerObject]] = {}
        infos = self._file_infos()
        for obj in self.state.pending_objects():
            if obj.kind != "file" or obj.id is None:
                continue
            try:
                info = _outcome(infos[obj.key])
            except ApiError as exc:
                self.report.left.append(f"file {obj.name}: {exc.reason}")
                obj.removed = "left"
                continue
            if info is None:
                obj.removed = "already-gone"
                self.ledger.removed(obj.key, "already-gone")
                continue
            if info.get("post_id"):
                continue  # attached: it goes with its post
            if info.get("user_id") == BOOKMARK_OWNER:
                # Upstream only a channel bookmark can take such a file (DeleteChannelBookmark
                # deletes its FileInfo), which this cleanup does not do yet: said, not hidden.
                obj.removed = "bookmark"
                self.ledger.removed(obj.key, "bookmark")  # counted from the ledger below
                continue
            groups.setdefault((str(info.get("user_id", "")), str(info.get("channel_id", ""))), [])
            groups[(str(info.get("user_id", "")), str(info.get("channel_id", "")))].append(obj)
        by_user: dict[str, list[tuple[LedgerObject, list[LedgerObject]]]] = {}
        for (user_id, channel_id), files in groups.items():
            channel = channels.get(channel_id)
            if channel is None or (user_id != self.admin.user_id and user_id not in users):
                for obj in files:  # never act as, or post into, anything the run did not make
                    self.report.left.append(
                        f"file {obj.name} ({obj.id}): created by {user_id or '?'} in channel "
                        f"{channel_id or '?'}, not both the run's; not attached"
                    )
                    obj.removed = "left"
                continue
            by_user.setdefault(user_id, []).append((channel, files))
        # One creator's files in one session (a fresh password each login, so one user's logins
        # must not overlap); the creators are independent of one another, so they go side by
        # side (--concurrency), and so do one creator's throw-away posts (different files).
        side_by_side(lambda pair: self._retire_as(pair[0], pair[1], users), list(by_user.items()))

    def _retire_as(
        self,
        user_id: str,
        posts: list[tuple[LedgerObject, list[LedgerObject]]],
        users: dict[str, LedgerObject],
    ) -> None:
        """As the files' creator: a throw-away post per channel and five files, then log out."""
        try:
            actor, logged_in = self._as_user(user_id, users)
        except ApiError as exc:
            for _channel, files in posts:
                for obj in files:
                    self.report.left.append(f"file {obj.name}: {exc.reason}")
                    obj.removed = "left"
            return
        batches = [
            (channel, files[start : start + 5])
            for channel, files in posts
            for start in range(0, len(files), 5)
        ]
        try:
            answers = side_by_side(lambda b: self._throwaway_post(actor, *b), batches)
            for (_channel, files), answer in zip(batches, answers, strict=True):
                if isinstance(answer, ApiError):
                    for obj in files:
                        if obj.removed is None:
                            self.report.left.append(f"file {obj.name}: {answer.reason}")
        finally:
            if logged_in:
                self.logout(actor)

    def _file_infos(self) -> dict[str, dict[str, Any] | ApiError | None]:
        """Every pending file's info (or the error), read side by side: ledger key → answer."""
        files = [o for o in self.state.pending_objects() if o.kind == "file" and o.id]
        answers = side_by_side(lambda o: self._file_info(str(o.id)), files)
        return {o.key: a for o, a in zip(files, answers, strict=True)}

    def _file_info(self, file_id: str) -> dict[str, Any] | None:
        response = self.t.request("GET", f"{API}/files/{file_id}/info", actor=self.admin)
        if response.status_code == 404 and error_id_of(response) != NO_ROUTE:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            raise ApiError("GET", f"/files/{file_id}/info", response.status_code, "", "")
        return body

    def _as_user(self, user_id: str, users: dict[str, LedgerObject]) -> tuple[Actor, bool]:
        if user_id == self.admin.user_id:
            return self.admin, False
        password = "Mmc-" + secrets.token_urlsafe(18) + "9!"
        self.t.secrets.add(password)
        self.t.api("PUT", f"/users/{user_id}/password", self.admin, json={"new_password": password})
        user = users[user_id]
        response = self.t.request(
            "POST", API + "/users/login", json={"login_id": user.name, "password": password}
        )
        token = response.headers.get("token", "")
        if response.status_code != 200 or not token:
            raise ApiError("POST", "/users/login", response.status_code, error_id_of(response), "")
        self.t.secrets.add(token)
        return Actor(name=user.name, token=token, user_id=user_id), True

    def _throwaway_post(
        self, actor: Actor, channel: LedgerObject, files: list[LedgerObject]
    ) -> None:
        message = f"mmconform cleanup: {len(files)} file(s) to delete"
        key = self.ledger.intent("post", message, parent=channel.key, files=[o.key for o in files])
        body = self.t.api(
            "POST",
            "/posts",
            actor,
            json={"channel_id": channel.id, "message": message, "file_ids": [o.id for o in files]},
        )
        post = LedgerObject(
            key=key, kind="post", name=message, parent=channel.key, id=str(body["id"])
        )
        post.extra["files"] = [o.key for o in files]
        self.ledger.created(key, str(body["id"]))
        self.state.objects[key] = post

    def logout(self, actor: Actor) -> None:
        """POST /api/v4/users/logout revokes the session of the token it is sent with."""
        try:
            self.t.api("POST", "/users/logout", actor)
        except ApiError as exc:
            self.report.left.append(f"session of {actor.name}: logout {exc.reason}")

    def settle_files(self) -> None:
        """What the sweep did not take: gone (404) after all, or truly left."""
        infos = self._file_infos()
        for obj in self.state.pending_objects():
            if obj.kind != "file":
                continue
            if obj.id is None:
                # The crash came between the upload and its answer; no API finds a file by
                # name, so it may exist (it is unattached and its channel goes below).
                self.report.left.append(f"file {obj.name}: the upload's answer was never recorded")
                continue
            try:
                info = _outcome(infos[obj.key])
            except ApiError as exc:
                self.report.left.append(f"file {obj.name}: {exc.reason}")
                continue
            if info is None:
                obj.removed = "with-post"
                self.ledger.removed(obj.key, "with-post")
            else:
                self.report.left.append(f"file {obj.name}: still readable ({obj.id})")

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
    # The run's own config changes first: a crash inside a row can leave, say, attachments
    # off, and then not even the admin may read a file's info to retire it.
    cleaner.config()
    made = []
    if allow_config_changes and containers:
        # Permanent deletion through the API is off by default; switch it on for the sweep.
        made = apply_settings(target, admin, writer, _PERMANENT_DELETION)
    try:
        cleaner.retire_files()
        cleaner.objects()
        cleaner.settle_files()
    finally:
        restore_settings(target, admin, writer, made)
    cleaner.licence(licence_bytes)
    cleaner.report.kept = [
        f"direct channel {o.name}: the API cannot delete a direct channel (both members are "
        "the run's users, deactivated)"
        if o.extra.get("type") == "D"
        else f"group channel {o.name}: the API cannot delete a group channel (its members are "
        "the run's users, deactivated)"
        for o in state.objects.values()
        if o.kind == "channel" and o.extra.get("type") in ("D", "G") and o.id is not None
    ]
    cleaner.report.bookmark_files = [
        f"file {o.name} ({o.id})" for o in state.objects.values() if o.removed == "bookmark"
    ]
    return cleaner.report
