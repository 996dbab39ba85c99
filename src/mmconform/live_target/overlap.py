"""Overlapping independent requests: a bounded number in flight, verdicts independent of N.

Against a server 25-100 ms away the suite's time is its number of sequential requests times the
round trip. Independent checks (matrix rows, the header table) are therefore started ahead of
pytest on a small thread pool; pytest still runs and reports every item in its own order, and
an item whose check was started ahead only collects the outcome (the same exception, re-raised).
`--concurrency 1` starts nothing ahead: every request is sent by the test that needs it.

How many requests are in flight is bounded in ONE place, `traffic.IN_FLIGHT`, which every request
of the live-target client and the fuzz session passes (retry.py), pool threads and pytest's own
thread alike: N bounds what the target sees from this process, not only a pool's size.

What must stay sequential is decided in ONE place too, `must_run_alone`: a check that changes
server-wide state (config, licence) or depends on a change made mid-run runs in pytest's own
thread when its turn comes, under the gate's exclusive lock (gate.py), never ahead. The fuzz
tests, the stateful chain and the access tests are started ahead by their modules
(`plugin.ahead_by_hook`, `plugin.ahead`); while the pool exists, AST conversions are serialised
(ast_guard.py).
Everything started ahead holds the gate's shared lock like any row, so an exclusive section of
another item never overlaps it: the verdict of each item is the one a sequential run gives.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from mmconform.errors import UsageError
from mmconform.live_target import ast_guard
from mmconform.matrix import Row

DEFAULT_CONCURRENCY = 8
ENV = "MMCONFORM_CONCURRENCY"
# Operations whose every row may change the licence (whoever sends them): gate.licence_change.
_LICENCE_OPERATIONS = frozenset({"UploadLicenseFile", "RemoveLicenseFile"})


def must_run_alone(row: Row) -> bool:
    """The one list of matrix rows that are never started ahead of their turn.

    A row under a non-default `config` changes (or needs) a server-wide setting (the salt change
    and the restricted admin included); a licence operation may change the licence, whoever
    sends it. Both run in pytest's thread, each alone under the gate's exclusive lock.
    """
    return row.config != "default" or row.operation in _LICENCE_OPERATIONS


# The `config` values whose rows need only settings changed (rows._CONFIG_SETTINGS); the rows of
# one such config share one exclusive section (gate.holding) instead of one section each.
_SETTINGS_CONFIGS = frozenset(
    {
        "public_links_off",
        "attachments_off",
        "small_max_file_size",
        "small_max_image_resolution",
        "compliance_on",
    }
)


def batch_key(row: Row) -> str | None:
    """Rows with the same key run side by side in one held section of their settings; None:
    the row runs alone (licence rows, the salt change, the restricted admin)."""
    if row.config in _SETTINGS_CONFIGS and row.operation not in _LICENCE_OPERATIONS:
        return row.config
    return None


def parse_concurrency(raw: str | int | None, where: str) -> int:
    """N from an option or its environment twin; one line and exit 2 when it is no count."""
    if raw is None or raw == "":
        return DEFAULT_CONCURRENCY
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise UsageError(f"{where} {raw!r} is not a count of requests; give 1 (sequential) or more")
    return value


def concurrency_from_env() -> int:
    return parse_concurrency(os.environ.get(ENV), ENV)


class Overlap:
    """Checks started ahead on a pool of N threads, keyed by pytest item id."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._pool = (
            ThreadPoolExecutor(concurrency, thread_name_prefix="mmconform")
            if concurrency > 1
            else None
        )
        self._futures: dict[str, Future[None]] = {}
        self._done: set[str] = set()  # collected: never started again
        self._lock = threading.Lock()
        if self._pool is not None:  # Hypothesis on threads: ASTs built one at a time
            ast_guard.install()

    def start(self, work: Iterable[tuple[str, Callable[[], None]]]) -> None:
        """Start each (key, check) not started yet; nothing when sequential (N = 1)."""
        if self._pool is None:
            return
        with self._lock:
            for key, check in work:
                if key not in self._futures:
                    self._futures[key] = self._pool.submit(check)

    def started(self, key: str) -> bool:
        with self._lock:
            return key in self._futures or key in self._done

    def outcome(self, key: str, check: Callable[[], None]) -> Callable[[], None]:
        """What the item runs: the started check's outcome, or the check itself if not started."""
        with self._lock:
            future = self._futures.pop(key, None)
            self._done.add(key)
        if future is None:
            return check
        return future.result

    def wait(self, keys: Iterable[str]) -> None:
        """Until every started check of `keys` has ended (their outcomes stay to be collected)."""
        with self._lock:
            futures = [self._futures[k] for k in keys if k in self._futures]
        for future in futures:
            future.exception()

    def close(self) -> None:
        """Unfinished work is abandoned (a stopped run); started requests end on their own."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            ast_guard.uninstall()
