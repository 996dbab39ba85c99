"""Auth kinds and mid-run access changes (conformance/requirements-access.yaml).

Every world actor authenticates with `Authorization: Bearer`; real clients also send the
`MMAUTHTOKEN` cookie of a browser login (with or without its CSRF token), a personal access
token, or a token in the query string, and their access changes while they use it. Each check
here works on a user it creates (ledger first, removed by the cleanup with the run's users), so
the world's actors, which other checks use at the same time, never lose any access.

Secrets: the session token, the cookie, the CSRF value and the PAT are added to the target's
secrets before any request carries them, so `redact` replaces them in every message, and the
repro lines name shell variables instead (a query token too: `?access_token=$MM_TOKEN_...`).
"""

from __future__ import annotations

import secrets
import shlex
import string
from dataclasses import dataclass, field

import httpx

from mmconform.live_target.client import API, Actor, ApiError, curl_line, error_id_of
from mmconform.live_target.gate import NotApplicable
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import StoredFile, World, upload_extra

COOKIE = "AUTH-COOKIE-001"
CSRF = "AUTH-CSRF-001"
CSRF_XHR = "AUTH-CSRF-002"
QUERY = "AUTH-QUERY-001"
PAT = "AUTH-PAT-001"
LEAVE_CHANNEL = "ACCESS-SEQ-001"
LEAVE_TEAM = "ACCESS-SEQ-002"
DEACTIVATE = "ACCESS-SEQ-003"
REVOKE = "ACCESS-SEQ-004"

EXPIRED = "api.context.session_expired.app_error"
TOKEN_PROVIDED = "api.context.token_provided.app_error"
DENIED = "api.context.permissions.app_error"
PAT_SETTINGS = {"ServiceSettings.EnableUserAccessTokens": True}


@dataclass
class Person:
    """A user this module created: bearer actor, password (for a cookie login) and, once made,
    the cookie session (token, CSRF value)."""

    actor: Actor
    password: str = field(repr=False)
    cookie: str = field(default="", repr=False)
    csrf: str = field(default="", repr=False)


def _repro(method: str, url: str, actor: Actor | None, how: str) -> str:
    """A curl line holding no secret: the cookie, CSRF value or query token are variables."""
    if how == "bearer" or actor is None:
        return curl_line(method, url, actor)
    var = "MM_" + how.upper() + "_" + actor.name.upper().replace("-", "_")
    if how == "query":
        # The token goes in from a file, so neither the line nor its scrubbed copy holds it.
        bare = url.split("?", 1)[0]
        path = f"mm-token-{actor.name}.txt"
        return (
            f"curl -i -X {method} -G --data-urlencode access_token@{path} {shlex.quote(bare)}"
            f"  # write a session token of {actor.name} to {path} first"
        )
    parts = f'curl -i -X {method} -H "Cookie: MMAUTHTOKEN=${var}"'
    return f"{parts} {shlex.quote(url)}  # export {var}=<the MMAUTHTOKEN cookie of {actor.name}>"


def _fail(
    world: World,
    req: str,
    what: str,
    response: httpx.Response,
    actor: Actor | None,
    how: str = "bearer",
) -> None:
    url = str(response.request.url)
    lines = [
        f"[{req}] {what}",
        f"  actor:    {actor.name if actor else 'anonymous'} ({how})",
        f"  request:  {response.request.method} {url}",
        f"  actual:   {response.status_code} {error_id_of(response) or '(no error id)'}",
        "Reproduce with:",
        "  " + _repro(response.request.method, url, actor, how),
    ]
    kept = world.target.keep_exchange(response)
    if kept:
        lines.append(kept)
    raise ConformanceFailure(world.target.redact("\n".join(lines)))


def _expect(
    world: World,
    req: str,
    what: str,
    response: httpx.Response,
    actor: Actor | None,
    status: int,
    error_id: str = "",
    how: str = "bearer",
) -> None:
    got = (response.status_code, error_id_of(response) if error_id else "")
    if got != (status, error_id):
        want = f"{status} {error_id}".rstrip()
        _fail(world, req, f"{what}: expected {want}", response, actor, how)


def new_person(world: World, tag: str, kinds: tuple[str, ...] = ("public",)) -> Person:
    """A fresh user (ledger first), logged in with a bearer session, added by the system admin
    to the world's team and to the channels of `kinds`."""
    t = world.target
    code = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(4))
    username = f"{world.prefix}-{tag}{code}"[:22]
    password = "Mmc-" + secrets.token_urlsafe(15) + "9!"
    t.secrets.add(password)
    key = world.ledger.intent("user", username, parent=None)
    body = t.api(
        "POST",
        "/users",
        world.admin,
        json={"email": f"{username}@example.com", "username": username, "password": password},
    )
    user_id = str(body["id"])
    world.ledger.created(key, user_id)
    response = t.request(
        "POST", API + "/users/login", json={"login_id": username, "password": password}
    )
    token = response.headers.get("token", "")
    if response.status_code != 200 or not token:
        raise ApiError("POST", "/users/login", response.status_code, error_id_of(response), "")
    t.secrets.add(token)
    actor = Actor(name=f"fresh_{tag}", token=token, user_id=user_id, username=username)
    team_id = world.teams["team"]
    t.api(
        "POST",
        f"/teams/{team_id}/members",
        world.admin,
        json={"team_id": team_id, "user_id": user_id},
    )
    for kind in kinds:
        t.api(
            "POST",
            f"/channels/{world.channels[kind]}/members",
            world.admin,
            json={"user_id": user_id},
        )
    return Person(actor=actor, password=password)


def cookie_login(world: World, person: Person) -> None:
    """A browser-style login (`X-Requested-With: XMLHttpRequest`): AttachSessionCookies sets
    MMAUTHTOKEN and MMCSRF; both become secrets before anything else sees them."""
    username = person.actor.username or ""
    response = world.target.request(
        "POST",
        API + "/users/login",
        headers={"X-Requested-With": "XMLHttpRequest"},
        json={"login_id": username, "password": person.password},
    )
    for value in response.cookies.values():
        world.target.secrets.add(value)
    world.target.secrets.add(response.headers.get("token", ""))
    cookie = response.cookies.get("MMAUTHTOKEN") or ""
    csrf = response.cookies.get("MMCSRF") or ""
    if response.status_code != 200 or not cookie:
        _fail(world, COOKIE, "the XHR login set no MMAUTHTOKEN cookie", response, None)
    person.cookie, person.csrf = cookie, csrf


def attached_file(world: World, kind: str, tag: str) -> StoredFile:
    """A fresh file on a fresh post of the uploader in the channel of `kind` (ledger first)."""
    name = f"{world.prefix}-{tag}-{secrets.token_hex(4)}.txt"
    stored = upload_extra(world, name, f"mmconform {tag}\n".encode(), kind)
    uploader = world.actors["uploader"]
    message = f"{world.prefix} {tag}"
    key = world.ledger.intent("post", message, parent=world.keys.get(kind), file_ids=[stored.id])
    body = world.target.api(
        "POST",
        "/posts",
        uploader,
        json={"channel_id": stored.channel_id, "message": message, "file_ids": [stored.id]},
    )
    stored.post_id = str(body["id"])
    world.ledger.created(key, stored.post_id)
    world.target.eventually(
        lambda: world.target.request("GET", f"{API}/files/{stored.id}/info", actor=uploader),
        lambda r: r.status_code == 200 and r.json().get("post_id") == stored.post_id,
    )
    return stored


def _paths(stored: StoredFile) -> tuple[str, str]:
    return f"{API}/files/{stored.id}", f"{API}/files/{stored.id}/info"


def _reads(
    world: World, req: str, stored: StoredFile, actor: Actor, status: int, error_id: str, when: str
) -> None:
    """GET the file and its info as `actor` (bearer); after a change, wait for it to show."""
    for path in _paths(stored):

        def read(path: str = path) -> httpx.Response:
            return world.target.request("GET", path, actor=actor)

        response = world.target.eventually(read, lambda r: r.status_code == status)
        _expect(
            world, req, f"{when}, GET {path.rsplit('/', 1)[-1]}", response, actor, status, error_id
        )


# --- auth kinds ---------------------------------------------------------------------------------


def check_cookie_reads(world: World) -> None:
    """AUTH-COOKIE-001: the XHR login's cookie alone reads a member's file and info (GET: no
    CSRF token needed)."""
    person = new_person(world, "ck")
    cookie_login(world, person)
    stored = attached_file(world, "public", "cookie-read")
    for path in _paths(stored):
        response = world.target.request(
            "GET", path, headers={"Cookie": f"MMAUTHTOKEN={person.cookie}"}
        )
        _expect(
            world,
            COOKIE,
            "cookie GET without X-CSRF-Token",
            response,
            person.actor,
            200,
            "",
            "cookie",
        )


def _cookie_upload(
    world: World, person: Person, headers: dict[str, str], tag: str
) -> tuple[httpx.Response, str]:
    """POST /files into the public channel with the cookie and `headers`, ledger first; a
    refused upload's intent is closed as never created."""
    name = f"{world.prefix}-{tag}-{secrets.token_hex(4)}.txt"
    key = world.ledger.intent("file", name, parent=world.keys.get("public"))
    files = [("channel_id", (None, world.channels["public"])), ("files", (name, b"csrf\n"))]
    response = world.target.request(
        "POST",
        API + "/files",
        headers={"Cookie": f"MMAUTHTOKEN={person.cookie}", **headers},
        files=files,
    )
    _close_upload(world, key, response)
    return response, key


def _close_upload(world: World, key: str, response: httpx.Response) -> None:
    infos: list[object] = []
    if response.status_code == 201:
        try:
            infos = response.json().get("file_infos") or []
        except ValueError:
            infos = []
    if infos and isinstance(infos[0], dict) and infos[0].get("id"):
        world.ledger.created(key, str(infos[0]["id"]))
    else:
        world.ledger.removed(key, "not created")


def check_cookie_upload_csrf(world: World) -> None:
    """AUTH-CSRF-001: a cookie upload without a CSRF token, or with a wrong one, is 401
    session_expired; with the session's CSRF value it is 201."""
    person = new_person(world, "cs")
    cookie_login(world, person)
    bare, _ = _cookie_upload(world, person, {}, "csrf-none")
    _expect(
        world,
        CSRF,
        "cookie upload without X-CSRF-Token",
        bare,
        person.actor,
        401,
        EXPIRED,
        "cookie",
    )
    wrong = "x" * 26
    bad, _ = _cookie_upload(world, person, {"X-CSRF-Token": wrong}, "csrf-wrong")
    _expect(
        world,
        CSRF,
        "cookie upload with a wrong X-CSRF-Token",
        bad,
        person.actor,
        401,
        EXPIRED,
        "cookie",
    )
    if not person.csrf:
        _fail(
            world,
            CSRF,
            "the XHR login set no MMCSRF cookie to send back",
            bad,
            person.actor,
            "cookie",
        )
    good, _ = _cookie_upload(world, person, {"X-CSRF-Token": person.csrf}, "csrf-ok")
    _expect(
        world,
        CSRF,
        "cookie upload with the session's X-CSRF-Token",
        good,
        person.actor,
        201,
        "",
        "cookie",
    )


def check_cookie_upload_xhr(world: World) -> None:
    """AUTH-CSRF-002: X-Requested-With: XMLHttpRequest passes the CSRF check while
    ExperimentalStrictCSRFEnforcement is off (the default; the suite does not change it)."""
    person = new_person(world, "cx")
    cookie_login(world, person)
    xhr, _ = _cookie_upload(world, person, {"X-Requested-With": "XMLHttpRequest"}, "csrf-xhr")
    _expect(
        world,
        CSRF_XHR,
        "cookie upload with X-Requested-With only",
        xhr,
        person.actor,
        201,
        "",
        "cookie",
    )


def check_query_token(world: World) -> None:
    """AUTH-QUERY-001: a valid session token as ?access_token= is 401 token_provided on reads
    and on an upload (nothing stored)."""
    uploader = world.actors["uploader"]
    token = uploader.token or ""
    stored = world.files[("public", "attached")]
    for path in _paths(stored):
        response = world.target.request("GET", path, params={"access_token": token})
        _expect(
            world,
            QUERY,
            "GET with the session token in the query string",
            response,
            uploader,
            401,
            TOKEN_PROVIDED,
            "query",
        )
    name = f"{world.prefix}-query-{secrets.token_hex(4)}.txt"
    key = world.ledger.intent("file", name, parent=world.keys.get("public"))
    files = [("channel_id", (None, world.channels["public"])), ("files", (name, b"query\n"))]
    response = world.target.request(
        "POST", API + "/files", params={"access_token": token}, files=files
    )
    _close_upload(world, key, response)
    _expect(
        world,
        QUERY,
        "upload with the session token in the query string",
        response,
        uploader,
        401,
        TOKEN_PROVIDED,
        "query",
    )


# --- mid-run access changes -----------------------------------------------------------------------


def check_leave_channel(world: World) -> None:
    """ACCESS-SEQ-001: read a private channel's file, leave the channel, read again: 403."""
    person = new_person(world, "lc", ("private",))
    stored = attached_file(world, "private", "seq-leave-channel")
    actor = person.actor
    _reads(world, LEAVE_CHANNEL, stored, actor, 200, "", "a member before leaving")
    world.target.api(
        "DELETE", f"/channels/{world.channels['private']}/members/{actor.user_id}", actor
    )
    _reads(world, LEAVE_CHANNEL, stored, actor, 403, DENIED, "after leaving the channel")


def check_leave_team(world: World) -> None:
    """ACCESS-SEQ-002: read a public and a private channel's file, leave the team: 403 both."""
    person = new_person(world, "lt", ("public", "private"))
    files = [attached_file(world, kind, f"seq-leave-team-{kind}") for kind in ("public", "private")]
    actor = person.actor
    for stored in files:
        _reads(
            world,
            LEAVE_TEAM,
            stored,
            actor,
            200,
            "",
            f"a member ({stored.channel_kind}) before leaving",
        )
    world.target.api("DELETE", f"/teams/{world.teams['team']}/members/{actor.user_id}", actor)
    for stored in files:
        _reads(
            world,
            LEAVE_TEAM,
            stored,
            actor,
            403,
            DENIED,
            f"after leaving the team ({stored.channel_kind})",
        )


def check_deactivate_after_use(world: World) -> None:
    """ACCESS-SEQ-003: a session that has read a file is 401 once its user is deactivated."""
    person = new_person(world, "da")
    stored = attached_file(world, "public", "seq-deactivate")
    actor = person.actor
    _reads(world, DEACTIVATE, stored, actor, 200, "", "before the deactivation")
    world.target.api("PUT", f"/users/{actor.user_id}/active", world.admin, json={"active": False})
    _reads(world, DEACTIVATE, stored, actor, 401, EXPIRED, "after the deactivation")


def check_pat_read_then_revoke(world: World) -> None:
    """AUTH-PAT-001 then ACCESS-SEQ-004: a PAT reads as its user; revoked, it is 401 at once.
    The caller holds the gate's section with PAT_SETTINGS in force."""
    person = new_person(world, "pt")
    stored = attached_file(world, "public", "seq-pat")
    try:
        made = world.target.api(
            "POST",
            f"/users/{person.actor.user_id}/tokens",
            world.admin,
            json={"description": f"{world.prefix} mmconform pat"},
        )
    except ApiError as exc:  # e.g. a server that refuses personal access tokens to admins
        raise NotApplicable(f"no personal access token: {exc.reason}") from None
    pat, token_id = str(made.get("token") or ""), str(made.get("id") or "")
    world.target.secrets.add(pat)
    pat_actor = Actor(name="fresh_pat", token=pat, user_id=person.actor.user_id)
    revoked = False
    try:
        _reads(world, PAT, stored, pat_actor, 200, "", "a channel member's personal access token")
        world.target.api("POST", "/users/tokens/revoke", world.admin, json={"token_id": token_id})
        revoked = True
        _reads(world, REVOKE, stored, pat_actor, 401, EXPIRED, "after the token was revoked")
    finally:
        if not revoked and token_id:
            world.target.request(
                "POST", API + "/users/tokens/revoke", actor=world.admin, json={"token_id": token_id}
            )
