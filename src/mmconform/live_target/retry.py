"""When the target pushes back: 429 rate limiting and transient transport errors.

A 429 is the deployment's rate limiter (Mattermost's `RateLimitSettings`, app/ratelimit.go: it
answers before any handler runs, so nothing happened and resending is safe for every method,
as mattermostautodriver does). It is never a verdict: the request is sent again after the wait
the target names (`Retry-After`, else `X-Ratelimit-Reset`, in seconds), within a total budget
per request; past the budget the run stops with one line (exit 3), since every later answer
would be a 429 too.

A transport error (connection refused or reset, a timeout) on an idempotent request is retried
a few times with exponential backoff (tenacity); if the target still does not answer it is gone
and the run stops (TargetFailed, exit 3). Non-idempotent requests are never resent after a
transport error: the server may have acted on them.

With several requests in flight (`--concurrency`), a 429 to one holds back every other request
of the process too (`PUSHBACK`): a limited target sees the suite slow down as a whole instead of
N requests each finding out for themselves. Every attempt holds one of the process's in-flight
slots (traffic.IN_FLIGHT) while it is on the wire, never while it waits.
"""

from __future__ import annotations

import email.utils
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from mmconform.errors import TargetFailed
from mmconform.traffic import IN_FLIGHT, TRAFFIC

R = TypeVar("R")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
DEFAULT_WAIT = 1.0  # a 429 naming no wait at all


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Policy:
    """Bounds: total seconds one request may wait out 429s; transport attempts and backoff."""

    rate_limit_budget: float = 120.0
    transport_attempts: int = 4
    backoff_initial: float = 0.2
    backoff_max: float = 2.0

    @classmethod
    def from_env(cls) -> Policy:
        """MMCONFORM_RATE_LIMIT_BUDGET (seconds) widens or narrows the 429 budget."""
        return cls(rate_limit_budget=_env_float("MMCONFORM_RATE_LIMIT_BUDGET", 120.0))


def wait_of(headers: Mapping[str, str]) -> float:
    """Seconds a 429 asks for: `Retry-After` (seconds or an HTTP date), else `X-Ratelimit-Reset`."""
    value = (headers.get("retry-after") or "").strip()
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(when.timestamp() - time.time(), 0.0)
    reset = (headers.get("x-ratelimit-reset") or "").strip()
    try:
        return max(float(reset), 0.0) if reset else DEFAULT_WAIT
    except ValueError:
        return DEFAULT_WAIT


class Pushback:
    """The moment before which the process's OTHER threads send nothing: the end of the latest
    429's wait (the thread that got it sleeps the wait itself, and counts it)."""

    def __init__(self) -> None:
        self._until = 0.0
        self._owner: int | None = None
        self._lock = threading.Lock()

    def hold_until(self, moment: float) -> None:
        with self._lock:
            if moment > self._until:
                self._until, self._owner = moment, threading.get_ident()

    def wait(self) -> None:
        """Before an attempt: sleep out what is left of a wait another thread was told about."""
        with self._lock:
            left = self._until - time.monotonic()
            mine = self._owner == threading.get_ident()
        if left > 0 and not mine:
            _sleep(left)


PUSHBACK = Pushback()


def send(
    attempt: Callable[[], R],
    *,
    method: str,
    describe: str,
    status_of: Callable[[R], int],
    headers_of: Callable[[R], Mapping[str, str]],
    transport_errors: tuple[type[BaseException], ...],
    policy: Policy | None = None,
) -> R:
    """`attempt()` until it is not a 429, within the policy; transport errors per tenacity."""
    policy = policy or Policy.from_env()
    waited = 0.0
    while True:
        response = _with_transport_retries(attempt, method, describe, transport_errors, policy)
        if status_of(response) != 429:
            return response
        TRAFFIC.count("rate_limited")
        wait = wait_of(headers_of(response))
        if waited + wait > policy.rate_limit_budget:
            raise TargetFailed(
                f"{describe}: still rate limited (429) after waiting {waited:.0f} s, the "
                f"budget is {policy.rate_limit_budget:.0f} s; raise the target's "
                "RateLimitSettings (PerSec/MaxBurst) for the suite's address, run with "
                "--workers 1, or set MMCONFORM_RATE_LIMIT_BUDGET"
            )
        # A 0 s answer still means "not now": wait one emission interval's worth at least.
        wait = max(wait, 0.05)
        PUSHBACK.hold_until(time.monotonic() + wait)
        _sleep(wait)
        waited += wait
        TRAFFIC.count("rate_limit_wait_s", wait)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time, so tests can stand in for the clock


def _with_transport_retries(
    attempt: Callable[[], R],
    method: str,
    describe: str,
    transport_errors: tuple[type[BaseException], ...],
    policy: Policy,
) -> R:
    def counted() -> R:
        PUSHBACK.wait()
        TRAFFIC.count("requests")
        with IN_FLIGHT.slot():
            return attempt()

    attempts = policy.transport_attempts if method.upper() in IDEMPOTENT else 1
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=policy.backoff_initial, max=policy.backoff_max),
        retry=tenacity.retry_if_exception_type(transport_errors),
        before_sleep=lambda _state: TRAFFIC.count("transport_retries"),
        sleep=_sleep,
        reraise=True,
    )
    try:
        return retrying(counted)
    except transport_errors as exc:
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        raise TargetFailed(
            f"{describe}: the target stopped answering{tries}: {type(exc).__name__}: {exc}"
        ) from None
