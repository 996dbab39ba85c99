"""Every `sh runnable` block of the guides runs as written, in order, against the embedded server.

Each guide runs in its own temp dir with the mmconform of this venv first on PATH; a block's exit
code must be the one the guide declares (`# expect-exit: N`, default 0).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_support import GUIDES, assert_ran_as_documented, blocks, run_blocks

RUNNABLE_GUIDES = [doc for doc in GUIDES if any(b.runnable for b in blocks(doc))]


@pytest.mark.slow
@pytest.mark.parametrize("doc", RUNNABLE_GUIDES, ids=[d.name for d in RUNNABLE_GUIDES])
def test_runnable_blocks(doc: Path, tmp_path: Path) -> None:
    runnable = [b for b in blocks(doc) if b.runnable]
    assert_ran_as_documented(run_blocks(runnable, tmp_path), len(runnable))


def test_each_workflow_guide_has_a_runnable_block() -> None:
    # ci-gate.md needs a real server throughout; its recipes are checked in test_docs_ci.py.
    names = {d.name for d in RUNNABLE_GUIDES}
    assert {"upgrade-validation.md", "certification.md", "safety.md"} <= names
