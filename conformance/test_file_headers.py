"""TestGetFileHeaders: Content-Type and Content-Disposition per kind of file (FILES-GET-002).

Each case uploads its own file and reads it back: independent, so started ahead on the run's
--concurrency (live_target/overlap.py).
"""

from __future__ import annotations

import pytest

from mmconform.live_target.headers import CASES, HeaderCase, check_headers
from mmconform.plugin import Check, Session, ahead, overlapped, run_checked


def _case_check(session: Session, item: pytest.Item) -> tuple[Check, bool]:
    case: HeaderCase = item.callspec.params["case"]  # type: ignore[attr-defined]
    return (lambda: check_headers(session.world, case)), True


@ahead(_case_check)
@pytest.mark.requirement("FILES-GET-002", "FILES-GET-HEADERS-001", "FILES-GET-HEADERS-002")
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_file_headers(
    case: HeaderCase, mm_session: Session, request: pytest.FixtureRequest
) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))
