"""Execute one permission-matrix row against a world.

A row becomes one HTTP request sent as one actor. The verdict looks at the status, the error id,
the AppError shape of API errors, and for successes the body (exact bytes, FileInfo fields).
A failure is a `ConformanceFailure` whose message names the actor, the request, expected versus
actual, and a curl line with the token replaced by a shell variable.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from mmconform.live_target.client import API, Actor, ApiError
from mmconform.live_target.gate import Gate, NotApplicable
from mmconform.live_target.media import png
from mmconform.live_target.ranges import RANGES
from mmconform.live_target.settings import SANITISED, apply_settings, restore_settings
from mmconform.live_target.tamper import STATES as TAMPERED
from mmconform.live_target.tamper import CannotTamper, tampered
from mmconform.live_target.verdict import ConformanceFailure, Verdict
from mmconform.live_target.world import StoredFile, World
from mmconform.matrix import RESTRICTABLE, SHAPE_UPLOAD_STATES, Row
from mmconform.versions import VersionRange

JUNK_ID = "junk"
BOGUS_HASH = "A" * 43
NEAR_HASHES = ("other_file_hash", "truncated_hash", "case_changed_hash")
SEAT_STATES = ("at_seat_limit", "over_seat_limit")
# The trial guard's licences (api4/license.go addLicense) and the trial state each needs declared
# (--mm-trial-state): a trial cannot be undone, so these run only where the caller set it up.
TRIAL_STATES = {
    "trial_after_trial": "had-trial",
    "sanctioned_after_trial": "had-trial",
    "trial_team_edition": "team-edition",
}
_TRIAL_MS = (30 * 24 + 8) * 3_600_000  # model/license.go trialDuration: 30 days 8 hours
_DAY_MS = 86_400_000
NEEDS_RESTRICTED = (
    "needs a target started with ExperimentalSettings.RestrictSystemAdmin=true (config file only)"
)
RESTRICTED = "the target restricts system admins (ExperimentalSettings.RestrictSystemAdmin=true)"
# What each matrix `config` name means on the target.
_CONFIG_SETTINGS: dict[str, dict[str, Any]] = {
    "public_links_off": {"FileSettings.EnablePublicLink": False},
    "attachments_off": {"FileSettings.EnableFileAttachments": False},
    "small_max_file_size": {"FileSettings.MaxFileSize": 1024},
    "small_max_image_resolution": {"FileSettings.MaxImageResolution": 90_000},
    "compliance_on": {"ComplianceSettings.Enable": True},
}


# Upload states whose bodies are written byte for byte (exact part headers and order).
_EXACT_UPLOADS = frozenset(
    {
        "empty_filename",
        "encoded_filename",
        "nameless_part",
        "client_ids_after_file",
        "two_channel_ids",
        "no_file_part",
        "long_form_value",
        "legacy_too_large",
    }
)
# Upload states of every request shape (issue 12), built by RowRunner.build_shape_upload.
SHAPE_UPLOADS = frozenset(SHAPE_UPLOAD_STATES)
# api/v4/source/files.yaml UploadFile: bookmark=true is read from 9.3 (api4/file.go isBookmark).
BOOKMARK_SINCE = VersionRange.parse(">=9.3", "live_target/rows.py")
_BOUNDARY = "mmconformExactB0undary"
FORM_VALUE_CAP = 10240  # api4/file.go maxMultipartFormDataBytes (io.CopyN)


def _form_field(name: str, value: str) -> tuple[str, bytes]:
    return f'form-data; name="{name}"', value.encode()


def _file_part(filename: str, data: bytes) -> tuple[str, bytes]:
    return f'form-data; name="files"; filename="{filename}"', data


def exact_multipart(parts: list[tuple[str, bytes]]) -> bytes:
    """(Content-Disposition, data) parts in order, exactly: no client library rewrites them."""
    out = b""
    for disposition, data in parts:
        out += f"--{_BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += data + b"\r\n"
    return out + f"--{_BOUNDARY}--\r\n".encode()


@dataclass
class Request:
    method: str
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    api: bool = True
    file: StoredFile | None = None
    sent_name: str | None = None
    sent_size: int | None = None
    post_files: list[str] | None = None
    client_ids: list[str] | None = None
    curl_extra: str = ""
    no_files: bool = False
    bookmark: bool = False  # sent with bookmark=true: the FileInfo's user_id is "bookmark"


def _ident(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(26))


class RowRunner:
    """Holds the world, the gate and what licence rows need; runs rows, several at once from
    different threads when they are started ahead (overlap.py)."""

    def __init__(
        self,
        world: World,
        gate: Gate,
        server_version: str | None,
        minter: Minter | None = None,
        trial_state: str | None = None,
    ) -> None:
        self.world = world
        self.gate = gate
        self.version = server_version
        self.minter = minter
        self.trial_state = trial_state
        self._local = threading.local()

    @property
    def rng(self) -> random.Random:
        """The running row's own generator (seeded by prefix and row id, set in `run`): names
        and ids do not depend on which rows ran before or beside it (overlap.py)."""
        rng = getattr(self._local, "rng", None)
        if rng is None:
            rng = self._local.rng = random.Random(self.world.prefix)
        assert isinstance(rng, random.Random)
        return rng

    @property
    def seats_used(self) -> int:
        """The count the running row's seat-limit licence was minted for (per thread)."""
        return int(getattr(self._local, "seats_used", 0))

    @seats_used.setter
    def seats_used(self, value: int) -> None:
        self._local.seats_used = value

    # --- preconditions -------------------------------------------------------------------------
    def actor(self, row: Row) -> Actor:
        actor = self.world.actor(row.actor)
        if actor is None:
            reason = self.world.unavailable.get(row.actor, "not provisioned")
            raise NotApplicable(f"actor {row.actor} unavailable: {reason}")
        return actor

    def check_restriction(self, row: Row) -> None:
        """A system admin's licence rows hold on one side of RestrictSystemAdmin only; the run
        cannot flip it (config file only), so each side is N/A on a target of the other side."""
        if row.actor != "system_admin" or row.operation not in RESTRICTABLE:
            return
        restricted = self.gate.restricts_admin()
        if row.config == "restricted_admin":
            if restricted is None:
                raise NotApplicable(f"{NEEDS_RESTRICTED}; GET /config does not show that setting")
            if not restricted:
                raise NotApplicable(NEEDS_RESTRICTED)
        elif restricted:
            raise NotApplicable(RESTRICTED)

    @contextmanager
    def restricted_licence(self, row: Row) -> Iterator[None]:
        """The licence state a restricted row needs must already hold: its admin cannot change
        it. Only a server ignoring the restriction changes it, and then the gate restores it."""
        refused = row.requirements if row.expect >= 400 else ()
        if row.operation != "RemoveLicenseFile":
            with self.gate.licence_change(row.operation, restore_needed=False, refused=refused):
                yield
            return
        with self.gate.licence_change(row.operation, restore_needed=False, refused=refused):
            licensed = self.gate.is_licensed()
            if licensed != (row.state == "installed"):
                raise NotApplicable(
                    f"the target is {'' if licensed else 'not '}licensed and its restricted "
                    "admin cannot change that"
                )
            yield

    def wanted_settings(self, row: Row) -> dict[str, Any]:
        wanted: dict[str, Any] = {}
        if row.operation in ("GetFileLink", "GetFilePublic"):
            wanted["FileSettings.EnablePublicLink"] = True
        if row.operation == "UploadFile":
            wanted["FileSettings.EnableFileAttachments"] = True
        wanted.update(_CONFIG_SETTINGS.get(row.config, {}))
        return wanted

    @contextmanager
    def conditions(self, row: Row) -> Iterator[None]:
        admin_licence = row.actor == "system_admin" and row.state in (
            "expired",
            "valid",
            "too_few_users",
            "sanctioned_trial",
            "stray_bytes",
            "extra_users_only",
            "bad_record_id",
            *TAMPERED,
            *SEAT_STATES,
            *TRIAL_STATES,
        )
        # A request expected to be refused must leave the licence as it was (gate.licence_change),
        # except where the real server itself drops it (the row says `leaves_unlicensed`).
        refused = row.requirements if row.expect >= 400 and not row.leaves_unlicensed else ()
        if row.config == "restricted_admin":
            with self.restricted_licence(row):
                yield
        elif row.operation == "RemoveLicenseFile" or admin_licence:
            with self.gate.licence_change(row.operation, refused=refused):
                if row.state == "not_installed" and self.gate.is_licensed():
                    # Removing a licence when none is loaded is a no-op upstream, still 200.
                    self.world.target.api("DELETE", "/license", self.world.admin)
                yield
        elif row.operation == "UploadLicenseFile":  # any actor: it could install a licence
            with self.gate.licence_change(row.operation, restore_needed=False, refused=refused):
                yield
        elif row.config == "salt_changed":
            with self.gate.exclusive():
                yield
        else:
            with self.gate.settings(self.wanted_settings(row)):
                yield

    # --- building requests -----------------------------------------------------------------------
    def stored(self, row: Row) -> StoredFile:
        return self.world.files[(row.channel, row.state)]

    def file_id(self, row: Row) -> tuple[str, StoredFile | None]:
        if row.state == "missing":
            return _ident(self.rng), None
        if row.state == "junk":
            return JUNK_ID, None
        stored = self.stored(row)
        return stored.id, stored

    def public_link(self, file_id: str) -> str:
        """The file's link hash as the uploader gets it: a member of every world channel, so
        public-route rows do not lean on the system admin's bypass (FILES-READ-007)."""
        uploader = self.world.actors["uploader"]
        body = self.world.target.api("GET", f"/files/{file_id}/link", uploader)
        link = str(body["link"])
        query = parse_qs(urlsplit(link).query)
        digest = query.get("h", [""])[0]
        self.world.target.secrets.add(digest)
        return digest

    def build(self, row: Row) -> Request:
        op = row.operation
        if op in ("GetFile", "GetFileInfo", "GetFileLink"):
            fid, stored = self.file_id(row)
            suffix = {"GetFile": "", "GetFileInfo": "/info", "GetFileLink": "/link"}[op]
            params = {"download": "true"} if row.variant == "download" else {}
            kwargs: dict[str, Any] = {"params": params}
            if op == "GetFile" and row.variant in RANGES:
                kwargs["headers"] = {"Range": RANGES[row.variant]}
            return Request(
                "HEAD" if row.variant == "head" else "GET",
                f"{API}/files/{fid}{suffix}",
                kwargs,
                file=stored,
                curl_extra=f"-H 'Range: {RANGES[row.variant]}'" if row.variant in RANGES else "",
            )
        if op == "GetFilePublic":
            return self.build_public(row)
        if op == "GetFileInfosForPost":
            return self.build_post_infos(row)
        if op == "UploadFile":
            return self.build_upload(row)
        if op == "UploadLicenseFile":
            return self.build_licence(row)
        return Request("DELETE", f"{API}/license")

    def build_public(self, row: Row) -> Request:
        fid, stored = self.file_id(row)
        variant = row.variant or ""
        method = "HEAD" if variant.startswith("head") else "GET"
        digest = BOGUS_HASH
        if (
            row.state == "attached"
            and row.config == "default"
            and variant not in ("bad_hash", "head_bad_hash")
        ):
            digest = self.near_hash(row, fid) if variant in NEAR_HASHES else self.public_link(fid)
        params = {} if variant in ("no_hash", "head_no_hash") else {"h": digest}
        return Request(method, f"/files/{fid}/public", {"params": params}, api=False, file=stored)

    def near_hash(self, row: Row, file_id: str) -> str:
        """A hash a byte-exact compare of this file's hash refuses, but a sloppy one may not:
        another attached file's genuine hash, this one's without its last character, or with
        its letters' case swapped (`getPublicFile`: subtle.ConstantTimeCompare)."""
        if row.variant == "other_file_hash":
            others = [
                f.id
                for (channel, state), f in sorted(self.world.files.items())
                if state == "attached" and channel != row.channel
            ]
            if not others:
                raise NotApplicable("needs a second attached file in another channel")
            return self.public_link(others[0])
        digest = self.public_link(file_id)
        near = digest[:-1] if row.variant == "truncated_hash" else digest.swapcase()
        if near == digest:
            raise NotApplicable("the file's hash has no letters whose case could change")
        self.world.target.secrets.add(near)  # as much a secret as the hash it comes from
        return near

    def build_post_infos(self, row: Row) -> Request:
        if row.state == "missing":
            post_id, files = _ident(self.rng), None
        elif row.state == "junk":
            post_id, files = JUNK_ID, None
        else:
            post_id = self.world.posts[(row.channel, row.state)]
            files = self.world.post_files[post_id]
        params = {"include_deleted": "true"} if row.variant == "include_deleted" else {}
        return Request(
            "GET", f"{API}/posts/{post_id}/files/info", {"params": params}, post_files=files
        )

    def build_upload(self, row: Row) -> Request:
        if row.state in SHAPE_UPLOADS:
            return self.build_shape_upload(row)
        if row.state == "missing_channel":
            channel_id = _ident(self.rng)
        elif row.state == "junk_channel":
            channel_id = JUNK_ID
        else:
            channel_id = self.world.channels[row.channel]
        name = f"{self.world.prefix}-up-{self.rng.randrange(10**8):08d}.txt"
        size = 4096 if row.state in ("too_large", "chunked_too_large", "raw_too_large") else 256
        if row.state in ("at_max_size", "raw_at_max_size"):  # exactly small_max_file_size
            size = _CONFIG_SETTINGS["small_max_file_size"]["FileSettings.MaxFileSize"]
        content = self.rng.randbytes(size // 2).hex().encode()
        if row.state == "too_large_image":  # 400 x 400 = 160000 pixels > 90000
            name, content = name.replace(".txt", ".png"), png(400, 400)
        if row.state in ("chunked", "chunked_too_large"):
            # An iterator makes httpx send Transfer-Encoding: chunked, no Content-Length.
            return Request(
                "POST",
                f"{API}/files",
                {
                    "params": {"channel_id": channel_id, "filename": name},
                    "content": iter([content[: len(content) // 2], content[len(content) // 2 :]]),
                    "headers": {"Content-Type": "text/plain"},
                },
                sent_name=name,
                sent_size=len(content),
                curl_extra="-H 'Transfer-Encoding: chunked' --data-binary @FILE",
            )
        if row.state in _EXACT_UPLOADS:
            return self.build_exact_upload(row, channel_id, name, content)
        if row.state in ("urlencoded_body", "urlencoded_bad_escape"):
            # ParseForm reads a urlencoded POST body, so the file stored is empty (D13).
            client_id = f"{self.world.prefix}-cid"
            form = f"a=1&client_id={client_id}" if row.state == "urlencoded_body" else "a=%zz"
            return Request(
                "POST",
                f"{API}/files",
                {
                    "params": {"channel_id": channel_id, "filename": name},
                    "content": form.encode(),
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                },
                sent_name=name,
                sent_size=0,
                client_ids=[client_id],
                curl_extra=f"--data-binary '{form}'",
            )
        if row.state in ("raw_body", "empty_body", "raw_at_max_size", "raw_too_large"):
            body = b"" if row.state == "empty_body" else content
            return Request(
                "POST",
                f"{API}/files",
                {
                    "params": {"channel_id": channel_id, "filename": name},
                    "content": body,
                    "headers": {"Content-Type": "text/plain"},
                },
                sent_name=name,
                sent_size=len(body),
                curl_extra="--data-binary @FILE",
            )
        parts: list[tuple[str, tuple[str | None, bytes | str, str | None]]] = [
            ("channel_id", (None, channel_id, None))
        ]
        count = 1
        client_ids: list[str] | None = None
        if row.state == "too_few_client_ids":
            parts += [("client_ids", (None, "1", None)), ("client_ids", (None, "2", None))]
            count = 3
        elif row.state == "client_ids":
            client_ids = [f"{self.world.prefix}-c{i}" for i in range(2)]
            parts += [("client_ids", (None, c, None)) for c in client_ids]
            count = 2
        for i in range(count):
            parts.append(("files", (name if i == 0 else f"{i}-{name}", content, "text/plain")))
        return Request(
            "POST",
            f"{API}/files",
            {"files": parts},
            sent_name=name,
            sent_size=len(content),
            client_ids=client_ids,
            curl_extra=f"-F channel_id={channel_id} -F files=@FILE",
        )

    def build_exact_upload(self, row: Row, channel_id: str, name: str, content: bytes) -> Request:
        """Bodies whose meaning is decided by Go's mime/multipart (issue 11, D5-D12)."""
        channel = _form_field("channel_id", channel_id)
        sent_name: str | None = name
        client_ids: list[str] | None = None
        state = row.state
        if state == "empty_filename":
            parts, sent_name = [channel, _file_part("", content)], None
        elif state == "encoded_filename":
            sent_name = f"{self.world.prefix}-na\u00efve {self.rng.randrange(10**8):08d}.txt"
            encoded = quote(sent_name, safe="")
            parts = [channel, (f"form-data; name=\"files\"; filename*=UTF-8''{encoded}", content)]
        elif state == "nameless_part":
            parts = [
                channel,
                ('form-data; filename="nameless.txt"', b"x"),
                _file_part(name, content),
            ]
        elif state == "client_ids_after_file":
            parts = [channel, _file_part(name, content), _form_field("client_ids", "c1")]
        elif state == "two_channel_ids":
            parts = [
                channel,
                _form_field("channel_id", _ident(self.rng)),
                _file_part(name, content),
            ]
        elif state == "no_file_part":
            parts, sent_name = [channel], None
        elif state == "long_form_value":
            value = f"{self.world.prefix}-" + "c" * 2 * FORM_VALUE_CAP
            client_ids = [value[:FORM_VALUE_CAP]]
            parts = [channel, _form_field("client_ids", value), _file_part(name, content)]
        else:  # legacy_too_large: the file before channel_id, larger than MaxFileSize + 512
            content = b"x" * 5000
            parts = [_file_part(name, content), channel]
        return Request(
            "POST",
            f"{API}/files",
            {
                "content": exact_multipart(parts),
                "headers": {"Content-Type": f"multipart/form-data; boundary={_BOUNDARY}"},
            },
            sent_name=sent_name,
            sent_size=len(content),
            client_ids=client_ids,
            no_files=state == "no_file_part",
            curl_extra=f"-H 'Content-Type: multipart/form-data; boundary={_BOUNDARY}' "
            "--data-binary @BODY",
        )

    def shape_channel(self, row: Row) -> str:
        """The channel id a shape row sends: the row's channel, or for the channel-error states
        an unknown well-formed id (missing), a malformed one (junk) or none at all."""
        state = row.state
        if state.endswith("_missing_channel"):
            return _ident(self.rng)
        if state.endswith("_junk_channel"):
            return JUNK_ID
        if state.endswith("_no_channel"):
            return ""
        return self.world.channels[row.channel]

    def build_shape_upload(self, row: Row) -> Request:
        """Every request shape of `uploadFileStream` (issue 12; requirements-shapes.yaml): the
        raw body (`uploadFileSimple`, channel and filename in the query), the legacy layout (a
        file part before any channel id: `uploadFileMultipartLegacy`), a query channel id that
        the form contradicts, and `bookmark=true` in each mode."""
        state = row.state
        honoured = self.version is None or BOOKMARK_SINCE.contains(self.version)
        bookmark = "bookmark" in state and honoured
        if bookmark and row.expect < 300 and not self.gate.perms.disposable:
            raise NotApplicable(
                "needs a throw-away target: a bookmark upload belongs to no user, and only a "
                "channel bookmark (which mmconform does not create) can delete it"
            )
        channel_id = self.shape_channel(row)
        name = f"{self.world.prefix}-up-{self.rng.randrange(10**8):08d}.txt"
        content = self.rng.randbytes(128).hex().encode()
        params: dict[str, str] = {}
        client_ids: list[str] | None = None
        if state.startswith("raw_"):
            params = {"channel_id": channel_id, "filename": name}
            if state == "raw_no_channel":
                del params["channel_id"]
            if state == "raw_no_filename":
                del params["filename"]
            if state == "raw_client_id":  # uploadFileSimple: r.Form.Get("client_id")
                client_ids = [f"{self.world.prefix}-cid"]
                params["client_id"] = client_ids[0]
            if state == "raw_bookmark":
                params["bookmark"] = "true"
            return Request(
                "POST",
                f"{API}/files",
                {"params": params, "content": content, "headers": {"Content-Type": "text/plain"}},
                sent_name=name if "filename" in params else None,
                sent_size=len(content),
                client_ids=client_ids,
                bookmark=bookmark,
                curl_extra="--data-binary @FILE",
            )
        channel = _form_field("channel_id", channel_id)
        file_part = _file_part(name, content)
        if state == "query_form_conflict":
            # The query names the row's channel, the form another world channel: neither wins,
            # the form's differing value is 400 multiple_channel_ids (D8).
            other = "private" if row.channel == "public" else "public"
            params = {"channel_id": channel_id}
            parts = [_form_field("channel_id", self.world.channels[other]), file_part]
        elif state == "bookmark":  # streaming: channel_id first
            params = {"bookmark": "true"}
            parts = [channel, file_part]
        elif state == "legacy_no_channel":
            parts = [file_part]
        elif state == "legacy_client_ids_mismatch":  # ReadForm: 2 client ids, 1 file
            parts = [
                file_part,
                channel,
                _form_field("client_ids", "c1"),
                _form_field("client_ids", "c2"),
            ]
        else:  # legacy_order, legacy_bookmark, legacy_junk_channel, legacy_missing_channel
            if state == "legacy_bookmark":
                params = {"bookmark": "true"}
            parts = [file_part, channel]
        return Request(
            "POST",
            f"{API}/files",
            {
                "params": params,
                "content": exact_multipart(parts),
                "headers": {"Content-Type": f"multipart/form-data; boundary={_BOUNDARY}"},
            },
            sent_name=name,
            sent_size=len(content),
            bookmark=bookmark,
            curl_extra=f"-H 'Content-Type: multipart/form-data; boundary={_BOUNDARY}' "
            "--data-binary @BODY",
        )

    def mint(
        self,
        *,
        users: int,
        expires_at_ms: int,
        is_trial: bool = False,
        overrides: dict[str, Any] | None = None,
    ) -> bytes:
        if self.minter is None:
            raise NotApplicable(
                "needs a licence signing key the target trusts (only the embedded server has one)"
            )
        return self.minter(users, expires_at_ms, is_trial, overrides)

    def trial_licence(self, state: str, now: int) -> bytes:
        """A trial-length licence (IsTrial, exactly 30d8h: IsTrialLicense and not
        IsSanctionedTrial), or for `sanctioned_after_trial` a 29d8h trial (sanctioned), minted
        only for a target whose trial state the caller declared: the suite never starts a trial
        on a target it knows nothing of (docs/facts/trial-guard.md)."""
        wanted = TRIAL_STATES[state]
        if self.trial_state != wanted:
            declared = self.trial_state or "undeclared"
            raise NotApplicable(
                f"needs a target whose trial state is {wanted} (--mm-trial-state; this one's is "
                f"{declared}): a trial licence cannot be undone on a real server"
            )
        length = _TRIAL_MS if state != "sanctioned_after_trial" else 29 * _DAY_MS + 8 * 3_600_000
        return self.mint(
            users=10_000,
            expires_at_ms=now + length,
            is_trial=True,
            overrides={"starts_at": now, "expires_at": now + length},
        )

    def seat_count(self) -> int:
        """The count SaveLicense compares with features.users: `User().Count` with zero options
        (no deleted users, no bots), which `GET /users/stats/filtered` without parameters
        answers; `/users/stats` is not it (newer servers count bots there)."""
        try:
            body = self.world.target.api("GET", "/users/stats/filtered", self.world.admin)
        except ApiError as exc:
            raise NotApplicable(f"the registered-user count is unknown: {exc.reason}") from None
        count = body.get("total_users_count") if isinstance(body, dict) else None
        if not isinstance(count, int) or count < 2:
            raise NotApplicable(f"the registered-user count is unusable: {count!r}")
        return count

    def genuine_licence(self) -> bytes:
        """The licence the target accepts: the user's --license-file (the embedded run's own)."""
        if self.gate.perms.license_bytes is None:
            raise NotApplicable("needs --allow-license-changes and --license-file")
        return self.gate.perms.license_bytes

    def build_licence(self, row: Row) -> Request:
        now = int(time.time() * 1000)
        field_name = "license"
        if row.state == "garbage":
            data = b"this is not a Mattermost licence"
        elif row.state == "no_file":
            data, field_name = b"no licence part", "file"
        elif row.state == "expired":
            data = self.mint(users=10_000, expires_at_ms=now - _DAY_MS)
        elif row.state == "too_few_users":
            data = self.mint(users=1, expires_at_ms=now + 30 * _DAY_MS)
        elif row.state == "sanctioned_trial":  # 29 days 8 hours: not a self-serve trial length
            data = self.mint(
                users=10_000, expires_at_ms=now + 29 * _DAY_MS + 8 * 3_600_000, is_trial=True
            )
        elif row.state in TRIAL_STATES:
            data = self.trial_licence(row.state, now)
        elif row.state == "stray_bytes":  # base64.StdEncoding skips only CR and LF (D23)
            good = self.genuine_licence()
            data = good[: len(good) // 2] + b" * " + good[len(good) // 2 :]
        elif row.state in SEAT_STATES:  # features.users at the registered count, or one below
            self.seats_used = self.seat_count()
            seats = self.seats_used - (1 if row.state == "over_seat_limit" else 0)
            data = self.mint(users=seats, expires_at_ms=now + 30 * _DAY_MS)
        elif row.state in TAMPERED:  # the genuine licence with one thing broken (issue 12)
            try:
                data = tampered(row.state, self.genuine_licence())
            except CannotTamper as exc:
                raise NotApplicable(str(exc)) from None
        elif row.state == "extra_users_only":  # the seat check reads features.users only (D25)
            data = self.mint(
                users=1, expires_at_ms=now + 30 * _DAY_MS, overrides={"extra_users": 1_000_000}
            )
        elif row.state == "bad_record_id":  # LicenseRecord.IsValid wants a 26-char id (D24)
            data = self.mint(
                users=10_000, expires_at_ms=now + 30 * _DAY_MS, overrides={"id": "not-an-id"}
            )
        else:
            data = self.genuine_licence()
        return Request(
            "POST",
            f"{API}/license",
            {"files": {field_name: ("mmconform.mattermost-license", data)}},
            curl_extra=f"-F {field_name}=@LICENSE_FILE",
        )

    # --- running ---------------------------------------------------------------------------------
    def run(self, row: Row) -> None:
        self._local.rng = random.Random(f"{self.world.prefix}:{row.id}")
        if row.unknown_at(self.version):
            raise NotApplicable(
                f"what a server of version {self.version} does here is unknown: "
                f"{row.unknown_reason}"
            )
        if not row.applies_to(self.version):
            assert row.versions is not None
            raise NotApplicable(f"server version {self.version} is outside {row.versions.text}")
        actor = self.actor(row)
        self.check_restriction(row)
        with self.conditions(row):
            if row.config == "salt_changed":
                self.run_salt_change(row, actor)
                return
            request = self.build(row)
            upload_key = None
            if request.method == "POST" and request.path == f"{API}/files":
                upload_key = self.world.ledger.intent(
                    "file", request.sent_name or "?", parent=self.world.keys.get(row.channel)
                )
            if row.variant in ("stale_etag", "reader_etag"):
                request.kwargs["headers"] = {"If-None-Match": self.post_etag(row, request)}
            response = self.send(request, actor)
            for _ in range(3):  # other workers may register users meanwhile: count again
                if row.state not in SEAT_STATES or self.seat_count() == self.seats_used:
                    break
                request = self.build(row)
                response = self.send(request, actor)
            if upload_key is not None:
                self.record_upload(upload_key, response)
            if row.variant == "etag" and response.status_code == 200:
                etag = response.headers.get("etag", "")
                request.kwargs["headers"] = {"If-None-Match": etag}
                response = self.send(request, actor)
            Verdict(self, row, request, actor, response).check()

    def post_etag(self, row: Row, request: Request) -> str:
        """The post's current ETag as its reader (the uploader) gets it; for `stale_etag` one the
        post had before: `Etag(post_id, maxUpdateAt)` with an older update_at."""
        reader = self.world.actors["uploader"]
        first = self.send(request, reader)
        etag = str(first.headers.get("etag", ""))
        if first.status_code != 200 or not etag:
            raise NotApplicable(
                f"the uploader got {first.status_code} and no ETag for the post's file infos"
            )
        if row.variant == "reader_etag":
            return etag
        head, _, stamp = etag.rpartition(".")
        if not head or not stamp.isdigit():
            return f'"{etag}-stale"'
        return f"{head}.{int(stamp) - 1}"

    def run_salt_change(self, row: Row, actor: Actor) -> None:
        """Take a link, change the salt, expect the old link to be refused (400)."""
        if not self.gate.perms.disposable:
            raise NotApplicable(
                "needs a throw-away target: a changed PublicLinkSalt cannot be restored"
            )
        target, admin = self.world.target, self.world.admin
        with self.gate_settings_now({"FileSettings.EnablePublicLink": True}):
            fid, stored = self.file_id(row)
            digest = self.public_link(fid)
            # Throw-away targets only: the sanitised value a cleanup sends back keeps whatever
            # salt is current, and links are fetched fresh by every row, so nothing breaks.
            self.world.ledger.config_change("FileSettings.PublicLinkSalt", SANITISED)
            new_salt = "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(32))
            target.api(
                "PUT", "/config/patch", admin, json={"FileSettings": {"PublicLinkSalt": new_salt}}
            )
            request = Request(
                "GET", f"/files/{fid}/public", {"params": {"h": digest}}, api=False, file=stored
            )
            response = self.send(request, actor)
        Verdict(self, row, request, actor, response).check()

    @contextmanager
    def gate_settings_now(self, wanted: dict[str, Any]) -> Iterator[None]:
        """Inside an exclusive section: patch directly, restore after."""
        if wanted and not self.gate.perms.allow_config_changes:
            raise NotApplicable("needs --allow-config-changes")
        made = apply_settings(self.world.target, self.world.admin, self.world.ledger, wanted)
        try:
            yield
        finally:
            restore_settings(self.world.target, self.world.admin, self.world.ledger, made)

    def record_upload(self, key: str, response: httpx.Response) -> None:
        try:
            ids = [str(info["id"]) for info in response.json()["file_infos"]]
        except (ValueError, KeyError, TypeError):
            ids = []
        if not ids:
            self.world.ledger.removed(key, "never-created")
            return
        self.world.ledger.created(key, ids[0])
        for extra in ids[1:]:  # several files in one request: each its own entry
            self.world.ledger.created(self.world.ledger.intent("file", "(same upload)"), extra)

    def send(self, request: Request, actor: Actor) -> httpx.Response:
        return self.world.target.request(
            request.method, request.path, actor=actor, **request.kwargs
        )


Minter = Callable[[int, int, bool, dict[str, Any] | None], bytes]


def minter_from_key(path: Path | None) -> Minter | None:
    """A licence minter for the embedded server's signing key (None: no key, rows N/A)."""
    if path is None:
        return None
    pem = path.read_bytes()

    def mint(
        users: int, expires_at_ms: int, is_trial: bool, overrides: dict[str, Any] | None
    ) -> bytes:
        from mmconform.reference.licensing import mint_license

        text = mint_license(
            pem, users=users, expires_at_ms=expires_at_ms, is_trial=is_trial, extra=overrides
        )
        return text.encode()

    return mint


__all__ = ["ConformanceFailure", "Minter", "RowRunner", "minter_from_key"]
