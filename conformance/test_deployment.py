"""The deployment's own rules: a SiteURL subpath redirects what is outside it (DEPLOY-SUBPATH-001).

Not applicable when the target is reached at its root (no subpath in --url).
"""

from __future__ import annotations

import pytest

from mmconform.live_target.deployment import check_subpath_redirect
from mmconform.plugin import Session, run_checked


@pytest.mark.requirement("DEPLOY-SUBPATH-001")
def test_outside_the_subpath_is_redirected_into_it(mm_session: Session) -> None:
    run_checked(mm_session, lambda: check_subpath_redirect(mm_session.world))
