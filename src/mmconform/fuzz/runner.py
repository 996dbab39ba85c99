"""The glue between a conformance module and schemathesis: schema, settings, calls, failures.

`build_schema` gives one schemathesis schema per test function (configs are per schema object,
schemathesis-notes §1), with the world hooks and the identity provider installed. It is built at
import time from the shipped specs only, so every xdist worker collects the same items; the
target, the world and the profile arrive later through `FuzzContext`.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase

from mmconform.fuzz import checks as _checks  # noqa: F401  (registers the Mattermost checks)
from mmconform.fuzz.attribution import Attribution, load_attribution
from mmconform.fuzz.attribution import install as install_attribution
from mmconform.fuzz.identity import IdentityHolder, install_identity
from mmconform.fuzz.inputs import PoolHolder, install_world_hooks
from mmconform.fuzz.profiles import FuzzData, Profile
from mmconform.spec.loader import load_fragments

# Replaced by the real target before the first call; a literal origin keeps schemathesis happy.
PLACEHOLDER_URL = "http://127.0.0.1:9"
STATEFUL_CHECKS = ("use_after_free", "ensure_resource_availability")
_FILTERED = re.compile(r"Authorization: \[Filtered\]")
# schemathesis' curl line single-quotes its headers: the variable would never expand.
_QUOTED_FILTERED = re.compile(r"'Authorization: \[Filtered\]'")
_REPRO = re.compile(r"Reproduce with(?: this cURL command)?:?")


class FuzzFailure(AssertionError):
    """A schemathesis failure report, secrets redacted, curl kept."""


def build_schema(
    *,
    modes: Iterable[str],
    fuzz: FuzzContext,
    phases: Iterable[str] = ("examples", "coverage", "fuzzing"),
) -> Any:
    """Our assembled specs as a schemathesis schema generating `modes` (positive/negative)."""
    import schemathesis
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_dict(copy.deepcopy(_assembled_specs()))
    schema.config.update(base_url=PLACEHOLDER_URL)
    schema.config.seed = 0  # coverage cases are fixed; generated cases get the run's seed
    schema.config.generation.update(
        modes=[GenerationMode(m) for m in modes], allow_extra_parameters=False
    )
    schema.config.phases.update(phases=list(phases))
    install_world_hooks(schema, fuzz.pool)
    install_identity(schema, fuzz.identity)
    install_attribution(schema, _attribution())
    return schema


@functools.cache
def _attribution() -> Attribution:
    """conformance/checks.yaml, validated against the registry once per process."""
    return load_attribution()


@functools.cache
def _assembled_specs() -> dict[str, Any]:
    """specs/ parsed once per process (~0.2 s of YAML each time); every schema gets a copy."""
    return load_fragments()


def derived_seed(seed: int, label: str) -> int:
    """Per-test seed from the run seed: independent of which xdist worker runs the test."""
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def pin_local_constants() -> bool:
    """Hypothesis (6.13x+) mixes into its draws the literals of every "local" module in
    `sys.modules`, a pool that grows whenever a module is imported. So the cases a seed gives
    depend on how the suite was installed (an editable checkout is local, a wheel is not) and on
    what happened to be imported before a draw; with fuzz items started ahead on threads, a lazy
    import in another thread changed the pool between a case and its replay, and Hypothesis
    reported the test as flaky ("data generation behaved differently between test cases"), a
    failure that names no requirement. Pinned to the empty pool, the cases depend on the seed
    alone. It is an internal of Hypothesis: where it is gone this does nothing (False)."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without the module
        return False
    if not hasattr(providers, "_get_local_constants") or not hasattr(providers, "Constants"):
        return False  # pragma: no cover - a Hypothesis without local constants
    empty = getattr(providers, "Constants")()  # noqa: B009 - not exported
    setattr(providers, "_get_local_constants", lambda: empty)  # noqa: B010
    return True


pin_local_constants()


def hypothesis_settings(max_examples: int) -> hypothesis.settings:
    """No example database (hermetic, replay by seed only), no deadline, no health checks
    (the world fixture is session-scoped, slow targets are not our bug), no explain phase."""
    return hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.target, Phase.shrink),
        verbosity=hypothesis.Verbosity.quiet,
        print_blob=False,
        report_multiple_bugs=False,
    )


def apply_run_settings(function: Any, seed: int, label: str, max_examples: int) -> None:
    """Seed and size a schemathesis-built Hypothesis test once the run's options are known.

    Called from the module's `pytest_generate_tests`, i.e. at collection, after schemathesis
    built the test but before it runs; both are the public `hypothesis.seed`/`settings` APIs.
    """
    hypothesis.seed(derived_seed(seed, label))(function)
    hypothesis_settings(max_examples)(function)


@dataclass
class FuzzContext:
    """What a running fuzz test needs: target URL, world pool, identity, profile, redaction."""

    data: FuzzData
    pool: PoolHolder = field(default_factory=PoolHolder)
    identity: IdentityHolder = field(default_factory=IdentityHolder)
    base_url: str = PLACEHOLDER_URL
    profile: Profile | None = None
    redact: Callable[[str], str] = field(default=str)
    world: Any = None
    seed: int = 0
    version: str | None = None  # the version the run judges the target by
    _excluded: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _sessions: list[Any] = field(default_factory=list, repr=False)

    @property
    def _http(self) -> Any:
        return getattr(self._local, "http", None)

    @_http.setter
    def _http(self, value: Any) -> None:
        self._local.http = value

    @property
    def last_response(self) -> Any:
        """The last response this thread's session received (the one a failing check judged)."""
        return getattr(self._local, "last_response", None)

    @last_response.setter
    def last_response(self, value: Any) -> None:
        self._local.last_response = value

    # Where a failure's exchange is kept (mmconform.exchanges.ExchangeLog).
    exchanges: Any = None

    def http(self) -> Any:
        """One keep-alive session for every case of the thread, as `st run` has (one per
        thread: tests started ahead run side by side, and a session's cookies are its own).

        Without it schemathesis opens and closes a connection per request (~1 ms each, most of
        our per-request overhead). It is the session schemathesis would make (same-host
        redirects, response cookies dropped after each request) with no default headers of its
        own, so every request carries exactly the headers it carried before.
        """
        if self._http is None:
            from schemathesis.transport.requests import ManagedCookiesSession

            from mmconform.fuzz.transport import PushbackAdapter, install

            install()
            self._http = ManagedCookiesSession()
            self._http.headers.clear()
            # 429s are waited out and transport errors retried below schemathesis, so neither
            # ever reaches a check (an 'undocumented status' or a failed requirement).
            self._http.mount("http://", PushbackAdapter())
            self._http.mount("https://", PushbackAdapter())
            self._http.hooks["response"].append(self._remember)
            self._sessions.append(self._http)
        return self._http

    def _remember(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.last_response = response

    def kept_exchange(self) -> str:
        """The pointer line to the exchange the failure judged ("" when none is kept)."""
        if self.exchanges is None or self.last_response is None:
            return ""
        from mmconform.exchanges import from_requests

        try:
            entry = from_requests(self.last_response, self.redact)
        except Exception:  # never hide the failure behind its record
            return ""
        return "\n" + str(self.exchanges.record(entry))

    def attribution_ids(self) -> tuple[str, ...]:
        """Every requirement a built-in check can charge (conformance/checks.yaml): what a fuzz
        item can fail beyond its marker's IDs, so selection by requirement must know it."""
        table = _attribution().checks
        return tuple(sorted({r for r in table.values() if r is not None}))

    def close(self) -> None:
        """Every thread's session (called once the process's fuzz tests are done)."""
        for session in self._sessions:
            session.close()
        self._sessions.clear()
        self._local = threading.local()

    def actor(self, name: str) -> Any:
        """The world's actor `name`, or None (not provisioned, or not provided by the target)."""
        return None if self.world is None else self.world.actor(name)

    def excluded(self, case: Any) -> list[Any]:
        """The built-in check functions profiles.yaml switches off for the case's operation."""
        op_id = str((case.operation.definition.raw or {}).get("operationId", ""))
        stateful = case.meta is not None and case_phase(case) == "stateful"
        key = f"{op_id}:{stateful}"
        if key not in self._excluded:
            from schemathesis.checks import CHECKS

            known = _registered(CHECKS)
            names = [n for n in self.data.excluded_checks(op_id) if n in known]
            if stateful:  # what the stateless tests switch off as "stateful only"
                names = [n for n in names if n not in STATEFUL_CHECKS]
            self._excluded[key] = list(CHECKS.get_by_names(names))
        return self._excluded[key]

    def absent(self, case: Any) -> str | None:
        """Why the case's operation does not exist on the target's version, or None.

        An operation that came in a later release carries `x-mmconform-versions` in its
        fragment; on older servers its route is missing, and what they answer instead is judged
        by the matrix row of that version (e.g. FILES-PUBLIC-007), not by the fuzzer.
        """
        raw = case.operation.definition.raw or {}
        text = raw.get("x-mmconform-versions")
        if not text or not self.version:
            return None
        from mmconform.versions import VersionRange

        where = f"spec operation {case.operation.label}"
        try:
            if VersionRange.parse(str(text), where).contains(self.version):
                return None
        except ValueError:  # an unparsable server version: judge it by every rule
            return None
        return (
            f"not applicable: {case.operation.label} exists from {text}, target is {self.version}"
        )

    def wanted(self, case: Any, phases: Iterable[str] | None = None) -> bool:
        """Cases of a phase left out (by the profile, or `phases`) are generated but not sent."""
        phase = case_phase(case)
        if phases is not None:
            return phase in phases
        if self.profile is None or phase not in ("examples", "coverage"):
            return True
        return phase in self.profile.phases

    def call_and_check(self, case: Any, *, extra_excluded: Iterable[str] = ()) -> Any:
        """Send `case` as the current identity and run every enabled check on the answer."""
        from schemathesis.checks import CHECKS
        from schemathesis.core.failures import FailureGroup

        excluded = self.excluded(case) + list(CHECKS.get_by_names(list(extra_excluded)))
        try:
            response = case.call_and_validate(
                base_url=self.base_url, session=self.http(), excluded_checks=excluded
            )
        except FailureGroup as exc:
            self.trace(case, "FAIL")
            raise FuzzFailure(self.report(failure_text(exc)) + self.kept_exchange()) from None
        self.trace(case, str(response.status_code))
        return response

    def send(self, case: Any) -> Any:
        """Send `case` as the current identity without checking the answer yet."""
        response = case.call(base_url=self.base_url, session=self.http())
        self.trace(case, str(response.status_code))
        return response

    def validate(
        self,
        case: Any,
        response: Any,
        recorder: Any = None,
        extra_excluded: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        """Run the enabled checks on a response obtained elsewhere (state machine, own calls)."""
        from schemathesis.checks import CHECKS
        from schemathesis.core.failures import FailureGroup

        excluded = self.excluded(case) + list(CHECKS.get_by_names(list(extra_excluded)))
        kwargs.setdefault("session", self.http())  # checks that send again wait out 429s too
        try:
            case.validate_response(
                response,
                excluded_checks=excluded,
                transport_kwargs=kwargs,
                recorder=recorder,
            )
        except FailureGroup as exc:
            raise FuzzFailure(self.report(failure_text(exc)) + self.kept_exchange()) from None

    def auth_headers(self) -> dict[str, str]:
        token = self.identity.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def trace(self, case: Any, outcome: str) -> None:
        """MMCONFORM_FUZZ_TRACE=<file>: one line per request sent, to see what a run covers."""
        path = os.environ.get("MMCONFORM_FUZZ_TRACE")
        if not path:
            return
        mode = str(case.meta.generation.mode.value) if case.meta is not None else "explicit"
        phase = case_phase(case) if case.meta is not None else "explicit"
        line = f"{case.operation.label}\t{phase}\t{mode}\t{self.identity.name}"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{line}\t{case.method}\t{outcome}\n")

    def replay_hint(self) -> str:
        """How to generate the same cases again (the world's ids differ, the choices do not)."""
        name = self.profile.name if self.profile is not None else "ci"
        return (
            f"Replay: mmconform run --seed {self.seed} --profile {name} "
            f"(pytest: --mm-seed {self.seed} --mm-profile {name})"
        )

    def report(self, text: str) -> str:
        """The failure text as it may be shown: tokens are gone, curl names a shell variable."""
        from mmconform.live_target.client import export_hint, token_variable

        var = token_variable(self.identity.name)
        text = _QUOTED_FILTERED.sub(f'"Authorization: Bearer ${var}"', text)
        text = _FILTERED.sub(f"Authorization: Bearer ${var}", text)
        if f"${var}" in text:
            text = _REPRO.sub(rf"\g<0> {export_hint(self.identity.name)}", text, count=1)
        return self.redact(text)


def failure_text(group: Any) -> str:
    """schemathesis' report of a FailureGroup, without BaseExceptionGroup's " (1 sub-exception)"
    suffix (the report lists the failures already)."""
    return str(getattr(group, "message", None) or group)


def case_phase(case: Any) -> str:
    """'examples', 'coverage', 'fuzzing' or 'stateful'."""
    return str(case.meta.phase.name.value)


def _registered(registry: Any) -> set[str]:
    return {getattr(c, "__name__", "") for c in registry.get_all()}


def prepare(
    fuzz: FuzzContext, session: Any, profile_name: str, seed: int, schemas: Iterable[Any]
) -> None:
    """Aim `fuzz` and `schemas` at the session's target and world (once per process)."""
    from mmconform.fuzz.inputs import pool_from_world

    fuzz.seed = seed
    fuzz.version = session.server_version
    fuzz.base_url = session.target.base_url
    fuzz.redact = session.target.redact
    fuzz.exchanges = getattr(session.target, "exchanges", None)
    fuzz.profile = fuzz.data.profile(profile_name)
    fuzz.world = session.world
    fuzz.pool.pool = pool_from_world(session.world, session.target)
    for schema in schemas:
        schema.config.update(base_url=fuzz.base_url)


def operation_label(function: Any) -> str:
    """The 'METHOD /path' of a schemathesis-built test (falls back to the function name)."""
    try:
        from schemathesis.generation.hypothesis.builder import ApiOperationMark

        operation = ApiOperationMark.get(function)
    except ImportError:  # pragma: no cover - schemathesis moved it
        operation = None
    return str(operation.label) if operation is not None else str(function.__name__)
