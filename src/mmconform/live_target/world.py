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
from typing import Any

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


class _Builder:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.w = world
        self.t = world.target
        self.admin = world.admin
        self.rng = rng

    def create(
        self,
        kind: str,
        name: str,
        method: str,
        path: str,
        actor: Actor,
        *,
        parent: str | None,
        label: str,
        extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        key = self.w.ledger.intent(kind, name, parent=parent, **(extra or {}))
        body = self.t.api(method, path, actor, **kwargs)
        assert isinstance(body, dict)
        self.w.ledger.created(key, str(body["id"]))
        self.w.keys[label] = key
        return body

    def teams(self) -> None:
        for label, suffix in (("team", "team"), ("other_team", "other")):
            name = f"{self.w.prefix}-{suffix}"
            body = self.create(
                "team",
                name,
                "POST",
                "/teams",
                self.admin,
                parent=None,
                label=label,
                json={"name": name, "display_name": name, "type": "O"},
            )
            self.w.teams[label] = str(body["id"])

    def channels(self) -> None:
        """The team's channels, created by the uploader (a plain team member), so the system
        admin is a member of none of them: its reads test the manage_system bypass
        (api4 TestGetFileAsSystemAdmin), not its own membership."""
        team_key = self.w.keys["team"]
        creator = self.w.actors["uploader"]
        for kind, ctype in (("public", "O"), ("private", "P")):
            name = f"{self.w.prefix}-{kind[:4]}"
            body = self.create(
                "channel",
                name,
                "POST",
                "/channels",
                creator,
                parent=team_key,
                label=kind,
                json={
                    "team_id": self.w.teams["team"],
                    "name": name,
                    "display_name": name,
                    "type": ctype,
                },
            )
            self.w.channels[kind] = str(body["id"])

    def password(self) -> str:
        pw = "Mmc-" + "".join(self.rng.choices(string.ascii_letters + string.digits, k=20)) + "9!"
        self.t.secrets.add(pw)
        return pw

    def user(self, actor: str, password: str | None = None) -> Actor:
        username = f"{self.w.prefix}-{_USER_CODES[actor]}"
        password = password or self.password()
        body = self.create(
            "user",
            username,
            "POST",
            "/users",
            self.admin,
            parent=None,
            label=actor,
            json={"email": f"{username}@example.com", "username": username, "password": password},
        )
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

        def one(actor: str) -> Actor:
            team, _ = plan[actor]
            user = self.user(actor, passwords[actor])
            if team is not None:
                self.join_team(team, user)
            return user

        # Each user's chain is independent of the others': they overlap (--concurrency).
        for actor, user in zip(plan, overlapping(one, list(plan)), strict=True):
            self.w.actors[actor] = user
        self.channels()  # by the uploader, now a team member
        for actor, (_, kinds) in plan.items():
            for kind in kinds:
                if actor != "uploader":  # the creator is a member already
                    self.join_channel(kind, self.w.actors[actor])
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
        for actor, path in changes.items():
            user = self.w.actors[actor]
            try:
                self.t.api(
                    "PUT",
                    path.format(user_id=user.user_id),
                    self.admin,
                    json={"scheme_admin": True, "scheme_user": True},
                )
            except ApiError as exc:
                self.w.unavailable[actor] = _reason(exc, user)

    def special_actors(self) -> None:
        for actor, roles in _ROLES.items():
            user = self.w.actors[actor]
            try:
                self.t.api("PUT", f"/users/{user.user_id}/roles", self.admin, json={"roles": roles})
            except ApiError as exc:
                self.w.unavailable[actor] = _reason(exc, user)
        for actor in ("guest_in_channel", "guest_not_in_channel"):
            user = self.w.actors[actor]
            try:
                self.t.api("POST", f"/users/{user.user_id}/demote", self.admin)
            except ApiError as exc:
                self.w.unavailable[actor] = _reason(exc, user)
        dead = self.w.actors["deactivated_user"]
        self.t.api("PUT", f"/users/{dead.user_id}/active", self.admin, json={"active": False})
        for name in self.w.unavailable:
            self.w.actors.pop(name, None)
        self.w.actors["system_admin"] = self.admin
        self.w.actors["anonymous"] = Actor(name="anonymous")
        self.w.actors["invalid_token"] = Actor(name="invalid_token", token=INVALID_TOKEN)

    def dm(self) -> None:
        up, mem = self.w.actors["uploader"], self.w.actors["channel_member"]
        # Direct channels cannot be deleted; the ledger still lists it so cleanup reports it.
        key = self.w.ledger.intent(
            "channel",
            f"{self.w.prefix}-dm",
            parent=None,
            type="D",
            members=[up.username, mem.username],
        )
        body = self.t.api("POST", "/channels/direct", up, json=[up.user_id, mem.user_id])
        self.w.ledger.created(key, str(body["id"]))
        self.w.keys["dm"] = key
        self.w.channels["dm"] = str(body["id"])

    def gm(self) -> None:
        """A group message of the uploader, the channel member and gm_member: a channel with no
        team, so outsiders and the admin meet the system-level checks (like the DM)."""
        members = [self.w.actors[a] for a in ("uploader", "channel_member", "gm_member")]
        key = self.w.ledger.intent(
            "channel",
            f"{self.w.prefix}-gm",
            parent=None,
            type="G",
            members=[m.username for m in members],
        )
        body = self.t.api("POST", "/channels/group", members[0], json=[m.user_id for m in members])
        self.w.ledger.created(key, str(body["id"]))
        self.w.keys["gm"] = key
        self.w.channels["gm"] = str(body["id"])

    def upload(self, kind: str, state: str) -> StoredFile:
        name = f"{self.w.prefix}-{kind}-{state}.txt"
        content = (
            f"mmconform {self.w.prefix} {kind} {state}\n".encode()
            + self.rng.randbytes(64).hex().encode()
        )
        key, stored = _upload(self.w, name, content, kind)
        self.w.keys[f"file:{kind}:{state}"] = key
        return stored

    def post(self, kind: str, state: str, file_ids: list[str], file_keys: list[str]) -> str:
        message = f"{self.w.prefix} {kind} {state}"
        body = self.create(
            "post",
            message,
            "POST",
            "/posts",
            self.w.actors["uploader"],
            parent=self.w.keys[kind],
            label=f"post:{kind}:{state}",
            extra={"files": file_keys} if file_keys else None,
            json={"channel_id": self.w.channels[kind], "message": message, "file_ids": file_ids},
        )
        post_id = str(body["id"])
        self.w.posts[(kind, state)] = post_id
        self.w.post_files[post_id] = file_ids
        return post_id

    def wait_attached(self, post_id: str) -> None:
        uploader = self.w.actors["uploader"]  # a member: no reliance on the admin's bypass

        def read() -> httpx.Response:
            return self.t.request("GET", f"{API}/posts/{post_id}/files/info", actor=uploader)

        self.t.eventually(read, lambda r: r.status_code == 200 and len(r.json()) == 1)

    def files(self) -> None:
        for kind in CHANNEL_KINDS:
            for state in FILE_STATES:
                stored = self.upload(kind, state)
                self.w.files[(kind, state)] = stored
                if state == "unattached":
                    continue
                post_state = "with_files" if state == "attached" else "post_deleted"
                file_key = self.w.keys[f"file:{kind}:{state}"]
                stored.post_id = self.post(kind, post_state, [stored.id], [file_key])
                self.wait_attached(stored.post_id)
            self.post(kind, "no_files", [], [])
        for kind in CHANNEL_KINDS:
            post_id = self.w.posts[(kind, "post_deleted")]
            self.t.api("DELETE", f"/posts/{post_id}", self.admin)
            self.w.ledger.removed(self.w.keys[f"post:{kind}:post_deleted"], "deleted")
            self.w.ledger.removed(self.w.keys[f"file:{kind}:post_deleted"], "with-post")


def overlapping(work: Callable[[str], Actor], names: list[str]) -> list[Actor]:
    """`work(name)` for each name, up to --concurrency at once; results in the names' order,
    the first error raised as if sequential."""
    width = min(IN_FLIGHT.limit, len(names))
    if width <= 1:
        return [work(name) for name in names]
    with ThreadPoolExecutor(width, thread_name_prefix="mmconform-provision") as pool:
        return list(pool.map(work, names))


def provision(target: Target, admin: Actor, ledger: Ledger, prefix: str, seed: int) -> World:
    """Create the world; an ApiError escaping here means the target cannot host the suite."""
    world = World(prefix=prefix, target=target, admin=admin, ledger=ledger)
    builder = _Builder(world, random.Random(seed))
    builder.teams()
    builder.users()  # creates the channels once the uploader is in the team
    builder.dm()
    builder.gm()
    builder.files()
    return world


def random_id() -> str:
    """A well-formed Mattermost id (26 lowercase alphanumerics) that names nothing."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))


def upload_extra(world: World, name: str, content: bytes, kind: str = "public") -> StoredFile:
    """Upload one more file as the uploader (behaviour tests), recorded in the ledger first."""
    return _upload(world, name, content, kind)[1]


def _upload(world: World, name: str, content: bytes, kind: str) -> tuple[str, StoredFile]:
    """Upload as the uploader into the channel of `kind`; the ledger key and the stored file."""
    channel_id = world.channels[kind]
    files = [("channel_id", (None, channel_id)), ("files", (name, content))]
    return _send_upload(world, name, content, kind, files=files)


def upload_raw(world: World, name: str, content: bytes, kind: str = "public") -> StoredFile:
    """Upload as a raw body with `?filename=` (uploadFileSimple), so the name arrives exactly as
    given: no multipart quoting rewrites quotes or backslashes in it."""
    params = {"channel_id": world.channels[kind], "filename": name}
    headers = {"Content-Type": "application/octet-stream"}
    return _send_upload(
        world, name, content, kind, params=params, content=content, headers=headers
    )[1]


def _send_upload(
    world: World, name: str, uploaded: bytes, kind: str, **request: Any
) -> tuple[str, StoredFile]:
    """POST /files as the uploader, recorded in the ledger first; the key and the stored file."""
    uploader = world.actors["uploader"]
    key = world.ledger.intent("file", name, parent=world.keys.get(kind))
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
