"""Stateful contract fuzzing: upload → info → get → link over the spec's links, then a post.

One test item; the number of scenarios and steps comes from the profile, the seed from the run.
The scenarios are one sequential chain of requests (keep-alive, one step after another), started
ahead on the pool beside the other checks (live_target/overlap.py): about 130 round trips that
were the longest sequential stretch of a run. Hypothesis digests the state machine class with
`inspect.getsource` → `ast.parse`, which on CPython 3.11 raced other threads' AST building
("SystemError: AST constructor recursion depth mismatch"); while a pool exists, AST conversions
take one lock (live_target/ast_guard.py), so the chain may run on a thread again.
"""

from __future__ import annotations

from typing import Any

import pytest

from mmconform.fuzz.profiles import load_fuzz_data
from mmconform.fuzz.runner import FuzzContext, FuzzFailure, build_schema, prepare
from mmconform.fuzz.stateful import build_machine, run_scenarios
from mmconform.plugin import Check, Session, ahead, fail_with_exchange, overlapped

FUZZ = FuzzContext(data=load_fuzz_data())
# Positive only: a scenario is about what a correct client does with what it gets back.
# No licence operation: a scenario has no business with the licence, and a server whose licence
# check is broken would let one change it (the licence is fuzzed only in test_fuzz.py, gated).
STATEFUL = build_schema(modes=["positive"], fuzz=FUZZ, phases=["stateful"]).exclude(
    path_regex="^/api/v4/license"
)


def _scenarios_check(session: Session, item: pytest.Item) -> tuple[Check, bool]:
    def check() -> None:
        with session.runner.gate.shared():
            _scenarios(session, item.config)

    return check, True  # ahead: AST building is guarded (see the module's docstring)


@ahead(_scenarios_check)
@pytest.mark.requirement(
    "CONTRACT-STATE-001",
    "CONTRACT-ERROR-001",
    "CONTRACT-HEADERS-001",
    "CONTRACT-SERVER-001",
    "CONTRACT-FILEHDR-001",
    "CONTRACT-INFO-001",
    "CONTRACT-STATUS-001",
    "CONTRACT-SCHEMA-001",
)
def test_fuzz_stateful(mm_session: Session, request: pytest.FixtureRequest) -> None:
    overlapped(mm_session, request.node)()


def _scenarios(mm_session: Session, config: pytest.Config) -> None:
    """The scenarios as this run's profile and seed ask, as the uploader."""
    profile_name = str(config.getoption("mm_profile", default="ci"))
    seed = _run_seed(config)
    prepare(FUZZ, mm_session, profile_name, seed, (STATEFUL,))
    uploader = FUZZ.actor("uploader")
    if uploader is None:
        pytest.skip("not applicable: the target cannot provide the uploader")
    FUZZ.identity.actor = uploader
    profile = FUZZ.data.profile(profile_name)
    machine: Any = build_machine(STATEFUL, FUZZ)
    try:
        run_scenarios(machine, seed, profile.stateful_scenarios, profile.stateful_steps)
        return
    except FuzzFailure as exc:
        failure = str(exc)  # failed outside the except, so the report shows it once
    fail_with_exchange(mm_session.run_dir, f"{failure}\n{FUZZ.replay_hint()}")


def mm_item_facts(item: pytest.Item) -> dict[str, object]:
    """Selection facts (mmconform.selection): the scenarios run as the uploader and can charge
    what the built-in checks name (conformance/checks.yaml) besides the marker's IDs."""
    return {"actor": "uploader", "charges": FUZZ.attribution_ids()}


def _run_seed(config: pytest.Config) -> int:
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    return int(workerinput.get("mm_seed", config.getoption("mm_seed", default=None)) or 0)
