"""GET /files/{id}/link and GET|HEAD /files/{id}/public (behaviour doc §5; upstream
TestGetFileLink, TestGetPublicFile).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from ref_support import Api, World, error_id

from mmconform.reference.ids import new_id


@pytest.fixture
def links_on(world: World) -> Iterator[None]:
    world.admin.patch_config("FileSettings", EnablePublicLink=True, PublicLinkSalt="s" * 32)
    yield
    world.admin.patch_config("FileSettings", EnablePublicLink=False)


def attached_file(world: World, data: bytes = b"public bytes") -> str:
    file_id = world.member.upload_id(world.public_id, "p.txt", data)
    world.post_with(world.member, world.public_id, [file_id])
    return file_id


def test_links_disabled_by_default_is_403_before_lookup(world: World) -> None:
    resp = world.member.get(f"/api/v4/files/{new_id()}/link")
    assert resp.status_code == 403
    assert error_id(resp) == "api.file.get_public_link.disabled.app_error"


def test_get_file_link_cases(world: World, links_on: None) -> None:
    unattached = world.member.upload_id(world.public_id)
    resp = world.member.get(f"/api/v4/files/{unattached}/link")
    assert resp.status_code == 400
    assert error_id(resp) == "api.file.get_public_link.no_post.app_error"
    file_id = attached_file(world)
    link = world.member.ok(world.member.get(f"/api/v4/files/{file_id}/link"))["link"]
    digest = hashlib.sha256(b"s" * 32 + file_id.encode()).digest()
    expected_hash = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert link == f"{world.server.url}/files/{file_id}/public?h={expected_hash}"
    assert len(expected_hash) == 43
    assert world.member.get("/api/v4/files/junk/link").status_code == 400
    assert world.member.get(f"/api/v4/files/{new_id()}/link").status_code == 404
    assert Api(world.server.url).get(f"/api/v4/files/{file_id}/link").status_code == 401
    stranger, _ = world.new_user()
    assert stranger.get(f"/api/v4/files/{file_id}/link").status_code == 403
    assert world.admin.get(f"/api/v4/files/{file_id}/link").status_code == 200


def test_public_file_cases(world: World, links_on: None) -> None:
    file_id = attached_file(world, b"shared")
    link = world.member.ok(world.member.get(f"/api/v4/files/{file_id}/link"))["link"]
    resp = httpx.get(link)
    assert resp.status_code == 200 and resp.content == b"shared"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert httpx.head(link).status_code == 200
    no_hash = httpx.get(link.split("?")[0])
    assert no_hash.status_code == 400 and no_hash.headers["Content-Type"].startswith("text/html")
    wrong = httpx.get(link.split("?")[0], params={"h": "A" * 43})
    assert wrong.status_code == 400
    world.admin.patch_config("FileSettings", EnablePublicLink=False)
    disabled = httpx.get(link)
    assert disabled.status_code == 403 and disabled.headers["Content-Type"].startswith("text/html")
    world.admin.patch_config("FileSettings", EnablePublicLink=True, PublicLinkSalt="t" * 32)
    assert httpx.get(link).status_code == 400  # salt changed: every old link is dead
    new_link = world.member.ok(world.member.get(f"/api/v4/files/{file_id}/link"))["link"]
    assert parse_qs(urlsplit(new_link).query)["h"] != parse_qs(urlsplit(link).query)["h"]
    assert httpx.get(new_link).status_code == 200


def test_public_file_of_deleted_post_is_404_html(world: World, links_on: None) -> None:
    file_id = world.member.upload_id(world.public_id)
    post_id = world.post_with(world.member, world.public_id, [file_id])
    link = world.member.ok(world.member.get(f"/api/v4/files/{file_id}/link"))["link"]
    world.member.ok(world.member.delete(f"/api/v4/posts/{post_id}"))
    resp = httpx.get(link)
    assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("text/html")


def test_public_route_ignores_a_bad_session(world: World, links_on: None) -> None:
    file_id = attached_file(world)
    link = world.member.ok(world.member.get(f"/api/v4/files/{file_id}/link"))["link"]
    assert httpx.get(link, headers={"Authorization": "Bearer nonsense"}).status_code == 200


def test_get_link_uses_request_host_as_site_url(world: World, links_on: None) -> None:
    file_id = attached_file(world)
    resp = world.member.get(
        f"/api/v4/files/{file_id}/link",
        headers={"Host": "chat.example.com", "X-Forwarded-Proto": "https"},
    )
    assert resp.json()["link"].startswith(f"https://chat.example.com/files/{file_id}/public?h=")
