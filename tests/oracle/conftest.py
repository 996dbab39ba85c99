"""Fixtures of the differential tests: the Go oracle (once per process) and a reference server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from oracle_support import missing_reason, running_oracle


@pytest.fixture(scope="session")
def oracle_url() -> Iterator[str]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(f"Go oracle not available: {reason}")
    with running_oracle() as url:
        yield url
