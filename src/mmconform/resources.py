"""Where the shipped data lives.

In a wheel, `specs/` and `conformance/` are copied into `mmconform/_data/`; in a source checkout
(editable install or plain `PYTHONPATH=src`) they stay at the repository root. Every room asks
this module instead of guessing paths, so the installed tool works from any directory.
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_DATA_DIR = _PACKAGE_DIR / "_data"
_REPO_ROOT = _PACKAGE_DIR.parent.parent


def _locate(name: str) -> Path:
    packaged = _DATA_DIR / name
    if packaged.is_dir():
        return packaged
    return _REPO_ROOT / name


def specs_dir() -> Path:
    """The folder holding our OpenAPI fragments, errata.yaml and UPSTREAM.yaml."""
    return _locate("specs")


def conformance_dir() -> Path:
    """The folder holding requirements.yaml, permissions/*.yaml and the conformance test modules."""
    return _locate("conformance")
