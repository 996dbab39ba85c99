"""One world per run: the controller's world travels to every process whole, secrets included."""

from __future__ import annotations

from pathlib import Path

from mmconform.live_target.client import Actor, Target
from mmconform.live_target.ledger import Ledger
from mmconform.live_target.shared_world import pack, unpack
from mmconform.live_target.world import StoredFile, World


def test_a_packed_world_comes_back_bound_to_the_receiving_process(tmp_path: Path) -> None:
    sender = Target("http://127.0.0.1:9")
    sender.secrets.add("user-password-123")
    controller_admin = Actor("system_admin", token="controller-admin-token", user_id="a1")
    world = World("mmcabcde", sender, controller_admin, Ledger(tmp_path / "l.jsonl", "c"))
    world.actors = {"uploader": Actor("uploader", token="tok-up", user_id="u1")}
    world.actors["system_admin"] = controller_admin
    world.unavailable = {"guest_in_channel": "POST /users/x/demote answered 501"}
    world.files[("public", "attached")] = StoredFile(
        "f1", "n.txt", b"\x00bytes", "text/plain", "public", "c1", "u1", post_id="p1"
    )
    world.posts[("public", "with_files")] = "p1"
    world.keys["team"] = "c:1-1"

    receiver = Target("http://127.0.0.1:9")
    mine = Actor("system_admin", token="worker-admin-token", user_id="a1")
    got = unpack(pack(world), receiver, mine, Ledger(tmp_path / "l.jsonl", "w"))

    assert got.target is receiver and got.admin is mine
    assert got.actors["system_admin"] is mine, "the provisioner's admin session is not reused"
    assert got.actors["uploader"] == world.actors["uploader"]
    assert got.files == world.files and got.posts == world.posts and got.keys == world.keys
    assert got.unavailable == world.unavailable
    assert receiver.redact("x user-password-123 y") == "x <redacted> y"
    sender.close()
    receiver.close()
