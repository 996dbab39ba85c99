"""The vocabulary of results.json and how to read one back safely.

results.json is the evidence a certificate is derived from and the input of `diff`, `verify` and
`report`; a file that is not one must be rejected with a line saying what to pass instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmconform.errors import UsageError

SCHEMA = 1
RESULTS_NAME = "results.json"
CERTIFICATE_NAME = "certificate.json"
CERTIFICATE_MD_NAME = "certificate.md"

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
NOT_APPLICABLE = "not_applicable"
SKIPPED = "skipped"
UNTESTED = "untested"
# A partial run (mmconform.selection) did not select any test of the requirement.
NOT_SELECTED = "not_selected"

TEST_OUTCOMES = (PASSED, FAILED, NOT_APPLICABLE, SKIPPED, ERROR)
REQUIREMENT_VERDICTS = (PASSED, FAILED, NOT_APPLICABLE, UNTESTED, NOT_SELECTED)
BAD_OUTCOMES = frozenset({FAILED, ERROR})

CONFORMANT = "CONFORMANT"
NOT_CONFORMANT = "NOT CONFORMANT"
# The verdict of a run that left out some of the suite's tests: never a certification.
PARTIAL = "PARTIAL"

# The prefix of a skip reason that marks a test as not applicable to this target.
NOT_APPLICABLE_PREFIX = "not applicable:"


def canonical_json(value: Any) -> bytes:
    """The byte form digests are taken over: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def write_json(path: Path, value: Any) -> None:
    """Write atomically so a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path, what: str, fix: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} not found; {fix}") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a {what}; {fix}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror}); check permissions") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON (line {exc.lineno}); {fix}") from None


def results_path(run: Path) -> Path:
    """A run directory or a results.json file, as the user typed it."""
    return run / RESULTS_NAME if run.is_dir() else run


def load_results(run: Path) -> dict[str, Any]:
    """Read and shape-check results.json; `run` may be the run directory or the file itself."""
    path = results_path(run)
    fix = "pass a run directory or the results.json an mmconform run wrote"
    data = read_json(path, "results.json", fix)
    if not isinstance(data, dict) or "schema" not in data:
        raise UsageError(f"{path}: not a results.json (no 'schema' field); {fix}")
    if data["schema"] != SCHEMA:
        raise UsageError(
            f"{path}: results schema {data['schema']!r} is not supported (expected {SCHEMA}); "
            "use the mmconform version that wrote it"
        )
    if not isinstance(data.get("tests"), list) or not isinstance(data.get("requirements"), dict):
        raise UsageError(f"{path}: not a results.json (needs 'tests' and 'requirements'); {fix}")
    for index, test in enumerate(data["tests"], start=1):
        if not isinstance(test, dict) or test.get("outcome") not in TEST_OUTCOMES:
            raise UsageError(f"{path}: test #{index} has no valid 'outcome'; {fix}")
        if not isinstance(test.get("nodeid"), str):
            raise UsageError(f"{path}: test #{index} has no 'nodeid'; {fix}")
    for req_id, entry in data["requirements"].items():
        if not isinstance(entry, dict) or entry.get("verdict") not in REQUIREMENT_VERDICTS:
            raise UsageError(f"{path}: requirement {req_id} has no valid 'verdict'; {fix}")
    return data


def is_partial(results: dict[str, Any]) -> bool:
    """results.json (or a certificate) of a run that selected only part of the suite."""
    selection = results.get("selection")
    return isinstance(selection, dict) and bool(selection.get("partial"))


def require_verdict(data: dict[str, Any], run: Path) -> dict[str, Any]:
    """An interrupted run's results.json is evidence of nothing: refuse to judge by it."""
    reason = data.get("interrupted")
    if reason:
        raise UsageError(
            f"{results_path(run)}: the run was interrupted ({reason}); its results are no "
            "verdict: run it again to the end"
        )
    return data
