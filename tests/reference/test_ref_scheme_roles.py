"""The scheme-role endpoints (api4/team.go updateTeamMemberSchemeRoles, api4/channel.go
updateChannelMemberSchemeRoles) and what the roles they grant add: nothing for files or licences
(model/role.go MakeDefaultRoles)."""

from __future__ import annotations

from ref_support import World, error_id

from mmconform.reference.ids import new_id

ADMIN = {"scheme_admin": True, "scheme_user": True}


def test_team_scheme_roles_need_manage_team_roles_and_a_member(world: World) -> None:
    api, uid = world.new_user(team=True)
    path = f"/api/v4/teams/{world.team_id}/members/{uid}/schemeRoles"
    refused = world.member.put(path, json=ADMIN)  # a plain team member: no manage_team_roles
    assert refused.status_code == 403 and error_id(refused) == "api.context.permissions.app_error"
    bad = world.admin.put(path, json={"scheme_admin": "yes"})
    assert bad.status_code == 400 and error_id(bad) == "api.context.invalid_body_param.app_error"
    empty = world.admin.put(path, content=b"")
    assert empty.status_code == 400
    both = world.admin.put(path, json={"scheme_user": True, "scheme_guest": True})
    assert error_id(both) == "api.team.update_team_member_roles.guest_and_user.app_error"
    missing = world.admin.put(
        f"/api/v4/teams/{world.team_id}/members/{new_id()}/schemeRoles", json=ADMIN
    )
    assert missing.status_code == 404
    assert world.admin.ok(world.admin.put(path, json=ADMIN)) == {"status": "OK"}
    # A team admin now holds manage_team_roles, and still no file access in the private channel.
    assert api.put(path, json=ADMIN).status_code == 200
    file_id = world.admin.upload_id(world.private_id)
    assert api.get(f"/api/v4/files/{file_id}/info").status_code == 403
    up = api.upload(world.private_id, "t.txt", b"x")
    assert up.status_code == 403
    assert api.delete("/api/v4/license").status_code == 403


def test_channel_scheme_roles_need_manage_channel_roles(world: World) -> None:
    api, uid = world.new_user(team=True, channels=(world.private_id,))
    path = f"/api/v4/channels/{world.private_id}/members/{uid}/schemeRoles"
    refused = world.member.put(path, json=ADMIN)  # channel_user has no manage_channel_roles
    assert refused.status_code == 403
    outsider = world.admin.put(
        f"/api/v4/channels/{world.private_id}/members/{new_id()}/schemeRoles", json=ADMIN
    )
    assert outsider.status_code == 404
    assert world.admin.ok(world.admin.put(path, json=ADMIN)) == {"status": "OK"}
    # The channel admin may now change others' channel roles, and reads as a member does.
    assert api.put(path, json=ADMIN).status_code == 200
    file_id = world.admin.upload_id(world.private_id)
    assert api.get(f"/api/v4/files/{file_id}/info").status_code == 200
    garbage = api.post("/api/v4/license", files={"license": ("l", b"not a licence")})
    assert garbage.status_code == 403
