"""What the suite sent and what the target pushed back, counted per process.

Both HTTP paths of the suite (the live-target client and the fuzz session) count here; the
results plugin adds up every pytest process's counts (xdist `workeroutput`) into results.json's
`traffic`, and the run summary prints them, so a rate-limited run shows what it cost.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

FIELDS = ("requests", "rate_limited", "rate_limit_wait_s", "transport_retries")


@dataclass
class Traffic:
    """Requests sent (every attempt), 429 answers, seconds slept for them, transport retries."""

    requests: int = 0
    rate_limited: int = 0
    rate_limit_wait_s: float = 0.0
    transport_retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str, amount: float = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in FIELDS}
        data["rate_limit_wait_s"] = round(float(data["rate_limit_wait_s"]), 3)
        return data

    def add(self, other: dict[str, Any]) -> None:
        for name in FIELDS:
            value = other.get(name, 0)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.count(name, value)


TRAFFIC = Traffic()
