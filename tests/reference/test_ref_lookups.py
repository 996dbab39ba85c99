"""Look-ups by name and a channel's posts (what the suite's cleanup uses after a crash)."""

from __future__ import annotations

from ref_support import Api, World, error_id, unique


def test_user_by_username(world: World) -> None:
    member = world.admin.get(f"/api/v4/users/{world.member_id}").json()
    got = world.admin.get(f"/api/v4/users/username/{member['username']}")
    assert got.status_code == 200 and got.json()["id"] == world.member_id
    assert got.headers["content-type"] == "application/json"
    assert world.member.get(f"/api/v4/users/username/{member['username']}").status_code == 200
    missing = world.admin.get(f"/api/v4/users/username/{unique('nobody')}")
    assert missing.status_code == 404 and error_id(missing) == "app.user.get_by_username.app_error"
    bad = world.admin.get("/api/v4/users/username/A!")
    assert bad.status_code == 400 and error_id(bad) == "api.context.invalid_url_param.app_error"
    assert (
        Api(world.server.url).get(f"/api/v4/users/username/{member['username']}").status_code == 401
    )


def test_restricted_viewer_gets_403_not_404(world: World) -> None:
    guest, guest_id = world.new_user(team=True)
    roles = world.admin.put(f"/api/v4/users/{guest_id}/roles", json={"roles": "system_guest"})
    assert roles.status_code == 200, roles.text
    member = world.admin.get(f"/api/v4/users/{world.member_id}").json()
    unseen = guest.get(f"/api/v4/users/username/{member['username']}")
    assert unseen.status_code == 403 and error_id(unseen) == "api.context.permissions.app_error"
    assert guest.get(f"/api/v4/users/username/{unique('nobody')}").status_code == 403


def test_team_by_name(world: World) -> None:
    team = world.admin.get(f"/api/v4/teams/{world.team_id}").json()
    assert world.admin.get(f"/api/v4/teams/name/{team['name']}").json()["id"] == world.team_id
    assert world.member.get(f"/api/v4/teams/name/{team['name']}").status_code == 200
    outsider, _ = world.new_user()
    denied = outsider.get(f"/api/v4/teams/name/{team['name']}")
    assert denied.status_code == 403 and error_id(denied) == "api.context.permissions.app_error"
    missing = world.admin.get(f"/api/v4/teams/name/{unique('t')}")
    assert missing.status_code == 404
    assert error_id(missing) == "app.team.get_by_name.missing.app_error"
    assert world.admin.get("/api/v4/teams/name/-x-").status_code == 400


def _channel_name(world: World, channel_id: str) -> str:
    return str(world.admin.get(f"/api/v4/channels/{channel_id}").json()["name"])


def test_channel_by_name_include_deleted(world: World) -> None:
    body = {"team_id": world.team_id, "name": unique("c"), "display_name": "C", "type": "O"}
    chan = world.admin.ok(world.admin.post("/api/v4/channels", json=body), 201)
    path = f"/api/v4/teams/{world.team_id}/channels/name/{chan['name']}"
    assert world.admin.get(path).json()["id"] == chan["id"]
    assert world.member.get(path).status_code == 200  # team member, open channel
    world.admin.ok(world.admin.delete(f"/api/v4/channels/{chan['id']}"))
    gone = world.admin.get(path)
    assert gone.status_code == 404
    assert error_id(gone) == "app.channel.get_by_name.missing.app_error"
    assert world.admin.get(path, params={"include_deleted": "true"}).json()["id"] == chan["id"]
    assert world.admin.get(path, params={"include_deleted": "1"}).status_code == 200


def test_private_channel_by_name_is_404_to_non_members(world: World) -> None:
    path = f"/api/v4/teams/{world.team_id}/channels/name/{_channel_name(world, world.private_id)}"
    assert world.member.get(path).status_code == 200
    outsider, _ = world.new_user(team=True)
    hidden = outsider.get(path)
    assert hidden.status_code == 404
    assert error_id(hidden) == "app.channel.get_by_name.missing.app_error"
    public = f"/api/v4/teams/{world.team_id}/channels/name/{_channel_name(world, world.public_id)}"
    stranger, _ = world.new_user()
    denied = stranger.get(public)
    assert denied.status_code == 403 and error_id(denied) == "api.context.permissions.app_error"


def test_posts_for_channel(world: World) -> None:
    first = world.post_with(world.member, world.private_id, [])
    second = world.post_with(world.member, world.private_id, [])
    gone = world.post_with(world.member, world.private_id, [])
    world.admin.ok(world.admin.delete(f"/api/v4/posts/{gone}"))
    resp = world.member.get(f"/api/v4/channels/{world.private_id}/posts")
    body = world.member.ok(resp)
    assert set(body) == {"order", "posts", "next_post_id", "prev_post_id"}
    assert body["order"][:2] == [second, first] and gone not in body["order"]
    assert set(body["posts"]) == set(body["order"])
    assert body["posts"][first]["channel_id"] == world.private_id
    paged = world.member.ok(
        world.member.get(
            f"/api/v4/channels/{world.private_id}/posts", params={"page": 1, "per_page": 1}
        )
    )
    assert paged["order"] == [first]
    outsider, _ = world.new_user(team=True)
    denied = outsider.get(f"/api/v4/channels/{world.private_id}/posts")
    assert denied.status_code == 403 and error_id(denied) == "api.context.permissions.app_error"
    missing = world.admin.get("/api/v4/channels/" + "a" * 26 + "/posts")
    assert missing.status_code == 404
