"""The permission matrix: one test per row of conformance/permissions/*.yaml.

Ids come from the YAML only (never from the world), so every xdist worker collects the same
items; world objects are resolved when the row runs.
"""

from __future__ import annotations

import pytest

from mmconform.live_target.verdict import NAMED_BY_OPERATION
from mmconform.matrix import Row, load_matrix
from mmconform.plugin import Session, run_checked

ROWS = load_matrix()


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(r, id=r.id, marks=pytest.mark.requirement(*r.checked_requirements))
        for r in ROWS
    ],
)
def test_permission(row: Row, mm_session: Session) -> None:
    run_checked(mm_session, lambda: mm_session.runner.run(row))


def mm_item_facts(item: pytest.Item) -> dict[str, object]:
    """Selection facts (mmconform.selection): the row's operation and actor, and every ID the
    row's checks can charge (its own, and those its operation's body checks name)."""
    row: Row = item.callspec.params["row"]  # type: ignore[attr-defined]
    charges = (*row.checked_requirements, *NAMED_BY_OPERATION.get(row.operation, ()))
    return {"operation": row.operation, "actor": row.actor, "charges": charges}
