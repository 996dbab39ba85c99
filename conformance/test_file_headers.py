"""TestGetFileHeaders: Content-Type and Content-Disposition per kind of file (FILES-GET-002)."""

from __future__ import annotations

import pytest

from mmconform.live_target.headers import CASES, HeaderCase, check_headers
from mmconform.plugin import Session, run_checked


@pytest.mark.requirement("FILES-GET-002", "FILES-GET-HEADERS-001", "FILES-GET-HEADERS-002")
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_file_headers(case: HeaderCase, mm_session: Session) -> None:
    run_checked(mm_session, lambda: check_headers(mm_session.world, case))
