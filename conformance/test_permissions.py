"""The permission matrix: one test per row of conformance/permissions/*.yaml.

Ids come from the YAML only (never from the world), so every xdist worker collects the same
items; world objects are resolved when the row runs. Rows are started ahead on the run's
--concurrency (live_target/overlap.py), except those `must_run_alone` names; of those, the rows
of one settings-only `config` (overlap.batch_key) run side by side in one exclusive section of
their settings (gate.holding). Each item reports its own row's outcome in pytest's order.
"""

from __future__ import annotations

from typing import Any

import pytest

from mmconform.live_target.overlap import batch_key, must_run_alone
from mmconform.live_target.verdict import NAMED_BY_OPERATION
from mmconform.matrix import Row, load_matrix
from mmconform.plugin import Check, Session, ahead, overlapped, run_checked, upcoming

ROWS = load_matrix()


def _row_of(item: pytest.Item) -> Row | None:
    callspec = getattr(item, "callspec", None)
    row = callspec.params.get("row") if callspec is not None else None
    return row if isinstance(row, Row) else None


def _row_check(session: Session, item: pytest.Item) -> tuple[Check, bool]:
    row = _row_of(item)
    assert row is not None
    return (lambda: session.runner.run(row)), not must_run_alone(row)


def _batched(session: Session, item: pytest.Item, row: Row) -> Check | None:
    """The first row of its batch still to run: run the batch (this process's rows of that
    config still to come) in one held section, side by side; its own outcome is collected."""
    key = batch_key(row)
    if key is None or session.overlap.concurrency <= 1 or session.overlap.started(item.nodeid):
        return None
    group = [(it, r) for it in upcoming(item) if (r := _row_of(it)) is not None]
    group = [(it, r) for it, r in group if batch_key(r) == key]
    group = [(it, r) for it, r in group if not session.overlap.started(it.nodeid)]
    wanted: dict[str, Any] = {}
    for _it, r in group:
        for setting, value in session.runner.wanted_settings(r).items():
            if wanted.setdefault(setting, value) != value:
                return None  # rows of the batch disagree about a setting: each runs alone
    gate = session.runner.gate

    def joined(r: Row) -> Check:
        def run() -> None:
            with gate.joined():
                session.runner.run(r)

        return run

    def batch() -> None:
        with gate.holding(wanted):
            session.overlap.start([(it.nodeid, joined(r)) for it, r in group])
            session.overlap.wait([it.nodeid for it, _r in group])
        session.overlap.outcome(item.nodeid, joined(row))()

    return batch


@ahead(_row_check)
@pytest.mark.parametrize(
    "row",
    [
        pytest.param(r, id=r.id, marks=pytest.mark.requirement(*r.checked_requirements))
        for r in ROWS
    ],
)
def test_permission(row: Row, mm_session: Session, request: pytest.FixtureRequest) -> None:
    check = _batched(mm_session, request.node, row) or overlapped(mm_session, request.node)
    run_checked(mm_session, check)


def mm_item_facts(item: pytest.Item) -> dict[str, object]:
    """Selection facts (mmconform.selection): the row's operation and actor, and every ID the
    row's checks can charge (its own, and those its operation's body checks name)."""
    row: Row = item.callspec.params["row"]  # type: ignore[attr-defined]
    charges = (*row.checked_requirements, *NAMED_BY_OPERATION.get(row.operation, ()))
    return {"operation": row.operation, "actor": row.actor, "charges": charges}
