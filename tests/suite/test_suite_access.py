"""Auth-kind checks fail with messages, repro lines and exchanges that hold no secret
(mmconform.live_target.access), and a query token is cut from an exchange's URL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mmconform.exchanges import ExchangeLog, Message, har_entry
from mmconform.live_target import access
from mmconform.live_target.client import Actor, Secrets, Target
from mmconform.live_target.ledger import Ledger
from mmconform.live_target.probe import probe
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import World, provision
from mmconform.reference.server import running_server

TOKEN = "querytokenvalue0123456789a"


def test_a_query_token_is_cut_from_an_exchange_url() -> None:
    secrets = Secrets()
    entry = har_entry(
        method="GET",
        url=f"http://h/api/v4/files/f?access_token={TOKEN}&download=1",
        request=Message([], b""),
        status=200,
        reason="OK",
        response=Message([], b"{}"),
        redact=secrets.redact,
    )
    text = json.dumps(entry)
    assert TOKEN not in text and "access_token=[redacted]" in text and "download=1" in text


@pytest.fixture
def faulty_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    fault: str = request.param
    with running_server(faults=frozenset({fault})) as srv:
        admin = probe(srv.url, login=srv.admin_login, password=srv.admin_password).admin
        target = Target(srv.url)
        target.secrets.add(admin.token)
        target.exchanges = ExchangeLog(tmp_path, "t")
        ledger = Ledger(tmp_path / "ledger.jsonl", "t")
        try:
            yield provision(target, admin, ledger, "mmcacc01", seed=7)
        finally:
            target.close()


def _secrets_of(world: World) -> list[str]:
    return [s for s in world.target.secrets.values() if len(s) >= 8]


CASES: list[tuple[str, Callable[[World], None]]] = [
    ("query-token-accepted", access.check_query_token),
    ("csrf-not-checked", access.check_cookie_upload_csrf),
]


@pytest.mark.parametrize(
    ("faulty_world", "check"), CASES, indirect=["faulty_world"], ids=[c[0] for c in CASES]
)
def test_failures_hold_no_secret(
    faulty_world: World, check: Callable[[World], None], tmp_path: Path
) -> None:
    with pytest.raises(ConformanceFailure) as failure:
        check(faulty_world)
    message = str(failure.value)
    assert message.startswith("[AUTH-")
    kept = "\n".join(p.read_text() for p in (tmp_path / "exchanges").glob("*.jsonl"))
    assert kept, "the failing exchange is kept"
    for secret in _secrets_of(faulty_world):
        assert secret not in message and secret not in kept
    assert "Reproduce with:" in message


def test_a_cookie_actor_repro_names_a_variable() -> None:
    line = access._repro("POST", "http://h/api/v4/files", Actor("fresh_cs", "t0ken"), "cookie")
    assert "MMAUTHTOKEN=$MM_COOKIE_FRESH_CS" in line and "t0ken" not in line
    query = access._repro(
        "GET", f"http://h/api/v4/files/f?access_token={TOKEN}", Actor("up", TOKEN), "query"
    )
    assert TOKEN not in query and "access_token@mm-token-up.txt" in query
