"""The `selftest` marker: the end-to-end kill-matrix run (minutes, not seconds)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "selftest: runs the suite against every seeded fault of the reference server (slow)",
    )
