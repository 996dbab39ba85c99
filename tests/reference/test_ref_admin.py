"""The provisioning endpoints (users, teams, channels, posts, config) the suite relies on."""

from __future__ import annotations

import httpx
from ref_support import Api, World, error_id, login, unique

from mmconform.reference.config import FAKE_SETTING
from mmconform.reference.ids import new_id


def _new(world: World) -> tuple[str, str]:
    name = unique("n")
    body = {"username": name, "email": f"{name}@example.com", "password": "pw-" + name}
    user = world.admin.ok(world.admin.post("/api/v4/users", json=body), 201)
    assert "password" not in user and "password_hash" not in user
    return name, str(user["id"])


def test_user_creation_rules(world: World) -> None:
    name, _ = _new(world)
    anon = Api(world.server.url).post(
        "/api/v4/users", json={"username": "zz" + name, "email": "a@b.c", "password": "12345678"}
    )
    assert anon.status_code == 403 and error_id(anon) == "api.user.create_user.no_open_server"
    dup = world.admin.post(
        "/api/v4/users", json={"username": name, "email": "x@y.z", "password": "12345678"}
    )
    assert error_id(dup) == "app.user.save.username_exists.app_error"
    bad = world.admin.post("/api/v4/users", json={"username": "A!", "email": "x", "password": "p"})
    assert bad.status_code == 400


def test_login_responses(world: World) -> None:
    name, uid = _new(world)
    resp = httpx.post(
        f"{world.server.url}/api/v4/users/login",
        json={"login_id": name, "password": "pw-" + name, "token": None},
    )
    assert resp.status_code == 200 and resp.headers["Token"] and resp.json()["id"] == uid
    assert resp.headers["Content-Type"] == "application/json"
    wrong = httpx.post(
        f"{world.server.url}/api/v4/users/login", json={"login_id": name, "password": "nope"}
    )
    assert wrong.status_code == 401
    assert error_id(wrong) == "api.user.login.invalid_credentials_email_username"
    blank = httpx.post(f"{world.server.url}/api/v4/users/login", json={"login_id": name})
    assert blank.status_code == 400


def test_deactivation_revokes_sessions_and_blocks_login(world: World) -> None:
    name, uid = _new(world)
    api = login(world.server.url, name, "pw-" + name)
    assert api.get("/api/v4/users/me").status_code == 200
    assert (
        world.member.put(f"/api/v4/users/{uid}/active", json={"active": False}).status_code == 403
    )
    world.admin.ok(world.admin.put(f"/api/v4/users/{uid}/active", json={"active": False}))
    assert api.get("/api/v4/users/me").status_code == 401
    resp = httpx.post(
        f"{world.server.url}/api/v4/users/login", json={"login_id": name, "password": "pw-" + name}
    )
    assert resp.status_code == 401 and error_id(resp) == "api.user.login.inactive.app_error"
    world.admin.ok(world.admin.put(f"/api/v4/users/{uid}/active", json={"active": True}))
    assert api.get("/api/v4/users/me").status_code == 401  # revoked, not merely suspended
    login(world.server.url, name, "pw-" + name)
    world.admin.ok(world.admin.delete(f"/api/v4/users/{uid}"))
    assert world.admin.ok(world.admin.get(f"/api/v4/users/{uid}"))["delete_at"] > 0


def test_logout_invalidates_the_token(world: World) -> None:
    name, _ = _new(world)
    api = login(world.server.url, name, "pw-" + name)
    assert api.ok(api.post("/api/v4/users/logout")) == {"status": "OK"}
    assert api.get("/api/v4/users/me").status_code == 401


def test_roles_update_rules(world: World) -> None:
    _, uid = _new(world)
    path = f"/api/v4/users/{uid}/roles"
    assert world.member.put(path, json={"roles": "system_user"}).status_code == 403
    assert world.admin.put(path, json={"roles": "bogus_role"}).status_code == 400
    world.admin.ok(world.admin.put(path, json={"roles": "system_user system_manager"}))
    assert world.admin.ok(world.admin.get(f"/api/v4/users/{uid}"))["roles"] == (
        "system_user system_manager"
    )


def test_guest_demotion_needs_licence_and_setting(world: World) -> None:
    _, uid = _new(world)
    resp = world.admin.post(f"/api/v4/users/{uid}/demote")
    assert resp.status_code == 501
    assert error_id(resp) == "api.team.demote_user_to_guest.license.error"
    world.admin.ok(world.admin.post("/api/v4/license", files={"license": ("l", world.mint())}))
    try:
        resp = world.admin.post(f"/api/v4/users/{uid}/demote")
        assert error_id(resp) == "api.team.demote_user_to_guest.disabled.error"
        world.admin.patch_config("GuestAccountsSettings", Enable=True)
        world.admin.ok(world.admin.post(f"/api/v4/users/{uid}/demote"))
        assert world.admin.ok(world.admin.get(f"/api/v4/users/{uid}"))["roles"] == "system_guest"
        member = world.admin.post(
            f"/api/v4/teams/{world.team_id}/members",
            json={"team_id": world.team_id, "user_id": uid},
        )
        assert world.admin.ok(member, 201)["scheme_guest"] is True
        world.admin.ok(world.admin.post(f"/api/v4/users/{uid}/promote"))
        assert world.admin.post(f"/api/v4/users/{uid}/promote").status_code == 501
    finally:
        world.admin.patch_config("GuestAccountsSettings", Enable=False)
        world.admin.ok(world.admin.delete("/api/v4/license"))


def test_personal_access_tokens(world: World) -> None:
    me = world.admin.ok(world.admin.get("/api/v4/users/me"))["id"]
    path = f"/api/v4/users/{me}/tokens"
    assert world.admin.post(path, json={"description": "d"}).status_code == 501
    world.admin.patch_config("ServiceSettings", EnableUserAccessTokens=True)
    try:
        token = world.admin.ok(world.admin.post(path, json={"description": "d"}))["token"]
        assert Api(world.server.url, token).get("/api/v4/users/me").status_code == 200
    finally:
        world.admin.patch_config("ServiceSettings", EnableUserAccessTokens=False)
    assert Api(world.server.url, token).get("/api/v4/users/me").status_code == 401


def test_team_and_channel_lifecycle(world: World) -> None:
    team = world.member.ok(
        world.member.post(
            "/api/v4/teams", json={"name": unique("t"), "display_name": "T", "type": "I"}
        ),
        201,
    )
    outsider, _ = world.new_user()
    assert outsider.get(f"/api/v4/teams/{team['id']}").status_code == 403
    assert world.member.get(f"/api/v4/teams/{new_id()}").status_code == 404
    body = {"team_id": team["id"], "name": unique("c"), "display_name": "C", "type": "P"}
    channel = world.member.ok(world.member.post("/api/v4/channels", json=body), 201)
    assert outsider.get(f"/api/v4/channels/{channel['id']}").status_code == 403
    world.member.ok(world.member.delete(f"/api/v4/channels/{channel['id']}"))
    archived = world.member.ok(world.member.get(f"/api/v4/channels/{channel['id']}"))
    assert archived["delete_at"] > 0
    perm = world.admin.delete(f"/api/v4/teams/{team['id']}", params={"permanent": "true"})
    assert perm.status_code == 401
    world.member.ok(world.member.delete(f"/api/v4/teams/{team['id']}"))


def test_direct_channel_is_idempotent(world: World) -> None:
    _, other = world.new_user()
    pair = [world.member_id, other]
    first = world.member.ok(world.member.post("/api/v4/channels/direct", json=pair), 201)
    again = world.member.ok(world.member.post("/api/v4/channels/direct", json=pair[::-1]), 201)
    assert first["id"] == again["id"] and first["type"] == "D"


def test_posts_get_and_delete(world: World) -> None:
    post_id = world.post_with(world.member, world.public_id, [])
    assert world.member.ok(world.member.get(f"/api/v4/posts/{post_id}"))["id"] == post_id
    other, _ = world.new_user(team=True, channels=(world.public_id,))
    assert other.delete(f"/api/v4/posts/{post_id}").status_code == 403
    world.member.ok(world.member.delete(f"/api/v4/posts/{post_id}"))
    assert world.member.get(f"/api/v4/posts/{post_id}").status_code == 404


def test_config_is_sanitised_and_desanitised(world: World) -> None:
    world.admin.patch_config("FileSettings", PublicLinkSalt="k" * 32)
    cfg = world.admin.ok(world.admin.get("/api/v4/config"))
    assert cfg["FileSettings"]["PublicLinkSalt"] == FAKE_SETTING
    assert cfg["FileSettings"]["EnablePublicLink"] is False
    world.admin.patch_config("FileSettings", PublicLinkSalt=FAKE_SETTING, EnablePublicLink=True)
    try:
        file_id = world.member.upload_id(world.public_id)
        world.post_with(world.member, world.public_id, [file_id])
        link = world.member.ok(world.member.get(f"/api/v4/files/{file_id}/link"))["link"]
        assert link.endswith("h=" + _hash("k" * 32, file_id))
    finally:
        world.admin.patch_config("FileSettings", EnablePublicLink=False)
    assert world.member.get("/api/v4/config").status_code == 403
    assert world.member.put("/api/v4/config/patch", json={}).status_code == 403
    restrict = {"ExperimentalSettings": {"RestrictSystemAdmin": True}}
    world.admin.ok(world.admin.put("/api/v4/config/patch", json=restrict))
    cfg = world.admin.ok(world.admin.get("/api/v4/config"))
    assert cfg["ExperimentalSettings"]["RestrictSystemAdmin"] is False


def _hash(salt: str, file_id: str) -> str:
    from mmconform.reference.files import public_link_hash

    return public_link_hash(file_id, salt)


def test_group_channels_follow_create_group_channel(world: World) -> None:
    """`createGroupChannel` + `App.CreateGroupChannel`: the caller is added, 3..8 users, the same
    set is the same channel, and it has no team (so reads meet the system-level check)."""
    _, a = _new(world)
    _, b = _new(world)
    small = world.admin.post("/api/v4/channels/group", json=[a])
    assert small.status_code == 400
    assert error_id(small) == "api.channel.create_group.bad_size.app_error"
    assert error_id(world.admin.post("/api/v4/channels/group", json=["x"])) == (
        "api.context.invalid_body_param.app_error"
    )
    gm = world.admin.ok(world.admin.post("/api/v4/channels/group", json=[a, b]), 201)
    assert gm["type"] == "G" and gm["team_id"] == ""
    again = world.admin.ok(world.admin.post("/api/v4/channels/group", json=[b, a]), 201)
    assert again["id"] == gm["id"]


def test_filtered_user_stats_count_what_the_seat_check_counts(world: World) -> None:
    """`getFilteredUsersStats` with no parameters: `User().Count` with zero options, the count
    SaveLicense compares with features.users (deactivated users excluded)."""

    def everyone() -> int:
        resp = world.admin.get("/api/v4/users/stats/filtered", params={"include_deleted": "true"})
        return int(world.admin.ok(resp)["total_users_count"])

    before = world.admin.ok(world.admin.get("/api/v4/users/stats/filtered"))["total_users_count"]
    all_before = everyone()
    _, uid = _new(world)
    grown = world.admin.ok(world.admin.get("/api/v4/users/stats/filtered"))["total_users_count"]
    assert grown == before + 1
    world.admin.ok(world.admin.put(f"/api/v4/users/{uid}/active", json={"active": False}))
    after = world.admin.ok(world.admin.get("/api/v4/users/stats/filtered"))["total_users_count"]
    assert after == before
    assert everyone() == all_before + 1
    assert world.member.get("/api/v4/users/stats/filtered").status_code == 403
