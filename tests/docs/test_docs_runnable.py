"""Every `sh runnable` block of the guides runs as written, in order, against the embedded server.

Each guide runs in its own temp dir with the mmconform of this venv first on PATH; a block's exit
code must be the one the guide declares (`# expect-exit: N`, default 0).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from docs_support import GUIDES, Block, assert_ran_as_documented, blocks, run_blocks

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


def _blocks(tmp_path: Path, *texts: str) -> list[Block]:
    return [Block(tmp_path / "guide.md", i, "sh runnable", t) for i, t in enumerate(texts)]


def test_runner_stops_a_block_at_its_first_failure(tmp_path: Path) -> None:
    results = run_blocks(_blocks(tmp_path, "false\ntouch reached\n", "true\n"), tmp_path)
    assert [r.code for r in results] == [1]  # the second block never runs
    assert not (tmp_path / "reached").exists()
    with pytest.raises(pytest.fail.Exception, match="exit 1, the doc expects 0"):
        assert_ran_as_documented(results, 2)


def test_runner_honours_expect_exit_and_pipefail(tmp_path: Path) -> None:
    texts = ("# expect-exit: 3\nexit 3\n", "# expect-exit: 1\nfalse | cat\n")
    results = run_blocks(_blocks(tmp_path, *texts), tmp_path)
    assert_ran_as_documented(results, 2)
    wrong = run_blocks(_blocks(tmp_path, "# expect-exit: 1\ntrue\n"), tmp_path)
    with pytest.raises(pytest.fail.Exception, match="exit 0, the doc expects 1"):
        assert_ran_as_documented(wrong, 1)


def test_runner_keeps_exports_and_stops_background_jobs(tmp_path: Path) -> None:
    texts = (
        "export GREETING=hello\nsleep 300 &\necho $! > bg.pid\n",
        'test "$GREETING" = hello\n',
    )
    assert_ran_as_documented(run_blocks(_blocks(tmp_path, *texts), tmp_path), 2)
    pid = int((tmp_path / "bg.pid").read_text())
    for _ in range(100):  # SIGTERM was sent when run_blocks returned; give it a moment to exit
        if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"background job {pid} outlived its guide")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"
