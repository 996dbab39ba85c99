"""Read, change, read again: verdicts that no seed can hide (mmconform.live_target.sequences)."""

from __future__ import annotations

import pytest

from mmconform.live_target import sequences
from mmconform.plugin import Session, run_checked
from mmconform.registry import load_registry


@pytest.mark.requirement("FILES-SEQ-001")
def test_a_file_read_before_its_post_is_deleted_is_404_after(mm_session: Session) -> None:
    run_checked(mm_session, lambda: sequences.check_read_delete_read(mm_session.world))


@pytest.mark.requirement("POSTS-FILES-MULTI-001", "POSTS-FILES-MULTI-002")
def test_a_post_with_three_files_lists_all_three(mm_session: Session) -> None:
    deleted = load_registry()["POSTS-FILES-MULTI-002"].applies_to(mm_session.server_version)
    run_checked(
        mm_session,
        lambda: sequences.check_post_with_three_files(mm_session.world, include_deleted=deleted),
    )
