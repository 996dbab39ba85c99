"""The permission matrix: one test per row of conformance/permissions/*.yaml.

Ids come from the YAML only (never from the world), so every xdist worker collects the same
items; world objects are resolved when the row runs. Rows are started ahead on the run's
--concurrency (live_target/overlap.py), except those `must_run_alone` names; each item reports
its own row's outcome in pytest's order.
"""

from __future__ import annotations

import pytest

from mmconform.live_target.overlap import must_run_alone
from mmconform.matrix import Row, load_matrix
from mmconform.plugin import Check, Session, ahead, overlapped, run_checked

ROWS = load_matrix()


def _row_check(session: Session, item: pytest.Item) -> tuple[Check, bool]:
    row: Row = item.callspec.params["row"]  # type: ignore[attr-defined]
    return (lambda: session.runner.run(row)), not must_run_alone(row)


@ahead(_row_check)
@pytest.mark.parametrize(
    "row",
    [
        pytest.param(r, id=r.id, marks=pytest.mark.requirement(*r.checked_requirements))
        for r in ROWS
    ],
)
def test_permission(row: Row, mm_session: Session, request: pytest.FixtureRequest) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))
