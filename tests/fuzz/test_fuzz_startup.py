"""Start-up cost of a fuzz run: pytest must not assertion-rewrite schemathesis and Hypothesis.

pytest marks every distribution with a pytest11 entry point for rewriting; without a bytecode
cache that recompiles some 300 modules per process (~3 s, most of the fuzzing overhead measured
by benchmarks/fuzz_overhead.py). mmconform.plugin unmarks them when pytest loads it.
"""

from __future__ import annotations

import hypothesis
import schemathesis
from _pytest.assertion.rewrite import AssertionRewritingHook

import mmconform.plugin


def test_libraries_are_imported_without_rewriting() -> None:
    for module in (schemathesis, hypothesis, schemathesis.openapi):
        loader = module.__spec__.loader if module.__spec__ else None
        assert not isinstance(loader, AssertionRewritingHook), module.__name__


def test_our_test_modules_are_still_rewritten() -> None:
    assert isinstance(__spec__.loader, AssertionRewritingHook)  # type: ignore[name-defined]
    assert set(mmconform.plugin._NOT_REWRITTEN) == {"hypothesis", "schemathesis"}
