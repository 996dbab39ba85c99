"""Checks started ahead (live_target/overlap.py): outcomes as if run in turn, N=1 sequential."""

from __future__ import annotations

import threading

import pytest

from mmconform.errors import UsageError
from mmconform.live_target.gate import NotApplicable
from mmconform.live_target.overlap import Overlap, must_run_alone, parse_concurrency
from mmconform.matrix import load_matrix


def test_an_outcome_started_ahead_is_raised_when_its_item_collects_it() -> None:
    overlap = Overlap(4)
    ran: list[str] = []

    def fails() -> None:
        ran.append(threading.current_thread().name)
        raise NotApplicable("actor x unavailable")

    overlap.start([("a", fails), ("b", lambda: None)])
    with pytest.raises(NotApplicable, match="actor x unavailable"):
        overlap.outcome("a", fails)()
    overlap.outcome("b", lambda: None)()
    assert ran and ran[0].startswith("mmconform"), "it ran in a pool thread"
    assert overlap.started("a") and overlap.started("b")
    overlap.start([("a", fails)])  # collected: never started again
    assert len(ran) == 1
    overlap.close()


def test_with_one_request_in_flight_nothing_starts_ahead() -> None:
    overlap = Overlap(1)
    ran: list[str] = []
    overlap.start([("a", lambda: ran.append("ahead"))])
    assert ran == [] and not overlap.started("a")
    overlap.outcome("a", lambda: ran.append("in turn"))()
    assert ran == ["in turn"]


def test_rows_that_change_the_server_run_alone() -> None:
    rows = load_matrix()
    alone = [r for r in rows if must_run_alone(r)]
    assert all(r.config != "default" or "License" in r.operation for r in alone)
    assert any(r.operation == "RemoveLicenseFile" for r in alone)
    assert any(r.config == "attachments_off" for r in alone)
    assert not any(
        must_run_alone(r) for r in rows if r.operation == "GetFileInfo" and r.config == "default"
    )


@pytest.mark.parametrize("raw", ["0", "-2", "many", "1.5"])
def test_a_bad_concurrency_is_one_line(raw: str) -> None:
    with pytest.raises(UsageError, match="1 \\(sequential\\) or more"):
        parse_concurrency(raw, "--concurrency")


def test_concurrency_defaults_to_eight() -> None:
    assert parse_concurrency(None, "--concurrency") == 8
    assert parse_concurrency("3", "--concurrency") == 3


def test_an_item_parametrized_after_schemathesis_still_finds_its_ahead_mark() -> None:
    """test_fuzz_refused's items: schemathesis' function per operation carries no mark, and
    pytest's further parametrization (the actor) leaves the operation in `originalname`; the
    mark must still be found on the module's function, or the item never starts ahead."""
    from types import ModuleType, SimpleNamespace

    from mmconform import plugin

    def build(session: object, item: object) -> tuple[object, bool]:
        return (lambda: None), True

    def test_fuzz_refused() -> None:
        pass

    setattr(test_fuzz_refused, plugin._AHEAD, build)
    module = ModuleType("test_fuzz")
    module.test_fuzz_refused = test_fuzz_refused
    item = SimpleNamespace(
        function=lambda: None, module=module, originalname="test_fuzz_refused[POST /api/v4/files]"
    )
    assert plugin._marker(item, plugin._AHEAD) is build  # type: ignore[arg-type]
