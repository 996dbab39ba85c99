"""The suite's pushback policy (live_target/retry.py): 429s waited out within a budget, transient
transport errors retried (tenacity) on idempotent requests only, everything counted.

The 429 answer is Mattermost's (app/ratelimit.go `RateLimitWriter`: Go `http.Error` "limit
exceeded", `Retry-After` and `X-Ratelimit-Reset` in whole seconds, rounded up).
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import requests

from mmconform.errors import TargetFailed
from mmconform.fuzz.transport import PushbackAdapter
from mmconform.live_target import retry
from mmconform.live_target.client import Target
from mmconform.traffic import TRAFFIC, InFlight, Traffic

LIMITED = {"retry-after": "1", "x-ratelimit-reset": "1", "content-type": "text/plain"}


@pytest.fixture(autouse=True)
def fresh_counts() -> Iterator[None]:
    saved = TRAFFIC.as_dict()
    for name in (
        "requests",
        "rate_limited",
        "rate_limit_wait_s",
        "transport_retries",
        "max_in_flight",
    ):
        setattr(TRAFFIC, name, 0)
    yield
    for name, value in saved.items():
        setattr(TRAFFIC, name, value)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", slept.append)
    return slept


def test_wait_of_reads_retry_after_then_the_reset() -> None:
    assert retry.wait_of({"retry-after": "3"}) == 3.0
    assert retry.wait_of({"x-ratelimit-reset": "2"}) == 2.0
    assert retry.wait_of({}) == retry.DEFAULT_WAIT
    assert retry.wait_of({"retry-after": "soon", "x-ratelimit-reset": "4"}) == 4.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < retry.wait_of({"retry-after": later}) <= 30


def _mock_target(answers: list[int]) -> Target:
    calls = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(calls)
        headers = LIMITED if status == 429 else {}
        return httpx.Response(status, headers=headers, text="limit exceeded\n")

    return Target("http://mm.test/chat", transport=httpx.MockTransport(handler))


def test_a_429_is_waited_out_for_any_method_and_counted(no_sleep: list[float]) -> None:
    target = _mock_target([429, 429, 201])
    response = target.request("POST", "/api/v4/files", content=b"x")
    assert response.status_code == 201
    assert no_sleep == [1.0, 1.0]
    assert TRAFFIC.as_dict() == {
        "requests": 3,
        "rate_limited": 2,
        "rate_limit_wait_s": 2.0,
        "transport_retries": 0,
        "max_in_flight": 1,
    }


def test_past_the_budget_the_run_stops_with_one_line(
    no_sleep: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMCONFORM_RATE_LIMIT_BUDGET", "2.5")
    target = _mock_target([429] * 10)
    with pytest.raises(TargetFailed) as caught:
        target.request("GET", "/api/v4/system/ping")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("GET http://mm.test/chat/api/v4/system/ping: still rate limited")
    assert "budget is 2 s" in message or "budget is 3 s" in message
    assert "MMCONFORM_RATE_LIMIT_BUDGET" in message
    assert no_sleep == [1.0, 1.0]


def _failing_target(failures: int) -> tuple[Target, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) <= failures:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"status": "OK"})

    return Target("http://mm.test", transport=httpx.MockTransport(handler)), seen


def test_a_transient_transport_error_on_a_get_is_retried(no_sleep: list[float]) -> None:
    target, seen = _failing_target(2)
    assert target.request("GET", "/api/v4/system/ping").status_code == 200
    assert seen == ["GET"] * 3
    assert TRAFFIC.transport_retries == 2


def test_a_target_that_stays_gone_is_target_failed(no_sleep: list[float]) -> None:
    target, seen = _failing_target(100)
    with pytest.raises(TargetFailed, match=r"stopped answering \(after 4 attempts\): ConnectError"):
        target.request("GET", "/api/v4/system/ping")
    assert len(seen) == 4


def test_a_post_is_never_resent_after_a_transport_error(no_sleep: list[float]) -> None:
    target, seen = _failing_target(1)
    with pytest.raises(TargetFailed, match="stopped answering: ConnectError"):
        target.request("POST", "/api/v4/files", content=b"x")
    assert seen == ["POST"]


def test_the_fuzz_session_waits_out_429s_below_schemathesis(
    no_sleep: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([429, 200])

    def fake_send(self: object, request: requests.PreparedRequest, **kwargs: object) -> object:
        response = requests.Response()
        response.status_code = next(answers)
        response.headers.update(LIMITED if response.status_code == 429 else {})
        response.request = request
        return response

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    session = requests.Session()
    session.mount("http://", PushbackAdapter())
    assert session.get("http://mm.test/api/v4/files/x").status_code == 200
    assert TRAFFIC.rate_limited == 1 and no_sleep == [1.0]


def test_traffic_adds_up_across_processes() -> None:
    total = Traffic()
    total.add({"requests": 5, "rate_limited": 1, "rate_limit_wait_s": 1.5})
    total.add({"requests": 2, "transport_retries": 1, "bogus": 3, "max_in_flight": 4})
    total.add({"max_in_flight": 3})
    assert total.as_dict() == {
        "requests": 7,
        "rate_limited": 1,
        "rate_limit_wait_s": 1.5,
        "transport_retries": 1,
        "max_in_flight": 4,  # the highest one process reached, not a sum
    }


def test_requests_in_flight_never_exceed_the_bound() -> None:
    """Eight threads, a bound of three: the peak seen by the target side is three."""
    limit = InFlight(3)
    lock = threading.Lock()
    seen = [0, 0]  # now, peak

    def one() -> None:
        with limit.slot():
            with lock:
                seen[0] += 1
                seen[1] = max(seen[1], seen[0])
            time.sleep(0.02)
            with lock:
                seen[0] -= 1

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen[1] == 3


def test_a_429_to_one_thread_holds_back_the_others(no_sleep: list[float]) -> None:
    """The 429's own thread sleeps its wait once; another thread sleeps what is left of it."""
    pushback = retry.Pushback()
    pushback.hold_until(time.monotonic() + 5)
    pushback.wait()
    assert no_sleep == [], "the thread told to wait already waited"
    other = threading.Thread(target=pushback.wait)
    other.start()
    other.join()
    assert len(no_sleep) == 1 and 4 < no_sleep[0] <= 5
