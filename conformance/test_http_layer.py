"""The real server's HTTP layer around our operations (conformance/requirements-http.yaml)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mmconform.live_target import http_layer
from mmconform.live_target.gate import NotApplicable
from mmconform.live_target.world import World
from mmconform.plugin import Session, run_checked
from mmconform.registry import load_registry


def _versioned(session: Session, req_id: str, check: Callable[[World], None]) -> Callable[[], None]:
    def action() -> None:
        requirement = load_registry()[req_id]
        if not requirement.applies_to(session.server_version):
            raise NotApplicable(f"{req_id} applies to servers {requirement.versions}")
        check(session.world)

    return action


@pytest.mark.requirement("HTTP-ERROR-001", "HTTP-ROUTE-001")
def test_errors_wipe_detail_but_the_catch_all_keeps_it(mm_session: Session) -> None:
    run_checked(mm_session, lambda: http_layer.check_errors_wipe_detail(mm_session.world))


@pytest.mark.requirement("HTTP-URL-001")
def test_url_longer_than_maximum_is_414(mm_session: Session) -> None:
    run_checked(mm_session, _versioned(mm_session, "HTTP-URL-001", http_layer.check_url_too_long))


@pytest.mark.requirement("HTTP-LINK-001")
def test_link_scheme_ignores_other_forwarded_protos(mm_session: Session) -> None:
    def action() -> None:
        with mm_session.runner.gate.settings({"FileSettings.EnablePublicLink": True}):
            http_layer.check_link_scheme(mm_session.world)

    run_checked(mm_session, action)


@pytest.mark.requirement("HTTP-COND-001")
def test_conditional_get_follows_serve_content(mm_session: Session) -> None:
    run_checked(mm_session, lambda: http_layer.check_conditional_get(mm_session.world))
