"""addLicense's trial guard in the reference server's two explicit modes
(docs/facts/trial-guard.md): `had_trial` (CanStartTrial false from the start) and
`edition="team"` (no LicenseManager)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ref_support import build_world, error_id
from test_ref_license import licensed, upload

from mmconform.reference import running_server
from mmconform.reference.licensing import DAY_MS, TRIAL_DURATIONS_MS
from mmconform.reference.settings import Settings


def test_had_trial_refuses_the_first_trial_and_takes_sanctioned(tmp_path: Path) -> None:
    with running_server(data_dir=tmp_path, had_trial=True) as srv:
        world = build_world(srv)
        now = int(time.time() * 1000)
        trial = world.mint(
            is_trial=True, starts_at_ms=now, expires_at_ms=now + TRIAL_DURATIONS_MS[0]
        )
        resp = upload(world.admin, trial)
        assert resp.status_code == 400
        assert error_id(resp) == "api.license.request-trial.can-start-trial.not-allowed"
        assert licensed(world) == "false"  # nothing installed
        sanctioned = world.mint(
            is_trial=True, starts_at_ms=now, expires_at_ms=now + 29 * DAY_MS + 8 * 3600_000
        )
        assert upload(world.admin, sanctioned).status_code == 200


def test_team_edition_answers_500_upgrade_needed_for_a_trial_only(tmp_path: Path) -> None:
    with running_server(data_dir=tmp_path, edition="team") as srv:
        world = build_world(srv)
        now = int(time.time() * 1000)
        trial = world.mint(
            is_trial=True, starts_at_ms=now, expires_at_ms=now + TRIAL_DURATIONS_MS[0]
        )
        resp = upload(world.admin, trial)
        assert resp.status_code == 500 and error_id(resp) == "api.license.upgrade_needed.app_error"
        assert licensed(world) == "false"
        assert upload(world.admin, world.mint()).status_code == 200  # no trial: no guard


def test_unknown_edition_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="edition"):
        Settings(data_dir=tmp_path, edition="starter")
