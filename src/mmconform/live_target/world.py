"""Provision a world: teams, channels, a DM, one user per actor and files in every state.

Everything is named under a run prefix and recorded in the ledger before it is created. An actor
the target cannot provide (guests without a licence, roles it refuses) is not an error: the
target's answer is kept as the reason, and rows needing that actor become "not applicable".
"""

from __future__ import annotations

import hashlib
import random
import secrets
import string
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from mmconform.live_target.client import API, Actor, ApiError, Target
from mmconform.live_target.ledger import Ledger
from mmconform.traffic import IN_FLIGHT

# Short codes keep usernames within Mattermost's 22 characters.
_USER_CODES = {
    "uploader": "upl",
    "channel_member": "mem",
    "team_member_not_in_channel": "tmn",
    "other_team_user": "oth",
    "guest_in_channel": "gin",
    "guest_not_in_channel": "gout",
    "system_manager": "mgr",
    "system_read_only_admin": "roa",
    "deactivated_user": "dea",
    "gm_member": "gmm",
    "team_admin": "tad",
    "channel_admin": "cad",
}
CHANNEL_KINDS = ("public", "private", "dm", "gm")
FILE_STATES = ("unattached", "attached", "post_deleted")
POST_STATES = ("with_files", "no_files", "post_deleted")
_ROLES = {
    "system_manager": "system_user system_manager",
    "system_read_only_admin": "system_user system_read_only_admin",
}
T = TypeVar("T")
R = TypeVar("R")

# An invalid token of the right shape: 26 lowercase alphanumerics, never issued.
INVALID_TOKEN = "mmconforminvalidtoken00000"


def make_prefix(seed: int, salt: str) -> str:
    """`mmc` + 5 chars from seed and salt: lowercase, starts with a letter, unique per process."""
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    alphabet = string.ascii_lowercase + string.digits
    return "mmc" + "".join(alphabet[b % len(alphabet)] for b in digest[:5])


@dataclass
class StoredFile:
    id: str
    name: str
    content: bytes = field(repr=False)
    mime_type: str
    channel_kind: str
    channel_id: str
    uploader_id: str
    post_id: str | None = None


@dataclass
class World:
    prefix: str
    target: Target
    admin: Actor
    ledger: Ledger
    actors: dict[str, Actor] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    files: dict[tuple[str, str], StoredFile] = field(default_factory=dict)
    posts: dict[tuple[str, str], str] = field(default_factory=dict)
    post_files: dict[str, list[str]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def actor(self, name: str) -> Actor | None:
        """The actor, or None when the target could not provide it (see `unavailable`)."""
        return self.actors.get(name)


def _reason(exc: ApiError, user: Actor) -> str:
    """The target's answer, with the user id generic so reasons compare across runs."""
    return exc.reason.replace(str(user.user_id), "{user_id}")


@dataclass
class _Create:
    """One object to create: its ledger record (kind, name, parent, extra) and its request."""

    kind: str
    name: str
    method: str
    path: str
    actor: Actor
    parent: str | None
    label: str
    extra: dict[str, Any] | None
    request: dict[str, Any]


class _Builder:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.w = world
        self.t = world.target
        self.admin = world.admin
        self.rng = rng

    def create_many(
        self, specs: list[_Create], keys: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Create independent objects side by side: every ledger intent is recorded first, in
        the specs' order on this thread (so keys and the ledger's order do not depend on
        --concurrency, and an interrupted run leaves every object it may have made named), then
        the requests overlap; `created` follows each answer. `keys`: the intents, when the
        caller recorded them already."""
        keys = keys or [
            self.w.ledger.intent(s.kind, s.name, parent=s.parent, **(s.extra or {})) for s in specs
        ]

        def send(pair: tuple[_Create, str]) -> dict[str, Any]:
            spec, key = pair
            body = self.t.api(spec.method, spec.path, spec.actor, **spec.request)
            assert isinstance(body, dict)
            self.w.ledger.created(key, str(body["id"]))
            return body

        bodies = overlapping(send, list(zip(specs, keys, strict=True)))
        for spec, key in zip(specs, keys, strict=True):
            self.w.keys[spec.label] = key
        return bodies

    def teams(self) -> None:
        specs = []
        for label, suffix in (("team", "team"), ("other_team", "other")):
            name = f"{self.w.prefix}-{suffix}"
            body = {"name": name, "display_name": name, "type": "O"}
            specs.append(
                _Create(
                    "team", name, "POST", "/teams", self.admin, None, label, None, {"json": body}
                )
            )
        for spec, created in zip(specs, self.create_many(specs), strict=True):
            self.w.teams[spec.label] = str(created["id"])

    def channels(self) -> None:
        """The team's channels, created by the uploader (a plain team member), so the system
        admin is a member of none of them: its reads test the manage_system bypass
        (api4 TestGetFileAsSystemAdmin), not its own membership."""
        team_key = self.w.keys["team"]
        creator = self.w.actors["uploader"]
        specs = []
        for kind, ctype in (("public", "O"), ("private", "P")):
            name = f"{self.w.prefix}-{kind[:4]}"
            body = {
                "team_id": self.w.teams["team"],
                "name": name,
                "display_name": name,
                "type": ctype,
            }
            specs.append(
                _Create("channel", name, "POST", "/channels", creator, team_key, kind, None,
                        {"json": body})
            )  # fmt: skip
        for spec, created in zip(specs, self.create_many(specs), strict=True):
            self.w.channels[spec.label] = str(created["id"])

    def password(self) -> str:
        pw = "Mmc-" + "".join(self.rng.choices(string.ascii_letters + string.digits, k=20)) + "9!"
        self.t.secrets.add(pw)
        return pw

    def user(self, actor: str, password: str | None = None, key: str | None = None) -> Actor:
        """Create and log in one user; `key`: its ledger intent, when the caller recorded it
        already (users() records every user's intent before any is created)."""
        username = f"{self.w.prefix}-{_USER_CODES[actor]}"
        password = password or self.password()
        request = {"email": f"{username}@example.com", "username": username, "password": password}
        spec = _Create("user", username, "POST", "/users", self.admin, None, actor, None,
                       {"json": request})  # fmt: skip
        body = self.create_many([spec], [key] if key else None)[0]
        response = self.t.request(
            "POST", API + "/users/login", json={"login_id": username, "password": password}
        )
        token = response.headers.get("token", "")
        if response.status_code != 200 or not token:
            raise ApiError("POST", "/users/login", response.status_code, "", "no token")
        self.t.secrets.add(token)
        return Actor(name=actor, token=token, user_id=str(body["id"]), username=username)

    def join_team(self, team: str, user: Actor) -> None:
        team_id = self.w.teams[team]
        self.t.api(
            "POST",
            f"/teams/{team_id}/members",
            self.admin,
            json={"team_id": team_id, "user_id": user.user_id},
        )

    def join_channel(self, kind: str, user: Actor) -> None:
        self.t.api(
            "POST",
            f"/channels/{self.w.channels[kind]}/members",
            self.admin,
            json={"user_id": user.user_id},
        )

    def users(self) -> None:
        plan = {
            "uploader": ("team", ("public", "private")),
            "channel_member": ("team", ("public", "private")),
            "team_member_not_in_channel": ("team", ()),
            "other_team_user": ("other_team", ()),
            "guest_in_channel": ("team", ("public", "private")),
            "guest_not_in_channel": ("team", ()),
            "system_manager": (None, ()),
            "system_read_only_admin": (None, ()),
            "deactivated_user": ("team", ("public", "private")),
            # the group message's third member (with the uploader and the channel member)
            "gm_member": ("team", ()),
            # made team admin / channel admin of the private channel by scheme_roles()
            "team_admin": ("team", ()),
            "channel_admin": ("team", ("private",)),
        }
        # Drawn in plan order, so a seed gives the same passwords however the users overlap.
        passwords = {actor: self.password() for actor in plan}

        # Every user's intent first, in plan order, so keys do not depend on the overlap.
        keys = {
            actor: self.w.ledger.intent("user", f"{self.w.prefix}-{_USER_CODES[actor]}")
            for actor in plan
        }

        def one(actor: str) -> Actor:
            team, _ = plan[actor]
            user = self.user(actor, passwords[actor], keys[actor])
            if team is not None:
                self.join_team(team, user)
            return user

        # Each user's chain is independent of the others': they overlap (--concurrency).
        for actor, user in zip(plan, overlapping(one, list(plan)), strict=True):
            self.w.actors[actor] = user
        self.channels()  # by the uploader, now a team member
        joins = [
            (kind, self.w.actors[actor])
            for actor, (_, kinds) in plan.items()
            for kind in kinds
            if actor != "uploader"  # the creator is a member already
        ]
        overlapping(lambda join: self.join_channel(*join), joins)
        self.scheme_roles()
        self.special_actors()

    def scheme_roles(self) -> None:
        """team_admin: scheme admin of the team, a member of no channel (so its reads in the
        private channel, the DM and the GM meet the team and system checks, not a membership);
        channel_admin: scheme admin of the private channel. Through the scheme-role endpoints
        (api4/team.go updateTeamMemberSchemeRoles, api4/channel.go
        updateChannelMemberSchemeRoles); a refusal makes the actor unavailable with the
        target's answer. No new object: the memberships go with the run's team."""
        changes = {
            "team_admin": f"/teams/{self.w.teams['team']}/members/{{user_id}}/schemeRoles",
            "channel_admin": f"/channels/{self.w.channels['private']}/members/{{user_id}}"
            "/schemeRoles",
        }

        def change(actor: str) -> str | None:
            user = self.w.actors[actor]
            try:
                self.t.api(
                    "PUT",
                    changes[actor].format(user_id=user.user_id),
                    self.admin,
                    json={"scheme_admin": True, "scheme_user": True},
                )
            except ApiError as exc:
                return _reason(exc, user)
            return None

        # Two users, two memberships: side by side; refusals kept in the plan's order.
        for actor, reason in zip(changes, overlapping(change, list(changes)), strict=True):
            if reason is not None:
                self.w.unavailable[actor] = reason

    def special_actors(self) -> None:
        """Roles, demotions and the deactivation: five requests on five users, side by side;
        a refusal is kept in a fixed order (roles, then guests) whatever answered first."""
        changes: list[tuple[str, str, str, dict[str, Any] | None]] = [
            (actor, "PUT", "roles", {"roles": roles}) for actor, roles in _ROLES.items()
        ]
        changes += [
            (a, "POST", "demote", None) for a in ("guest_in_channel", "guest_not_in_channel")
        ]
        changes.append(("deactivated_user", "PUT", "active", {"active": False}))

        def change(item: tuple[str, str, str, dict[str, Any] | None]) -> str | None:
            actor, method, what, body = item
            user = self.w.actors[actor]
            path = f"/users/{user.user_id}/{what}"
            try:
                if body is None:
                    self.t.api(method, path, self.admin)
                else:
                    self.t.api(method, path, self.admin, json=body)
            except ApiError as exc:
                if actor == "deactivated_user":
                    raise
                return _reason(exc, user)
            return None

        for (actor, *_rest), reason in zip(changes, overlapping(change, changes), strict=True):
            if reason is not None:
                self.w.unavailable[actor] = reason
        for name in self.w.unavailable:
            self.w.actors.pop(name, None)
        self.w.actors["system_admin"] = self.admin
        self.w.actors["anonymous"] = Actor(name="anonymous")
        self.w.actors["invalid_token"] = Actor(name="invalid_token", token=INVALID_TOKEN)

    def conversations(self) -> None:
        """The DM (uploader and channel member) and the group message (with gm_member): a
        channel with no team each, so outsiders and the admin meet the system-level checks.
        Direct channels cannot be deleted; the ledger still lists them so cleanup reports them.
        Both intents first, then the two requests side by side."""
        up, mem = self.w.actors["uploader"], self.w.actors["channel_member"]
        members = [self.w.actors[a] for a in ("uploader", "channel_member", "gm_member")]
        plan = [
            ("dm", "D", "/channels/direct", [up, mem]),
            ("gm", "G", "/channels/group", members),
        ]
        specs = [
            _Create("channel", f"{self.w.prefix}-{label}", "POST", path, who[0], None, label,
                    {"type": ctype, "members": [m.username for m in who]},
                    {"json": [m.user_id for m in who]})
            for label, ctype, path, who in plan
        ]  # fmt: skip
        for spec, created in zip(specs, self.create_many(specs), strict=True):
            self.w.channels[spec.label] = str(created["id"])

    def post_spec(
        self, kind: str, state: str, file_ids: list[str], file_keys: list[str]
    ) -> _Create:
        message = f"{self.w.prefix} {kind} {state}"
        return _Create(
            "post",
            message,
            "POST",
            "/posts",
            self.w.actors["uploader"],
            self.w.keys[kind],
            f"post:{kind}:{state}",
            {"files": file_keys} if file_keys else None,
            {
                "json": {
                    "channel_id": self.w.channels[kind],
                    "message": message,
                    "file_ids": file_ids,
                }
            },
        )

    def wait_attached(self, post_id: str) -> None:
        uploader = self.w.actors["uploader"]  # a member: no reliance on the admin's bypass

        def read() -> httpx.Response:
            return self.t.request("GET", f"{API}/posts/{post_id}/files/info", actor=uploader)

        self.t.eventually(read, lambda r: r.status_code == 200 and len(r.json()) == 1)

    def files(self) -> None:
        """Files in every state in every channel kind, in four steps (uploads, then side by side
        the posts, the waits for the attachments and the deletions), each request independent of
        the others in its step: at 100 ms a round trip the 40 requests of the sequential version
        cost 4 s.
        Contents are drawn from the seed first, and every intent is recorded before its step's
        requests, both in the sequential order, so nothing depends on --concurrency."""
        plan = [(kind, state) for kind in CHANNEL_KINDS for state in FILE_STATES]
        uploads = []
        for kind, state in plan:
            name = f"{self.w.prefix}-{kind}-{state}.txt"
            content = (
                f"mmconform {self.w.prefix} {kind} {state}\n".encode()
                + self.rng.randbytes(64).hex().encode()
            )
            key = self.w.ledger.intent("file", name, parent=self.w.keys.get(kind))
            uploads.append((name, content, kind, key))
        # The uploads go one after another: side by side behind a tight rate limit, one upload
        # of a rehearsed .ci/run read a closed socket (httpx ReadError EBADF) after the 429s
        # (tests/suite/test_suite_deployments.py, rate limit 20/s burst 5), cause not found.
        stored_files = [_upload(self.w, *u)[1] for u in uploads]
        for (kind, state), (_name, _content, _kind, key), stored in zip(
            plan, uploads, stored_files, strict=True
        ):
            self.w.keys[f"file:{kind}:{state}"] = key
            self.w.files[(kind, state)] = stored
        # (kind, post state, the file state of its one file or None): with_files carries the
        # attached file, post_deleted the file that goes with it, no_files none.
        posts = [
            (kind, post_state, file_state)
            for kind in CHANNEL_KINDS
            for post_state, file_state in (
                ("with_files", "attached"),
                ("post_deleted", "post_deleted"),
                ("no_files", None),
            )
        ]
        specs = []
        for kind, post_state, file_state in posts:
            ids = [self.w.files[(kind, file_state)].id] if file_state else []
            keys = [self.w.keys[f"file:{kind}:{file_state}"]] if file_state else []
            specs.append(self.post_spec(kind, post_state, ids, keys))
        attached: list[str] = []
        for (kind, post_state, file_state), body in zip(
            posts, self.create_many(specs), strict=True
        ):
            post_id = str(body["id"])
            self.w.posts[(kind, post_state)] = post_id
            self.w.post_files[post_id] = []
            if file_state is not None:
                stored = self.w.files[(kind, file_state)]
                stored.post_id = post_id
                self.w.post_files[post_id] = [stored.id]
                attached.append(post_id)
        overlapping(self.wait_attached, attached)
        deleted = [self.w.posts[(kind, "post_deleted")] for kind in CHANNEL_KINDS]
        overlapping(lambda post_id: self.t.api("DELETE", f"/posts/{post_id}", self.admin), deleted)
        for kind in CHANNEL_KINDS:
            self.w.ledger.removed(self.w.keys[f"post:{kind}:post_deleted"], "deleted")
            self.w.ledger.removed(self.w.keys[f"file:{kind}:post_deleted"], "with-post")


def overlapping(work: Callable[[T], R], items: list[T]) -> list[R]:
    """`work(item)` for each item, up to --concurrency at once; results in the items' order,
    the first error raised as if sequential. Each provisioning step's requests are independent
    of one another (different objects), so only the steps' order is a chain: at 100 ms a round
    trip, every request taken off that chain is 0.1 s off every run."""
    width = min(IN_FLIGHT.limit, len(items))
    if width <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(width, thread_name_prefix="mmconform-provision") as pool:
        return list(pool.map(work, items))


def provision(target: Target, admin: Actor, ledger: Ledger, prefix: str, seed: int) -> World:
    """Create the world; an ApiError escaping here means the target cannot host the suite."""
    world = World(prefix=prefix, target=target, admin=admin, ledger=ledger)
    builder = _Builder(world, random.Random(seed))
    builder.teams()
    builder.users()  # creates the channels once the uploader is in the team
    builder.conversations()
    builder.files()
    return world


def random_id() -> str:
    """A well-formed Mattermost id (26 lowercase alphanumerics) that names nothing."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))


def upload_extra(world: World, name: str, content: bytes, kind: str = "public") -> StoredFile:
    """Upload one more file as the uploader (behaviour tests), recorded in the ledger first."""
    return _upload(world, name, content, kind)[1]


def _upload(
    world: World, name: str, content: bytes, kind: str, key: str | None = None
) -> tuple[str, StoredFile]:
    """Upload as the uploader into the channel of `kind`; the ledger key and the stored file.
    `key`: the ledger intent, when the caller recorded it already."""
    channel_id = world.channels[kind]
    files = [("channel_id", (None, channel_id)), ("files", (name, content))]
    return _send_upload(world, name, content, kind, key=key, files=files)


def upload_raw(world: World, name: str, content: bytes, kind: str = "public") -> StoredFile:
    """Upload as a raw body with `?filename=` (uploadFileSimple), so the name arrives exactly as
    given: no multipart quoting rewrites quotes or backslashes in it."""
    params = {"channel_id": world.channels[kind], "filename": name}
    headers = {"Content-Type": "application/octet-stream"}
    return _send_upload(
        world, name, content, kind, params=params, content=content, headers=headers
    )[1]


def _send_upload(
    world: World, name: str, uploaded: bytes, kind: str, key: str | None = None, **request: Any
) -> tuple[str, StoredFile]:
    """POST /files as the uploader, recorded in the ledger first (here, or by the caller, who
    passes the `key`); the key and the stored file."""
    uploader = world.actors["uploader"]
    key = key or world.ledger.intent("file", name, parent=world.keys.get(kind))
    body = world.target.api("POST", "/files", uploader, **request)
    info = body["file_infos"][0]
    world.ledger.created(key, str(info["id"]))
    return key, StoredFile(
        id=str(info["id"]),
        name=name,
        content=uploaded,
        mime_type=str(info.get("mime_type", "")),
        channel_kind=kind,
        channel_id=world.channels[kind],
        uploader_id=str(uploader.user_id),
    )
