"""The AST guard (live_target/ast_guard.py): CPython 3.11's AST conversion on threads.

Unguarded, `_race` fails with "SystemError: AST constructor recursion depth mismatch" on
CPython 3.11.7 within seconds (measured 2026-12-02: 4 parsing threads beside one making garbage
with finalizers; `python tests/live_target/test_ast_guard.py` reports the errors, 1-2 per run;
with 3 parses per thread, 6 runs in 10 failed). Guarded, the same load is serialised and so
slow (16-64 s) and variable that the tests assert the mechanism instead: conversions wait for
each other, nothing else waits, and the guard lives exactly as long as a pool.
"""

from __future__ import annotations

import ast
import builtins
import gc
import inspect
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from mmconform.live_target import ast_guard
from mmconform.live_target.overlap import Overlap


class _Cycle:
    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:  # Python code inside a collection: a thread switch point
        sum(range(50))


def _race(parses: int, seconds: float) -> list[BaseException]:
    """Parse in 4 threads while a fifth makes cyclic garbage; the errors seen."""
    import asyncio.base_events

    source = inspect.getsource(asyncio.base_events)
    errors: list[BaseException] = []
    done = threading.Event()

    def parse() -> None:
        for _ in range(parses):
            try:
                ast.parse(source)
            except SystemError as exc:
                errors.append(exc)

    def garbage() -> None:
        end = time.monotonic() + seconds
        while not done.is_set() and time.monotonic() < end:
            for _ in range(1000):
                _Cycle()

    threshold, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(50, 5, 5)
    sys.setswitchinterval(1e-6)
    try:
        parsers = [threading.Thread(target=parse) for _ in range(4)]
        maker = threading.Thread(target=garbage)
        for t in [*parsers, maker]:
            t.start()
        for t in parsers:
            t.join()
        done.set()
        maker.join()
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)
    return errors


@pytest.fixture
def guarded() -> Iterator[None]:
    ast_guard.install()
    try:
        yield
    finally:
        ast_guard.uninstall()


def _ends_within(work: Callable[[], object], seconds: float) -> bool:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def test_ast_conversions_wait_for_each_other_and_nothing_else_does(guarded: None) -> None:
    """While one thread converts (holds the guard's lock), another's ast.parse and compile of
    an AST wait; compiling source to code does not (imports never wait)."""
    tree = ast.parse("y = 2")
    with ast_guard._CONVERT:
        waiting = threading.Thread(target=lambda: ast.parse("x = 1"), daemon=True)
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive()
        assert not _ends_within(lambda: compile(tree, "<t>", "exec"), 0.3)
        assert _ends_within(lambda: compile("1 + 1", "<t>", "eval"), 5)
    waiting.join(5)
    assert not waiting.is_alive()


def test_the_guard_lives_as_long_as_a_pool() -> None:
    original = builtins.compile
    overlap = Overlap(4)
    assert ast_guard.installed()
    assert isinstance(ast.parse("x = 1").body[0], ast.Assign)
    assert eval(compile("1 + 1", "<t>", "eval")) == 2
    overlap.close()
    assert builtins.compile is original
    Overlap(1).close()  # sequential: nothing installed
    assert builtins.compile is original


if __name__ == "__main__":  # the unguarded race, for the record
    print(f"{sys.version.split()[0]}: {len(_race(parses=30, seconds=20))} error(s) unguarded")
