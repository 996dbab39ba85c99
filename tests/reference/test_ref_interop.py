"""Third-party clients drive the reference server end to end (real-clients.md):
mattermostautodriver (httpx, strict about error JSON) and mattermostdriver (requests).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from mattermostautodriver import TypedDriver
from mattermostautodriver.exceptions import NotEnoughPermissions, ResourceNotFound
from ref_support import World, unique

from mmconform.reference.ids import new_id

pytestmark = pytest.mark.interop


def _options(world: World, login_id: str, password: str) -> dict[str, object]:
    parts = urlsplit(world.server.url)
    return {
        "url": parts.hostname,
        "port": parts.port,
        "scheme": "http",
        "login_id": login_id,
        "password": password,
        "request_timeout": 30,
        "max_retries": 0,
    }


def _enable_links(world: World) -> None:
    world.admin.patch_config("FileSettings", EnablePublicLink=True)


def test_mattermostautodriver_full_flow(world: World) -> None:
    d = TypedDriver(_options(world, world.server.admin_login, world.server.admin_password))
    d.login()
    team = d.teams.create_team(name=unique("ad"), display_name="AD", type="O")
    channel = d.channels.create_channel(
        team_id=team["id"], name=unique("ad"), display_name="AD", type="O"
    )
    name = unique("adu")
    user = d.users.create_user(email=f"{name}@example.com", username=name, password="pw-" + name)
    d.teams.add_team_member(team["id"], user_id=user["id"])
    d.channels.add_channel_member(channel["id"], user_id=user["id"])
    up = d.files.upload_file(
        files=("hello.txt", b"hello autodriver", "text/plain"),
        channel_id=channel["id"],
        client_ids="client-1",
    )
    assert up["client_ids"] == ["client-1"]
    file_id = up["file_infos"][0]["id"]
    post = d.posts.create_post(channel_id=channel["id"], message="m", file_ids=[file_id])
    infos = d.posts.get_file_infos_for_post(post["id"])
    assert [i["id"] for i in infos] == [file_id]
    assert d.files.get_file(file_id).content == b"hello autodriver"
    assert d.files.get_file_info(file_id)["size"] == len(b"hello autodriver")
    _enable_links(world)
    try:
        link = d.files.get_file_link(file_id)["link"]
        assert httpx.get(link).content == b"hello autodriver"
    finally:
        world.admin.patch_config("FileSettings", EnablePublicLink=False)
    lic = d.system.upload_license_file(license=("l.mattermost-license", world.mint().encode()))
    assert lic["features"]["users"] == 1000
    assert d.system.remove_license_file() == {"status": "OK"}
    with pytest.raises(ResourceNotFound) as missing:
        d.files.get_file_info(new_id())
    assert missing.value.error_id == "app.file_info.get.app_error"
    member = TypedDriver(_options(world, name, "pw-" + name))
    member.login()
    with pytest.raises(NotEnoughPermissions):
        member.system.remove_license_file()
    assert member.files.get_file(file_id).content == b"hello autodriver"


def test_mattermostdriver_full_flow(world: World) -> None:
    from mattermostdriver import Driver
    from mattermostdriver.exceptions import NotEnoughPermissions as OldNotEnough

    d = Driver(_options(world, world.server.admin_login, world.server.admin_password))
    d.login()
    team = d.teams.create_team({"name": unique("md"), "display_name": "MD", "type": "O"})
    channel = d.channels.create_channel(
        {"team_id": team["id"], "name": unique("md"), "display_name": "MD", "type": "P"}
    )
    name = unique("mdu")
    user = d.users.create_user(
        {"email": f"{name}@example.com", "username": name, "password": "pw-" + name}
    )
    d.teams.add_user_to_team(team["id"], {"team_id": team["id"], "user_id": user["id"]})
    d.channels.add_user(channel["id"], {"user_id": user["id"]})
    up = d.files.upload_file(
        channel_id=channel["id"], files={"files": ("hello.txt", b"hello driver", "text/plain")}
    )
    assert up["client_ids"] == []
    file_id = up["file_infos"][0]["id"]
    post = d.posts.create_post({"channel_id": channel["id"], "message": "m", "file_ids": [file_id]})
    assert [i["id"] for i in d.posts.get_file_info_for_post(post["id"])] == [file_id]
    assert d.files.get_file(file_id).content == b"hello driver"
    assert d.files.get_file_metadata(file_id)["name"] == "hello.txt"
    _enable_links(world)
    try:
        assert d.files.get_public_file_link(file_id)["link"].startswith(world.server.url)
    finally:
        world.admin.patch_config("FileSettings", EnablePublicLink=False)
    lic = world.mint()
    assert d.system.upload_license_file(files={"license": ("l", lic.encode())})["id"]
    assert d.system.remove_license_file() == {"status": "OK"}
    member = Driver(_options(world, name, "pw-" + name))
    member.login()
    with pytest.raises(OldNotEnough):
        member.system.remove_license_file()
