"""Reference server: leaving channels and teams, revoking tokens, TrustRequester and CSRF
(api4/channel.go removeChannelMember, api4/team.go removeTeamMember, api4/user.go
revokeUserAccessToken, web/handlers.go checkCSRFToken)."""

from __future__ import annotations

import httpx
from ref_support import World, error_id

DENIED = "api.context.permissions.app_error"


def _file_in(world: World, channel_id: str) -> str:
    file_id = world.member.upload_id(channel_id)
    world.post_with(world.member, channel_id, [file_id])
    return file_id


def test_leaving_a_private_channel_refuses_its_files(world: World) -> None:
    user, user_id = world.new_user(team=True, channels=(world.private_id,))
    file_id = _file_in(world, world.private_id)
    assert user.get(f"/api/v4/files/{file_id}/info").status_code == 200
    left = user.delete(f"/api/v4/channels/{world.private_id}/members/{user_id}")
    assert left.status_code == 200 and left.json() == {"status": "OK"}
    after = user.get(f"/api/v4/files/{file_id}/info")
    assert after.status_code == 403 and error_id(after) == DENIED


def test_removing_someone_else_needs_manage_members(world: World) -> None:
    _, victim = world.new_user(team=True, channels=(world.private_id,))
    outsider, _ = world.new_user(team=True)
    resp = outsider.delete(f"/api/v4/channels/{world.private_id}/members/{victim}")
    assert resp.status_code == 403 and error_id(resp) == DENIED
    assert (
        world.admin.delete(f"/api/v4/channels/{world.private_id}/members/{victim}").status_code
        == 200
    )


def test_leaving_the_team_leaves_its_channels(world: World) -> None:
    user, user_id = world.new_user(team=True, channels=(world.public_id, world.private_id))
    files = [_file_in(world, world.public_id), _file_in(world, world.private_id)]
    assert all(user.get(f"/api/v4/files/{f}/info").status_code == 200 for f in files)
    assert user.delete(f"/api/v4/teams/{world.team_id}/members/{user_id}").status_code == 200
    for file_id in files:
        resp = user.get(f"/api/v4/files/{file_id}/info")
        assert resp.status_code == 403 and error_id(resp) == DENIED
    again = user.delete(f"/api/v4/teams/{world.team_id}/members/{user_id}")
    assert again.status_code == 400
    assert error_id(again) == "api.team.remove_user_from_team.missing.app_error"


def test_revoked_token_is_refused_at_once(world: World) -> None:
    world.admin.patch_config("ServiceSettings", EnableUserAccessTokens=True)
    try:
        _, user_id = world.new_user(team=True, channels=(world.public_id,))
        made = world.admin.ok(
            world.admin.post(f"/api/v4/users/{user_id}/tokens", json={"description": "d"})
        )
        file_id = _file_in(world, world.public_id)
        headers = {"Authorization": f"Bearer {made['token']}"}
        url = f"{world.server.url}/api/v4/files/{file_id}/info"
        assert httpx.get(url, headers=headers).status_code == 200
        revoke = world.admin.post("/api/v4/users/tokens/revoke", json={"token_id": made["id"]})
        assert revoke.status_code == 200
        after = httpx.get(url, headers=headers)
        assert after.status_code == 401
        assert error_id(after) == "api.context.session_expired.app_error"
        missing = world.admin.post("/api/v4/users/tokens/revoke", json={"token_id": made["id"]})
        assert missing.status_code == 404
        assert error_id(missing) == "app.user_access_token.get_by_user.app_error"
    finally:
        world.admin.patch_config("ServiceSettings", EnableUserAccessTokens=False)


def test_cookie_head_on_get_file_needs_no_csrf_but_upload_does(world: World) -> None:
    """GetFile is TrustRequester: checkCSRFToken skips it even for HEAD; uploadFile is not."""
    name = world.admin.ok(world.admin.get("/api/v4/users/me"))["username"]
    resp = httpx.post(
        f"{world.server.url}/api/v4/users/login",
        json={"login_id": name, "password": world.server.admin_password},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    cookie = {"Cookie": f"MMAUTHTOKEN={resp.cookies['MMAUTHTOKEN']}"}
    file_id = _file_in(world, world.public_id)
    head = httpx.head(f"{world.server.url}/api/v4/files/{file_id}", headers=cookie)
    assert head.status_code == 200
    upload = httpx.post(
        f"{world.server.url}/api/v4/files",
        headers=cookie,
        files=[("channel_id", (None, world.public_id)), ("files", ("a.txt", b"x"))],
    )
    assert upload.status_code == 401
    assert error_id(upload) == "api.context.session_expired.app_error"
