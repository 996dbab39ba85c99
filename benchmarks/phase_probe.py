"""A pytest plugin for benchmarks/over_the_network.py: when each phase of a run starts and ends.

Loaded into the run's pytest with `-p phase_probe` (benchmarks/ on PYTHONPATH) and told where to
write by BENCH_PHASES_FILE; it only records `time.monotonic()` (one clock for every process
on Linux, so the proxy's exchange times compare with it) at the session's edges and around each
item, and which kind each item was in pytest's thread:

- `ahead`: its check had been started ahead on the pool (the item only collects the outcome);
- `alone`: a `plugin.ahead` item that may not start ahead (`overlap.must_run_alone`, the licence
  fuzz items, the stateful chain), run in pytest's thread under the exclusive lock;
- `inline`: anything else (behaviour tests, HTTP-layer tests, sequences), run in pytest's thread.

The benchmark turns this into the per-phase breakdown (wall time, exchanges, round trips on the
critical path). Nothing here changes what runs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from typing import Any

import pytest

_RECORD: dict[str, Any] = {"items": []}
_ENV = "BENCH_PHASES_FILE"


def pytest_sessionstart(session: pytest.Session) -> None:
    _RECORD["session_start"] = time.monotonic()


def _kind(item: pytest.Item) -> str:
    from mmconform import plugin

    mm = item.config.stash.get(plugin._STASH_SESSION, None)
    build = plugin._marker(item, plugin._AHEAD)
    if build is None or mm is None:
        return "inline"
    if item.nodeid in getattr(mm.overlap, "_futures", {}):
        return "ahead"
    return "inline" if build(mm, item)[1] else "alone"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    record: dict[str, Any] = {"id": item.nodeid, "start": time.monotonic(), "kind": "inline"}
    _RECORD["items"].append(record)
    try:
        return (yield)
    finally:
        record["end"] = time.monotonic()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    try:
        return (yield)
    finally:
        _RECORD["items"][-1]["setup_end"] = time.monotonic()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    _RECORD["items"][-1]["kind"] = _kind(item)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> Generator[None, object, object]:
    _RECORD["unconfigure_start"] = time.monotonic()
    try:
        return (yield)
    finally:
        _RECORD["unconfigure_end"] = time.monotonic()
        path = os.environ.get(_ENV)
        if path and not hasattr(config, "workerinput"):
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(_RECORD, fh)
