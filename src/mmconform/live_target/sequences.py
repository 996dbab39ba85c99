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
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import StoredFile, World, upload_extra

SEQ_DELETE = "FILES-SEQ-001"


def _fail(world: World, what: str, response: httpx.Response, actor: Actor) -> None:
    url = str(response.request.url)
    lines = [
        f"[{SEQ_DELETE}] {what}",
        f"  actor:    {actor.name}",
        f"  request:  {response.request.method} {url}",
        f"  actual:   {response.status_code} {error_id_of(response) or '(no error id)'}",
        "Reproduce with (after deleting the post):",
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
