"""Fixtures: one reference server per test module (loopback, own temp data dir)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ref_support import World, build_world

from mmconform.reference import RunningServer, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def world(server: RunningServer) -> World:
    return build_world(server)
