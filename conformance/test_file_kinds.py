"""File kinds and names: the FileInfo and GetFile's headers per kind (FILES-KIND-001..004).

Each case uploads its own file and reads it back: independent, so started ahead on the run's
--concurrency (live_target/overlap.py), like test_file_headers.
"""

from __future__ import annotations

import pytest

from mmconform.live_target.kinds import CASES, KindCase, check_kind
from mmconform.plugin import Check, Session, ahead, overlapped, run_checked


def _case_check(session: Session, item: pytest.Item) -> tuple[Check, bool]:
    case: KindCase = item.callspec.params["case"]  # type: ignore[attr-defined]
    return (lambda: check_kind(session.world, case)), True


@ahead(_case_check)
@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id, marks=pytest.mark.requirement(c.requirement)) for c in CASES]
)
def test_file_kinds(case: KindCase, mm_session: Session, request: pytest.FixtureRequest) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))
