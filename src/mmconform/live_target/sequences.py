"""Explicit request sequences whose verdict must not depend on the fuzzer's seed.

A server that caches what it has read (FileInfos by id, permissions by session) only misbehaves
when the same object is read before and after a change. The matrix reads objects whose state was
set at provisioning, and the fuzzer's order is random, so such a server is caught only by luck.
Each check here reads, changes, and reads again, on an object it creates (ledger first).
"""

from __future__ import annotations

import secrets

import httpx

from mmconform.live_target.client import API, Actor, curl_line, error_id_of
from mmconform.live_target.media import gif, png
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import StoredFile, World, upload_extra

SEQ_DELETE = "FILES-SEQ-001"
MULTI = "POSTS-FILES-MULTI-001"
MULTI_DELETED = "POSTS-FILES-MULTI-002"


def _fail(
    world: World, what: str, response: httpx.Response, actor: Actor, req: str = SEQ_DELETE
) -> None:
    url = str(response.request.url)
    lines = [
        f"[{req}] {what}",
        f"  actor:    {actor.name}",
        f"  request:  {response.request.method} {url}",
        f"  actual:   {response.status_code} {error_id_of(response) or '(no error id)'}",
        "Reproduce with:",
        "  " + curl_line(response.request.method, url, actor),
    ]
    raise ConformanceFailure(world.target.redact("\n".join(lines)))


def _attached_file(world: World, tag: str) -> tuple[StoredFile, str, str]:
    """A fresh file on a fresh post in the public channel: (file, post id, post ledger key)."""
    name = f"{world.prefix}-{tag}-{secrets.token_hex(4)}.txt"
    stored = upload_extra(world, name, f"mmconform {tag}\n".encode())
    uploader = world.actors["uploader"]
    message = f"{world.prefix} {tag}"
    key = world.ledger.intent(
        "post", message, parent=world.keys.get("public"), file_ids=[stored.id]
    )
    body = world.target.api(
        "POST",
        "/posts",
        uploader,
        json={"channel_id": stored.channel_id, "message": message, "file_ids": [stored.id]},
    )
    post_id = str(body["id"])
    world.ledger.created(key, post_id)
    world.target.eventually(
        lambda: world.target.request("GET", f"{API}/files/{stored.id}/info", actor=uploader),
        lambda r: r.status_code == 200 and r.json().get("post_id") == post_id,
    )
    return stored, post_id, key


def check_read_delete_read(world: World) -> None:
    """FILES-SEQ-001: read a file (bytes and info), delete its post, read again: 404 both."""
    uploader = world.actors["uploader"]
    stored, post_id, post_key = _attached_file(world, "seq-del")
    paths = (f"{API}/files/{stored.id}", f"{API}/files/{stored.id}/info")
    for path in paths:
        before = world.target.request("GET", path, actor=uploader)
        if before.status_code != 200:
            _fail(
                world,
                "the uploader could not read its new file before the delete",
                before,
                uploader,
            )
    world.target.api("DELETE", f"/posts/{post_id}", uploader)
    world.ledger.removed(post_key, "deleted")
    for path in paths:

        def read(path: str = path) -> httpx.Response:
            return world.target.request("GET", path, actor=uploader)

        after = world.target.eventually(read, lambda r: r.status_code == 404)
        if after.status_code != 404:
            _fail(
                world,
                "a file read before its post was deleted must be 404 after the delete "
                f"(App.GetFileInfo filters DeleteAt = 0), got {after.status_code}",
                after,
                uploader,
            )


# (name suffix, content, mime_type, width, height): what upstream's FileInfo says of each
# (model.NewInfo: the type from the extension; width and height from image.DecodeConfig).
_THREE = (
    ("photo.png", png(40, 30), "image/png", 40, 30),
    ("anim.gif", gif(7, 5), "image/gif", 7, 5),
    ("report.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf", 0, 0),
)


def check_post_with_three_files(world: World, include_deleted: bool) -> None:
    """POSTS-FILES-MULTI-001 (upstream TestGetFileInfosForPost): a post with three files lists
    all three, each with its own name, size, type and image dimensions; once the post is
    deleted, a system admin with include_deleted=true still gets all three."""
    uploader = world.actors["uploader"]
    tag = secrets.token_hex(3)
    stored = [
        upload_extra(world, f"{world.prefix}-{tag}-{suffix}", content)
        for suffix, content, *_ in _THREE
    ]
    ids = [f.id for f in stored]
    message = f"{world.prefix} three files {tag}"
    key = world.ledger.intent("post", message, parent=world.keys.get("public"), file_ids=ids)
    body = world.target.api(
        "POST",
        "/posts",
        uploader,
        json={"channel_id": stored[0].channel_id, "message": message, "file_ids": ids},
    )
    post_id = str(body["id"])
    world.ledger.created(key, post_id)
    path = f"{API}/posts/{post_id}/files/info"

    def listed(actor: Actor, params: dict[str, str]) -> httpx.Response:
        return world.target.eventually(
            lambda: world.target.request("GET", path, actor=actor, params=params),
            lambda r: r.status_code == 200 and len(r.json()) == len(ids),
        )

    response = listed(uploader, {})
    _check_three(world, response, uploader, stored, deleted=False)
    if not include_deleted:
        return
    world.target.api("DELETE", f"/posts/{post_id}", uploader)
    world.ledger.removed(key, "deleted")
    response = listed(world.admin, {"include_deleted": "true"})
    _check_three(world, response, world.admin, stored, deleted=True)


def _check_three(
    world: World, response: httpx.Response, actor: Actor, stored: list[StoredFile], deleted: bool
) -> None:
    state = "deleted post, include_deleted=true" if deleted else "live post"
    req = MULTI_DELETED if deleted else MULTI
    if response.status_code != 200:
        _fail(world, f"{state}: expected 200 with the three infos", response, actor, req)
    infos = {str(i.get("id")): i for i in response.json() if isinstance(i, dict)}
    if sorted(infos) != sorted(f.id for f in stored):
        _fail(
            world,
            f"{state}: the post has files {[f.id for f in stored]}, the answer lists "
            f"{sorted(infos)}",
            response,
            actor,
            req,
        )
    for f, (_, content, mime, width, height) in zip(stored, _THREE, strict=True):
        info = infos[f.id]
        got = (info.get("name"), info.get("size"), info.get("mime_type"))
        dims = (info.get("width", 0), info.get("height", 0))
        if got != (f.name, len(content), mime) or dims != (width, height):
            _fail(
                world,
                f"{state}: {f.name} is {got} {dims}, expected "
                f"{(f.name, len(content), mime)} {(width, height)}",
                response,
                actor,
                req,
            )
        if deleted and not info.get("delete_at"):
            _fail(world, f"{state}: {f.name} has no delete_at", response, actor, req)
