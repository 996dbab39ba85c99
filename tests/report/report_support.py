"""Shared helpers for the report tests: a small registry and results built without pytest runs.

Not a conftest: the tests of other rooms must not see these, and the real
conformance/requirements.yaml may change under us, so every test brings its own registry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmconform.registry import load_registry
from mmconform.report.model import RESULTS_NAME
from mmconform.report.redact import Scrubber
from mmconform.report.results import RunContext, TestRecord, build_results
from mmconform.report.verdicts import metas_from_registry

REGISTRY_YAML = """\
requirements:
  - id: FILES-GET-001
    title: Uploader reads own file
    description: The uploader MUST get 200 from GET /api/v4/files/{file_id}.
    level: MUST
    operations: [GetFile]
    source: server/channels/api4/file.go getFile
  - id: FILES-GET-002
    title: Outsider is refused
    description: A user outside the channel MUST get 403.
    level: MUST
    operations: [GetFile, GetFileInfo]
    source: server/channels/api4/file.go getFile; file_test.go TestGetFile
  - id: LICENSE-UPLOAD-001
    title: Guest actor needs a licence
    description: A guest MUST get 403 from POST /api/v4/license.
    level: MUST
    operations: [UploadLicenseFile]
    source: server/channels/api4/license.go addLicense
  - id: PUBLIC-LINK-001
    title: Old public link status
    description: A disabled public link MUST answer 501 on old servers.
    level: MUST
    operations: [GetFilePublic]
    source: server/channels/web/static.go
    versions: "<9.5"
  - id: POSTS-INFO-001
    title: Deleted file infos
    description: include_deleted SHOULD need manage_system.
    level: SHOULD
    operations: [GetFileInfosForPost]
    source: server/channels/api4/file.go getFileInfosForPost
"""

# Stands in for the main plugin's options, which may not exist yet; runs pass -p no:mmconform
# so the real main plugin can never clash with these.
OPTIONS_CONFTEST = """
def pytest_addoption(parser):
    parser.addoption("--mm-reports", dest="mm_reports")
    parser.addoption("--mm-url", dest="mm_url")
    parser.addoption("--mm-server-version", dest="mm_server_version")
    parser.addoption("--mm-profile", dest="mm_profile")
    parser.addoption("--mm-seed", dest="mm_seed", type=int)
    parser.addoption("--mm-token", dest="mm_token")
"""

ISOLATE = ("-p", "no:mmconform", "-p", "no:cacheprovider")


def write_registry(directory: Path) -> Path:
    path = directory / "registry.yaml"
    path.write_text(REGISTRY_YAML, encoding="utf-8")
    return path


def make_run(
    run_dir: Path,
    registry: Path,
    outcomes: dict[str, tuple[str, list[str]]],
    *,
    version: str | None = "10.11.0",
    reasons: dict[str, str] | None = None,
    selection: dict[str, Any] | None = None,
    strict: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write run_dir/results.json for tests `nodeid -> (outcome, requirement ids)`."""
    reasons = reasons or {}
    records = [
        TestRecord(
            nodeid=nodeid,
            outcome=outcome,
            requirements=reqs,
            reason=reasons.get(nodeid),
            message="AssertionError: expected 403, got 200" if outcome == "failed" else None,
        )
        for nodeid, (outcome, reqs) in outcomes.items()
    ]
    context = RunContext(
        target_url="http://127.0.0.1:8065",
        target_version=version,
        profile="ci",
        seed=42,
        started_at="2026-01-01T00:00:00.000000Z",
        finished_at="2026-01-01T00:01:00.000000Z",
        registry={"path": str(registry), "sha256": "0" * 64, "error": None},
        selection=selection,
        strict=strict,
    )
    metas = metas_from_registry(load_registry(registry))
    document = build_results(records, metas, context, Scrubber())
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / RESULTS_NAME).write_text(json.dumps(document, indent=2), encoding="utf-8")
    return document


ALL_PASS: dict[str, tuple[str, list[str]]] = {
    "t.py::test_read": ("passed", ["FILES-GET-001"]),
    "t.py::test_refuse": ("passed", ["FILES-GET-002"]),
    "t.py::test_guest": ("not_applicable", ["LICENSE-UPLOAD-001"]),
    "t.py::test_public": ("passed", ["PUBLIC-LINK-001"]),
    "t.py::test_infos": ("passed", ["POSTS-INFO-001"]),
}
NA_REASON = {"t.py::test_guest": "not applicable: guests need a licence"}
