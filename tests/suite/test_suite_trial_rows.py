"""The trial guard's rows run only where the caller declared the target's trial state: a trial
licence cannot be undone on a real server (docs/facts/trial-guard.md)."""

from __future__ import annotations

import pytest

from mmconform.listing import predicted_na
from mmconform.live_target.rows import TRIAL_STATES
from mmconform.matrix import SHAPES, load_matrix
from mmconform.selection import TestFacts


def _row(state: str) -> object:
    return next(r for r in load_matrix() if r.state == state)


@pytest.mark.parametrize("state", sorted(TRIAL_STATES))
def test_each_trial_state_is_a_licence_state_with_a_row(state: str) -> None:
    assert state in SHAPES["UploadLicenseFile"].states
    assert _row(state) is not None


@pytest.mark.parametrize(
    ("state", "declared", "na"),
    [
        ("trial_after_trial", None, True),
        ("trial_after_trial", "team-edition", True),
        ("trial_after_trial", "had-trial", False),
        ("sanctioned_after_trial", "had-trial", False),
        ("trial_team_edition", "had-trial", True),
        ("trial_team_edition", "team-edition", False),
    ],
)
def test_listing_predicts_na_without_the_declared_state(
    state: str, declared: str | None, na: bool
) -> None:
    row = _row(state)
    facts = TestFacts(nodeid=state, operation="UploadLicenseFile", actor="system_admin")
    reason, _ = predicted_na(
        facts,
        row,
        version="11.5.0",
        licence_changes=True,
        signing_key=True,
        trial_state=declared,
    )
    assert (reason is not None) == na
    if na:
        assert reason is not None and TRIAL_STATES[state] in reason


def test_trial_rows_need_the_signing_key() -> None:
    facts = TestFacts(nodeid="t", operation="UploadLicenseFile", actor="system_admin")
    reason, _ = predicted_na(
        facts,
        _row("trial_after_trial"),
        version="11.5.0",
        licence_changes=True,
        signing_key=False,
        trial_state="had-trial",
    )
    assert reason is not None and "signing key" in reason
