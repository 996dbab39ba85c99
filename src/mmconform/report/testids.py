"""Test ids relative to the conformance folder, whatever way pytest was started.

pytest names a test by its path from the rootdir, so one test was
`test_fuzz.py::…` under `mmconform run`, `conformance/test_fuzz.py::…` from a checkout and
`../lib/python3.11/site-packages/mmconform/_data/conformance/test_fuzz.py::…` (or an absolute
path) under `--pyargs mmconform`: `mmconform diff` across two styles saw every test vanish and
reappear, and regressions became invisible. Every report (results.json, JUnit, Allure, the
terminal) now carries `test_fuzz.py::…` for a conformance test, and `diff` reads old ids the same
way.
"""

from __future__ import annotations

from pathlib import Path

# The folder names a conformance module can sit in (checkout, wheel).
_ANCHORS = ("conformance/",)


def conformance_folder_of(path: Path, default: Path) -> Path:
    """The conformance folder `path` lies in: the nearest ancestor holding a conformance
    registry (a checkout's `conformance/` when the installed package's copy is elsewhere, as
    under a wheel install), else `default`."""
    for parent in path.resolve().parents:
        if (parent / "requirements.yaml").is_file() and (parent / "checks.yaml").is_file():
            return parent
    return default


def stable_nodeid(nodeid: str, path: Path | None, folder: Path) -> str:
    """`nodeid` with its file part made relative to the conformance folder `path` lies in
    (`folder` when no nearer one holds it)."""
    if path is None:
        return nodeid
    try:
        relative = path.resolve().relative_to(conformance_folder_of(path, folder).resolve())
    except ValueError:
        return nodeid
    _, sep, rest = nodeid.partition("::")
    return relative.as_posix() + (sep + rest if sep else "")


def normalise(nodeid: str) -> str:
    """An id from any results.json, old or new, in the stable form (for matching in `diff`)."""
    head, sep, rest = nodeid.partition("::")
    head = head.replace("\\", "/")
    for anchor in _ANCHORS:
        index = head.rfind("/" + anchor)
        if index >= 0:
            head = head[index + 1 + len(anchor) :]
        elif head.startswith(anchor):
            head = head[len(anchor) :]
    return head + sep + rest
