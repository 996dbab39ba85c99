"""Contract fuzzing of every operation in specs/ with schemathesis, as the matrix's world sees it.

Three stateless tests per operation, one item each (ids `test_fuzz_positive[GET /api/v4/...]`):
positive generation as the uploader (admin for UploadLicenseFile, which cannot succeed without a
signed licence), negative generation as the same identity, and positive generation as each actor
who must be refused (no 2xx). The stateful scenarios are in test_fuzz_stateful.py.

Collection depends only on specs/ and the profile, so every xdist worker collects the same
items. The run's seed and profile are applied in `pytest_generate_tests` (at collection);
`--hypothesis-seed` is ignored by schemathesis, `--mm-seed` is what replays a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mmconform.fuzz import checks
from mmconform.fuzz.profiles import load_fuzz_data
from mmconform.fuzz.runner import (
    FuzzContext,
    FuzzFailure,
    apply_run_settings,
    build_schema,
    operation_label,
    prepare,
)
from mmconform.plugin import Session

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


@pytest.fixture(scope="session")
def fuzz(mm_session: Session, request: pytest.FixtureRequest) -> Iterator[FuzzContext]:
    profile = str(request.config.getoption("mm_profile", default="ci"))
    seed = int(_run_option(request.config, "mm_seed") or 0)
    prepare(FUZZ, mm_session, profile, seed, (POSITIVE, NEGATIVE))
    yield FUZZ
    FUZZ.close()


@pytest.fixture(autouse=True)
def _operation_in_allure(request: pytest.FixtureRequest) -> None:
    """allure-pytest gives every item of one schemathesis test the same history id otherwise."""
    label = getattr(request.node, "operation_label", None)
    if label and request.config.pluginmanager.hasplugin("allure_pytest"):
        import allure

        allure.dynamic.parameter("operation", label)


@pytest.fixture
def as_main_identity(fuzz: FuzzContext, request: pytest.FixtureRequest) -> Iterator[FuzzContext]:
    label = str(getattr(request.node, "operation_label", ""))
    _act_as(fuzz, _IDENTITY_BY_LABEL.get(label, "uploader"))
    yield fuzz


@pytest.fixture
def as_refused(fuzz: FuzzContext, refused_actor: str) -> Iterator[FuzzContext]:
    _act_as(fuzz, refused_actor)
    yield fuzz


def _act_as(fuzz: FuzzContext, actor_name: str) -> None:
    actor = fuzz.actor(actor_name)
    if actor is None:
        pytest.skip(f"not applicable: the target cannot provide {actor_name}")
    fuzz.identity.actor = actor


def _send(fuzz: FuzzContext, case: Any, **kwargs: Any) -> Any:
    # pytest.fail outside the except: inside it, the report would print the failure twice
    # ("During handling of the above exception, another exception occurred").
    try:
        return fuzz.call_and_check(case, **kwargs)
    except FuzzFailure as exc:
        failure = str(exc)
    pytest.fail(f"{failure}\n{fuzz.replay_hint()}", pytrace=False)


@pytest.mark.requirement(*MM_REQUIREMENTS)
@POSITIVE.parametrize()
def test_fuzz_positive(case: Any, as_main_identity: FuzzContext) -> None:
    if as_main_identity.wanted(case):
        _send(as_main_identity, case)


@pytest.mark.requirement(*MM_REQUIREMENTS, "CONTRACT-NEGATIVE-001")
@NEGATIVE.parametrize()
def test_fuzz_negative(case: Any, as_main_identity: FuzzContext) -> None:
    if as_main_identity.wanted(case):
        _send(as_main_identity, case)


@pytest.mark.requirement(*MM_REQUIREMENTS, "CONTRACT-REFUSED-001")
@REFUSED.parametrize()
def test_fuzz_refused(case: Any, as_refused: FuzzContext) -> None:
    if not as_refused.wanted(case, phases=("fuzzing",)):
        return
    response = as_refused.send(case)
    if 200 <= response.status_code < 300:  # before the other checks: this is the point
        pytest.fail(
            as_refused.report(
                f"[CONTRACT-REFUSED-001] {as_refused.identity.name} got {response.status_code} "
                f"from {case.method} {case.formatted_path}; it must be refused\n"
                f"Reproduce with: {case.as_curl_command()}\n{as_refused.replay_hint()}"
            ),
            pytrace=False,
        )
    try:
        as_refused.validate(
            case, response, extra_excluded=("ignored_auth",), base_url=as_refused.base_url
        )
        return
    except FuzzFailure as exc:
        failure = str(exc)
    pytest.fail(f"{failure}\n{as_refused.replay_hint()}", pytrace=False)
