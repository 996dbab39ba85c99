"""The oracle builds offline from Debian's packages and answers; its Go version is recorded."""

from __future__ import annotations

import httpx


def test_oracle_answers_with_its_go_version(oracle_url: str) -> None:
    answer = httpx.get(f"{oracle_url}/lib/ping").json()
    assert answer["go"].startswith("go1.")
