"""Fixtures: a reference server per test, licensed the way `mmconform run` licenses it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from suite_support import Licensed, license_server

from mmconform.reference.server import RunningServer, running_server


@pytest.fixture
def ref_server() -> Iterator[RunningServer]:
    with running_server() as srv:
        yield srv


@pytest.fixture
def licensed(ref_server: RunningServer, tmp_path: Path) -> Licensed:
    return license_server(ref_server, tmp_path, now_ms=int(time.time() * 1000))
