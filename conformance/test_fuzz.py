"""Contract fuzzing of every operation in specs/ with schemathesis, as the matrix's world sees it.

Three stateless tests per operation, one item each (ids `test_fuzz_positive[GET /api/v4/...]`):
positive generation as the uploader (admin for UploadLicenseFile, which cannot succeed without a
signed licence), negative generation as the same identity, and positive generation as each actor
who must be refused (no 2xx). The stateful scenarios are in test_fuzz_stateful.py.

POST and DELETE /api/v4/license are fuzzed only with --allow-license-changes and a checked
--license-file (not applicable otherwise), whoever sends them: whether a refused actor can change
the licence is what is tested, so the suite must not bet the target's licence on the answer. With
the flag each such item holds the gate's licence section, and the licence is read again after
every case: a change fails the item with the licence requirement and is undone from the file.

Collection depends only on specs/ and the profile, so every xdist worker collects the same
items. The run's seed and profile are applied in `pytest_generate_tests` (at collection);
`--hypothesis-seed` is ignored by schemathesis, `--mm-seed` is what replays a run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mmconform.fuzz import checks, uploads
from mmconform.fuzz.profiles import load_fuzz_data
from mmconform.fuzz.runner import (
    FuzzContext,
    FuzzFailure,
    apply_run_settings,
    build_schema,
    operation_label,
    prepare,
)
from mmconform.plugin import Check, Session, ahead_by_hook, fail_with_exchange
from mmconform.report.pytest_plugin import REQUIREMENTS_PROPERTY

FUZZ = FuzzContext(data=load_fuzz_data())
POSITIVE = build_schema(modes=["positive"], fuzz=FUZZ)
NEGATIVE = build_schema(modes=["negative"], fuzz=FUZZ)
# The public route needs no session: nobody is refused there. A clone of POSITIVE (same
# config, hooks and auth; building a schema costs ~0.3 s); only its fuzzing cases are sent.
REFUSED = POSITIVE.exclude(path_regex="^/files/")
MM_REQUIREMENTS = (
    checks.REQ_ERROR_SHAPE,
    checks.REQ_HEADERS,
    checks.REQ_NO_5XX,
    checks.REQ_FILE_HEADERS,
    checks.REQ_NO_PATHS,
    checks.REQ_STATUS,
    "CONTRACT-SCHEMA-001",
)
# UploadLicenseFile as the admin reaches the licence parser; RemoveLicenseFile is never fuzzed
# as the admin, because it would remove the target's licence.
_IDENTITY_BY_LABEL = {"POST /api/v4/license": "system_admin"}
# What a licence operation's case broke if the licence changed: an admin's fuzzed upload is no
# validly signed licence (LICENSE-UPLOAD-002); anyone else must be refused outright.
_LICENCE_GUARD = {
    ("POST /api/v4/license", True): ("LICENSE-UPLOAD-002",),
    ("POST /api/v4/license", False): ("LICENSE-UPLOAD-001",),
    ("DELETE /api/v4/license", True): ("LICENSE-REMOVE-001",),
    ("DELETE /api/v4/license", False): ("LICENSE-REMOVE-001",),
}


def mm_item_facts(item: pytest.Item) -> dict[str, object]:
    """Selection facts (mmconform.selection): the identity the item fuzzes as, and every ID it
    can charge: its marker's, each built-in check's (conformance/checks.yaml, charged through
    the failure's title) and, for a licence operation, the licence requirements its guard names."""
    label = str(getattr(item, "operation_label", ""))
    callspec = getattr(item, "callspec", None)
    refused = callspec.params.get("refused_actor") if callspec is not None else None
    main = refused is None
    actor = _IDENTITY_BY_LABEL.get(label, "uploader") if main else str(refused)
    return {
        "actor": actor,
        "charges": (*FUZZ.attribution_ids(), *_LICENCE_GUARD.get((label, main), ())),
    }


def _run_option(config: pytest.Config, name: str) -> Any:
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    return workerinput.get(name, config.getoption(name, default=None))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Seed and size each schemathesis test; parametrize refused actors by profile."""
    if not getattr(metafunc.function, "is_hypothesis_test", False):
        return
    profile = FUZZ.data.profile(str(metafunc.config.getoption("mm_profile", default="ci")))
    seed = int(_run_option(metafunc.config, "mm_seed") or 0)
    name = metafunc.definition.name
    examples = profile.refused_examples if name == "test_fuzz_refused" else profile.max_examples
    label = f"{name}:{operation_label(metafunc.function)}"
    apply_run_settings(metafunc.function, seed, label, examples)
    if "refused_actor" in metafunc.fixturenames:
        metafunc.parametrize("refused_actor", profile.refused_actors)


_PREPARED: list[bool] = []
_PREPARE_LOCK = threading.Lock()


def _prepared(session: Session, config: pytest.Config) -> FuzzContext:
    """FUZZ aimed at the session's target and world, once (the first test started ahead may
    come before this module's first item)."""
    with _PREPARE_LOCK:
        if not _PREPARED:
            profile = str(config.getoption("mm_profile", default="ci"))
            seed = int(_run_option(config, "mm_seed") or 0)
            prepare(FUZZ, session, profile, seed, (POSITIVE, NEGATIVE))
            _RUN_DIR[:] = [session.run_dir]
            _PREPARED.append(True)
    return FUZZ


@pytest.fixture(scope="session")
def fuzz(mm_session: Session, request: pytest.FixtureRequest) -> Iterator[FuzzContext]:
    yield _prepared(mm_session, request.config)
    FUZZ.close()
    _PREPARED.clear()


def _fuzz_check(session: Session, item: pytest.Item) -> tuple[Check, bool]:
    """One fuzz item as a check started ahead: the same Hypothesis test (same seed, same cases)
    as its own actor, in its own thread, holding the gate's shared lock. The licence operations
    never start ahead: they hold the licence section (overlap.py: what runs alone)."""
    callspec = getattr(item, "callspec", None)
    params: dict[str, Any] = dict(callspec.params) if callspec is not None else {}
    label = str(getattr(item, "operation_label", ""))
    refused = "refused_actor" in params
    actor_name = (
        str(params["refused_actor"]) if refused else _IDENTITY_BY_LABEL.get(label, "uploader")
    )
    fixture = "as_refused" if refused else "as_main_identity"
    alone = (label, not refused) in _LICENCE_GUARD

    def check() -> None:
        context = _prepared(session, item.config)
        with session.runner.gate.shared():
            _act_as(context, actor_name)
            item.obj(**{fixture: context})  # type: ignore[attr-defined]

    return check, not alone


@pytest.fixture(autouse=True)
def _operation_in_allure(request: pytest.FixtureRequest) -> None:
    """allure-pytest gives every item of one schemathesis test the same history id otherwise."""
    label = getattr(request.node, "operation_label", None)
    if label and request.config.pluginmanager.hasplugin("allure_pytest"):
        import allure

        allure.dynamic.parameter("operation", label)


@pytest.fixture
def as_main_identity(
    fuzz: FuzzContext, mm_session: Session, request: pytest.FixtureRequest
) -> Iterator[FuzzContext]:
    label = str(getattr(request.node, "operation_label", ""))
    _act_as(fuzz, _IDENTITY_BY_LABEL.get(label, "uploader"))
    with _licence_guard(mm_session, request, label, main=True):
        yield fuzz


@pytest.fixture
def as_refused(
    fuzz: FuzzContext, refused_actor: str, mm_session: Session, request: pytest.FixtureRequest
) -> Iterator[FuzzContext]:
    _act_as(fuzz, refused_actor)
    label = str(getattr(request.node, "operation_label", ""))
    with _licence_guard(mm_session, request, label, main=False):
        yield fuzz


@contextmanager
def _licence_guard(
    session: Session, request: pytest.FixtureRequest, label: str, *, main: bool
) -> Iterator[None]:
    """Licence operations: not applicable without the flag, else inside the licence section."""
    refused = _LICENCE_GUARD.get((label, main))
    if refused is None:
        yield
        return
    from mmconform.live_target.gate import NotApplicable

    gate = session.runner.gate
    # The item is evidence for the licence requirement too (a change fails it by that ID).
    props = request.node.user_properties
    for i, (name, value) in enumerate(props):
        if name == REQUIREMENTS_PROPERTY:
            props[i] = (name, ",".join(dict.fromkeys([*str(value).split(","), *refused])))
    skip = None
    try:
        with gate.licence_change(label, restore_needed=False, refused=refused):
            _GUARD_LOCAL.held[:] = [(gate, label, refused, gate.licence_state())]
            try:
                yield
            finally:
                _GUARD_LOCAL.held.clear()
    except NotApplicable as exc:
        skip = f"not applicable: {exc}"
    if skip is not None:
        pytest.skip(skip)


# The run folder of this process's session (for the failure's exchange attachment).
_RUN_DIR: list[Any] = [None]


class _Guard(threading.local):
    """The licence section of the item running in this thread (pytest's: licence items never
    start ahead, so threads running items ahead see none)."""

    def __init__(self) -> None:
        self.held: list[tuple[Any, str, tuple[str, ...], Any]] = []


_GUARD_LOCAL = _Guard()


def _after_case() -> None:
    """Inside a licence section: read the licence after each case, fail at once on a change."""
    _GUARD = _GUARD_LOCAL.held
    if not _GUARD:
        return
    from mmconform.live_target.verdict import ConformanceFailure

    gate, label, refused, before = _GUARD[0]
    failure = None
    try:
        gate.check_unchanged(label, refused, before)
    except ConformanceFailure as exc:
        failure = str(exc)
    if failure is not None:
        pytest.fail(failure, pytrace=False)


def _act_as(fuzz: FuzzContext, actor_name: str) -> None:
    actor = fuzz.actor(actor_name)
    if actor is None:
        pytest.skip(f"not applicable: the target cannot provide {actor_name}")
    fuzz.identity.actor = actor


def _skip_absent(fuzz: FuzzContext, case: Any) -> None:
    """An operation a later release added is not applicable to an older target."""
    reason = fuzz.absent(case)
    if reason:
        pytest.skip(reason)


def _send(fuzz: FuzzContext, case: Any, **kwargs: Any) -> Any:
    # pytest.fail outside the except: inside it, the report would print the failure twice
    # ("During handling of the above exception, another exception occurred").
    failure = None
    try:
        key = uploads.before(fuzz, case)
        if key is None:
            return fuzz.call_and_check(case, **kwargs)
        # An upload: what it created is in the ledger before any check can fail the case.
        response = fuzz.send(case)
        uploads.after(fuzz, key, response)
        fuzz.validate(case, response, base_url=fuzz.base_url, session=fuzz.http())
        return response
    except FuzzFailure as exc:
        failure = f"{exc}\n{fuzz.replay_hint()}"
    finally:
        _after_case()
    fail_with_exchange(_RUN_DIR[0], failure)


@ahead_by_hook(_fuzz_check)
@pytest.mark.requirement(*MM_REQUIREMENTS)
@POSITIVE.parametrize()
def test_fuzz_positive(case: Any, as_main_identity: FuzzContext) -> None:
    _skip_absent(as_main_identity, case)
    if as_main_identity.wanted(case):
        _send(as_main_identity, case)


@ahead_by_hook(_fuzz_check)
@pytest.mark.requirement(*MM_REQUIREMENTS, "CONTRACT-NEGATIVE-001")
@NEGATIVE.parametrize()
def test_fuzz_negative(case: Any, as_main_identity: FuzzContext) -> None:
    _skip_absent(as_main_identity, case)
    if as_main_identity.wanted(case):
        _send(as_main_identity, case)


@ahead_by_hook(_fuzz_check)
@pytest.mark.requirement(*MM_REQUIREMENTS, "CONTRACT-REFUSED-001")
@REFUSED.parametrize()
def test_fuzz_refused(case: Any, as_refused: FuzzContext) -> None:
    _skip_absent(as_refused, case)
    if not as_refused.wanted(case, phases=("fuzzing",)):
        return
    key = uploads.before(as_refused, case)
    response = as_refused.send(case)
    uploads.after(as_refused, key, response)
    _after_case()
    if 200 <= response.status_code < 300:  # before the other checks: this is the point
        as_refused.last_response = response
        fail_with_exchange(
            _RUN_DIR[0],
            as_refused.report(
                f"[CONTRACT-REFUSED-001] {as_refused.identity.name} got {response.status_code} "
                f"from {case.method} {case.formatted_path}; it must be refused\n"
                f"Reproduce with: {case.as_curl_command()}\n{as_refused.replay_hint()}"
            )
            + as_refused.kept_exchange(),
        )
    try:
        as_refused.validate(
            case, response, extra_excluded=("ignored_auth",), base_url=as_refused.base_url
        )
        return
    except FuzzFailure as exc:
        failure = str(exc)
    fail_with_exchange(_RUN_DIR[0], f"{failure}\n{as_refused.replay_hint()}")
