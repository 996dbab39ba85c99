"""What the suite sent and what the target pushed back, counted per process.

Both HTTP paths of the suite (the live-target client and the fuzz session) count here; the
results plugin adds up every pytest process's counts (xdist `workeroutput`) into results.json's
`traffic`, and the run summary prints them, so a rate-limited run shows what it cost. The bound
on requests in flight (`--concurrency`) lives here too, next to what it bounds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

FIELDS = ("requests", "rate_limited", "rate_limit_wait_s", "transport_retries")
# Not summed across processes: the highest any one process reached.
PEAKS = ("max_in_flight",)


@dataclass
class Traffic:
    """Requests sent (every attempt), 429 answers, seconds slept for them, transport retries."""

    requests: int = 0
    rate_limited: int = 0
    rate_limit_wait_s: float = 0.0
    transport_retries: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str, amount: float = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def peak(self, name: str, value: int) -> None:
        with self._lock:
            setattr(self, name, max(getattr(self, name), value))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in FIELDS + PEAKS}
        data["rate_limit_wait_s"] = round(float(data["rate_limit_wait_s"]), 3)
        return data

    def add(self, other: dict[str, Any]) -> None:
        for name in FIELDS:
            value = other.get(name, 0)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.count(name, value)
        for name in PEAKS:
            value = other.get(name, 0)
            if isinstance(value, int) and not isinstance(value, bool):
                self.peak(name, value)


class InFlight:
    """At most `limit` requests of this process in flight at once (every HTTP path of the suite
    passes `slot()`, in retry.py); the peak reached is reported as traffic's `max_in_flight`."""

    def __init__(self, limit: int = 1) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.now = 0

    def set_limit(self, limit: int) -> None:
        """The run's --concurrency; requests in flight keep (and give back) their old slot."""
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[None]:
        slots = self._slots
        slots.acquire()
        with self._lock:
            self.now += 1
            TRAFFIC.peak("max_in_flight", self.now)
        try:
            yield
        finally:
            with self._lock:
                self.now -= 1
            slots.release()


TRAFFIC = Traffic()
# Sequential unless told: the plugin sets the run's --concurrency before its first request.
IN_FLIGHT = InFlight(1)
