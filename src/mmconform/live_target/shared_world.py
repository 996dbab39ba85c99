"""One world per run: the controller provisions it once, every pytest process uses that world.

Each xdist worker used to provision a world of its own, so `-n 4` cost four worlds of objects on
the target and four times the provisioning requests. Now the controller provisions (recording
every object in the ledger first, as before) and hands the world to its workers as bytes in
xdist's `workerinput`, an in-memory channel: the actors' tokens and passwords never touch the run
folder, which is a report. A process gets back a `World` bound to its own HTTP client, ledger
and admin session.

The blob is a pickle of the World's data fields (whatever `world.py` adds to the dataclass
travels along), made and read by the same installed package within one run, never stored.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

from mmconform.live_target.client import Actor, Target
from mmconform.live_target.ledger import Ledger
from mmconform.live_target.world import World

# Bound to one process, not data: each process supplies its own.
_PROCESS_FIELDS = frozenset({"target", "admin", "ledger"})


def pack(world: World) -> bytes:
    """The world's data and the secrets its provisioning produced (for redaction elsewhere)."""
    data = {
        f.name: getattr(world, f.name)
        for f in dataclasses.fields(world)
        if f.name not in _PROCESS_FIELDS
    }
    secrets = world.target.secrets.values()
    return pickle.dumps({"world": data, "secrets": secrets}, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(blob: bytes, target: Target, admin: Actor, ledger: Ledger) -> World:
    """The shared world for this process: its client, ledger and admin; the provisioner's
    admin session (used to create the objects) is replaced by this process's own."""
    payload: dict[str, Any] = pickle.loads(blob)  # our own bytes, this run
    for value in payload["secrets"]:
        target.secrets.add(value)
    world = World(target=target, admin=admin, ledger=ledger, **payload["world"])
    if "system_admin" in world.actors:
        world.actors["system_admin"] = admin
    return world
