"""Read, change, read again: verdicts that no seed can hide (mmconform.live_target.sequences)."""

from __future__ import annotations

import pytest

from mmconform.live_target import sequences
from mmconform.plugin import Session, run_checked


@pytest.mark.requirement("FILES-SEQ-001")
def test_a_file_read_before_its_post_is_deleted_is_404_after(mm_session: Session) -> None:
    run_checked(mm_session, lambda: sequences.check_read_delete_read(mm_session.world))
