"""Fixed and per-request cost of a fuzz run, without changing what is generated or sent.

Start-up: pytest marks every distribution with a pytest11 entry point for rewriting; without a
bytecode cache that recompiles some 300 modules per process (~3 s, most of the fuzzing overhead
measured by benchmarks/fuzz_overhead.py). mmconform.plugin unmarks schemathesis and Hypothesis.
Per request: one keep-alive session instead of a new connection per case.
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


def test_one_session_per_process_without_headers_or_cookies_of_its_own() -> None:
    """Keep-alive like `st run`, but each request carries only the headers it carried before."""
    from schemathesis.transport.requests import ManagedCookiesSession

    from mmconform.fuzz.profiles import load_fuzz_data
    from mmconform.fuzz.runner import FuzzContext

    fuzz = FuzzContext(data=load_fuzz_data())
    session = fuzz.http()
    assert fuzz.http() is session
    assert isinstance(session, ManagedCookiesSession)  # response cookies dropped per request
    assert not session.headers  # no python-requests User-Agent/Accept merged into cases
    fuzz.close()
    assert fuzz.http() is not session
