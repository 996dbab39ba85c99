"""Auth kinds (cookie, CSRF, query token, PAT) and mid-run access changes
(conformance/requirements-access.yaml; mmconform.live_target.access).

Every check works on users it creates, so all but the PAT one start ahead on the run's
--concurrency (live_target/overlap.py); the PAT one turns a setting on server-wide and runs
alone, with the other items that must, after everything else (plugin._alone_last).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mmconform.live_target import access
from mmconform.live_target.gate import NotApplicable
from mmconform.live_target.world import World
from mmconform.plugin import Check, Session, ahead, overlapped, run_checked
from mmconform.registry import load_registry


def _versioned(
    session: Session, req_ids: tuple[str, ...], check: Callable[[World], None]
) -> Callable[[], None]:
    """N/A where the server's version is outside a requirement's range; the check otherwise,
    under the gate's shared lock (it creates users: no licence row may count seats meanwhile)."""

    def action() -> None:
        for req_id in req_ids:
            requirement = load_registry()[req_id]
            if not requirement.applies_to(session.server_version):
                raise NotApplicable(f"{req_id} applies to servers {requirement.versions}")
        with session.runner.gate.shared():
            check(session.world)

    return action


# test name → (requirement, check): what each test runs, started ahead or in its turn.
_CHECKS: dict[str, tuple[str, Callable[[World], None]]] = {
    "test_cookie_session_reads_without_csrf": ("AUTH-COOKIE-001", access.check_cookie_reads),
    "test_cookie_upload_needs_the_csrf_token": ("AUTH-CSRF-001", access.check_cookie_upload_csrf),
    "test_cookie_upload_with_x_requested_with": ("AUTH-CSRF-002", access.check_cookie_upload_xhr),
    "test_query_string_token_is_refused": ("AUTH-QUERY-001", access.check_query_token),
    "test_leaving_a_private_channel_ends_reads": ("ACCESS-SEQ-001", access.check_leave_channel),
    "test_leaving_the_team_ends_reads": ("ACCESS-SEQ-002", access.check_leave_team),
    "test_deactivation_ends_a_used_session": ("ACCESS-SEQ-003", access.check_deactivate_after_use),
}


def _access_check(session: Session, item: pytest.Item) -> tuple[Check, bool]:
    if item.name == _PAT_TEST:
        return _pat_check(session), False  # a server-wide setting: never ahead (overlap.py)
    req_id, check = _CHECKS[item.name]
    return _versioned(session, (req_id,), check), True


@ahead(_access_check)
@pytest.mark.requirement("AUTH-COOKIE-001")
def test_cookie_session_reads_without_csrf(
    mm_session: Session, request: pytest.FixtureRequest
) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))


@ahead(_access_check)
@pytest.mark.requirement("AUTH-CSRF-001")
def test_cookie_upload_needs_the_csrf_token(
    mm_session: Session, request: pytest.FixtureRequest
) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))


@ahead(_access_check)
@pytest.mark.requirement("AUTH-CSRF-002")
def test_cookie_upload_with_x_requested_with(
    mm_session: Session, request: pytest.FixtureRequest
) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))


@ahead(_access_check)
@pytest.mark.requirement("AUTH-QUERY-001")
def test_query_string_token_is_refused(mm_session: Session, request: pytest.FixtureRequest) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))


@ahead(_access_check)
@pytest.mark.requirement("ACCESS-SEQ-001")
def test_leaving_a_private_channel_ends_reads(
    mm_session: Session, request: pytest.FixtureRequest
) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))


@ahead(_access_check)
@pytest.mark.requirement("ACCESS-SEQ-002")
def test_leaving_the_team_ends_reads(mm_session: Session, request: pytest.FixtureRequest) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))


@ahead(_access_check)
@pytest.mark.requirement("ACCESS-SEQ-003")
def test_deactivation_ends_a_used_session(
    mm_session: Session, request: pytest.FixtureRequest
) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))


_PAT_TEST = "test_personal_access_token_reads_until_revoked"


def _pat_check(session: Session) -> Check:
    """EnableUserAccessTokens only behind the config gate (N/A with its reason where the target
    may not be changed), restored when the section ends."""

    def action() -> None:
        with session.runner.gate.settings(access.PAT_SETTINGS):
            access.check_pat_read_then_revoke(session.world)

    return action


@ahead(_access_check)
@pytest.mark.requirement("AUTH-PAT-001", "ACCESS-SEQ-004")
def test_personal_access_token_reads_until_revoked(
    mm_session: Session, request: pytest.FixtureRequest
) -> None:
    run_checked(mm_session, overlapped(mm_session, request.node))
