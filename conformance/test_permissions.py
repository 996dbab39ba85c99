"""The permission matrix: one test per row of conformance/permissions/*.yaml.

Ids come from the YAML only (never from the world), so every xdist worker collects the same
items; world objects are resolved when the row runs.
"""

from __future__ import annotations

import pytest

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
