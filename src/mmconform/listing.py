"""`mmconform list`: what a run would run, and what would be not applicable and why.

Built at pytest's collection (`--collect-only --mm-list FILE`), so it is exactly the selection a
run with the same options makes. The N/A it predicts are the ones decided before a single request
is sent: the target's version against a row's or requirement's range, and the permissions the
run was given (licence changes, a licence signing key). What only the target can tell (an actor
it cannot provide, a setting it holds) is said to be possible, not predicted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmconform.matrix import RESTRICTABLE
from mmconform.selection import TestFacts

LICENCE_OPERATIONS = ("UploadLicenseFile", "RemoveLicenseFile")
NEEDS_LICENCE = "needs --allow-license-changes and --license-file"
# Licence states a row mints with the target's signing key (live_target.rows.build_licence).
_MINTED = frozenset(
    {
        "expired",
        "too_few_users",
        "sanctioned_trial",
        "stray_bytes",
        "extra_users_only",
        "bad_record_id",
        "trial_after_trial",
        "sanctioned_after_trial",
        "trial_team_edition",
    }
)


def predicted_na(
    facts: TestFacts,
    row: Any,
    *,
    version: str | None,
    licence_changes: bool,
    signing_key: bool,
    config_changes: bool = False,
    trial_state: str | None = None,
) -> tuple[str | None, str | None]:
    """(the N/A reason known before running, or None; a possible N/A reason, or None)."""
    from mmconform.registry import load_registry

    if row is not None:
        if row.unknown_at(version):
            return f"what a server of version {version} does here is unknown", None
        if not row.applies_to(version):
            return f"server version {version} is outside {row.versions.text}", None
        if row.operation in LICENCE_OPERATIONS:
            if row.operation in RESTRICTABLE and row.config == "restricted_admin":
                return None, "needs a target started with RestrictSystemAdmin"
            if not licence_changes:
                return NEEDS_LICENCE, None
            if row.state in _MINTED and not signing_key:
                return "needs a licence signing key the target trusts (embedded server)", None
            from mmconform.live_target.rows import TRIAL_STATES

            wanted = TRIAL_STATES.get(row.state)
            if wanted is not None and trial_state != wanted:
                return f"needs a target whose trial state is {wanted} (--mm-trial-state)", None
    elif facts.operation in LICENCE_OPERATIONS and not licence_changes:
        return NEEDS_LICENCE, None  # the fuzz items of the licence operations
    registry = load_registry()
    ranged = [registry.requirements.get(i) for i in facts.carries]
    if version and ranged and all(r is not None and not r.applies_to(version) for r in ranged):
        ids = ", ".join(facts.carries)
        return f"server version {version} is outside every range of {ids}", None
    if row is not None and row.config not in ("default", None) and not config_changes:
        return None, f"may need --allow-config-changes ({row.config})"
    return None, None


def listing_document(
    facts: Sequence[TestFacts],
    rows: Mapping[str, Any],
    *,
    version: str | None,
    licence_changes: bool,
    signing_key: bool,
    selection: Mapping[str, Any] | None,
    config_changes: bool = False,
    trial_state: str | None = None,
) -> dict[str, Any]:
    tests = []
    for f in facts:
        na, maybe = predicted_na(
            f,
            rows.get(f.nodeid),
            version=version,
            licence_changes=licence_changes,
            signing_key=signing_key,
            config_changes=config_changes,
            trial_state=trial_state,
        )
        tests.append(
            {
                "nodeid": f.nodeid,
                "operation": f.operation,
                "actor": f.actor,
                "requirements": list(f.carries),
                # Every ID the test's checks can charge (what --requirement selects by).
                "can_charge": sorted(f.charges),
                "not_applicable": na,
                "may_be_not_applicable": maybe,
            }
        )
    return {
        "version": version,
        "selection": dict(selection or {}),
        "tests": tests,
    }


def render(document: Mapping[str, Any]) -> list[str]:
    """The terminal form: one line per test, then the N/A grouped by reason, then counts."""
    tests = list(document.get("tests") or [])
    lines = []
    for t in tests:
        who = " ".join(str(x) for x in (t.get("operation"), t.get("actor")) if x)
        mark = "N/A " if t.get("not_applicable") else "run "
        lines.append(f"{mark} {t['nodeid']}  [{', '.join(t['requirements'])}]  {who}".rstrip())
    by_reason: dict[str, int] = {}
    maybe: dict[str, int] = {}
    for t in tests:
        if t.get("not_applicable"):
            by_reason[str(t["not_applicable"])] = by_reason.get(str(t["not_applicable"]), 0) + 1
        elif t.get("may_be_not_applicable"):
            key = str(t["may_be_not_applicable"])
            maybe[key] = maybe.get(key, 0) + 1
    na = sum(by_reason.values())
    if by_reason:
        lines.append("Not applicable (predicted from the version and the options):")
        lines += [f"  - {n} test(s): {r}" for r, n in sorted(by_reason.items())]
    if maybe:
        lines.append("Possibly not applicable (only the target can tell):")
        lines += [f"  - {n} test(s): {r}" for r, n in sorted(maybe.items())]
    version = document.get("version") or "unknown"
    lines.append(
        f"{len(tests) - na} test(s) would run, {na} would be not applicable "
        f"(target version {version})"
    )
    return lines
