"""Assembling specs/ into one OpenAPI document, and loading it into schemathesis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from spec_support import copy_specs, edit_yaml, run_cli

from mmconform.errors import UsageError
from mmconform.resources import specs_dir
from mmconform.spec.check import REQUIRED_OPERATIONS
from mmconform.spec.digest import tree_digest
from mmconform.spec.loader import iter_operations, load_fragments, load_schema, operation_ids


def test_assembles_every_operation_once() -> None:
    doc = load_fragments()
    assert doc["openapi"] == "3.0.3"
    assert sorted(operation_ids(doc)) == sorted(REQUIRED_OPERATIONS)
    assert doc["servers"] == [{"url": "/"}]


def test_cross_file_refs_become_local() -> None:
    text = json.dumps(load_fragments())
    assert "components.yaml#" not in text
    assert '"#/components/schemas/FileInfo"' in text


def test_public_route_outside_api_and_without_security() -> None:
    doc = load_fragments()
    public = doc["paths"]["/files/{file_id}/public"]
    assert public["get"]["operationId"] == "GetFilePublic"
    assert public["head"]["operationId"] == "HeadFilePublic"
    for _, _, op in iter_operations(doc):
        expected: list[dict[str, list[str]]] = (
            [] if op["operationId"].endswith("FilePublic") else [{"bearerAuth": []}]
        )
        assert op["security"] == expected, op["operationId"]


def test_upload_links_follow_the_returned_file_id() -> None:
    links = load_fragments()["paths"]["/api/v4/files"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"]: link["parameters"] for link in links.values()}
    assert set(targets) == {"GetFileInfo", "GetFile", "GetFileLink"}
    assert all(p == {"file_id": "$response.body#/file_infos/0/id"} for p in targets.values())


def test_file_info_never_has_path_fields() -> None:
    info = load_fragments()["components"]["schemas"]["FileInfo"]
    assert info["additionalProperties"] is False
    assert not {"path", "thumbnail_path", "preview_path", "content"} & info["properties"].keys()


def test_duplicate_component_names_both_files(tmp_path: Path) -> None:
    specs = copy_specs(tmp_path)

    def add_duplicate(data: dict[str, object]) -> None:
        data["components"] = {"schemas": {"FileInfo": {"type": "object"}}}

    edit_yaml(specs / "files.yaml", add_duplicate)
    with pytest.raises(
        UsageError, match=r"components\.schemas\.FileInfo .*components\.yaml.*files\.yaml"
    ):
        load_fragments(specs)


def test_duplicate_operation_id_is_rejected(tmp_path: Path) -> None:
    specs = copy_specs(tmp_path)

    def rename(data: dict[str, dict[str, dict[str, dict[str, str]]]]) -> None:
        data["paths"]["/api/v4/license"]["delete"]["operationId"] = "GetFile"

    edit_yaml(specs / "license.yaml", rename)
    with pytest.raises(
        UsageError, match=r"operationId 'GetFile' is used in both files\.yaml and license\.yaml"
    ):
        load_fragments(specs)


def test_ref_to_unknown_file_is_rejected(tmp_path: Path) -> None:
    specs = copy_specs(tmp_path)
    text = (specs / "license.yaml").read_text(encoding="utf-8")
    (specs / "license.yaml").write_text(text.replace("components.yaml#", "common.yaml#", 1))
    with pytest.raises(UsageError, match=r"license\.yaml: \$ref 'common\.yaml#.*points outside"):
        load_fragments(specs)


def test_schemathesis_loads_the_assembled_document() -> None:
    schema = load_schema("http://127.0.0.1:8065/")
    assert schema.get_base_url() == "http://127.0.0.1:8065"
    labels = {result.ok().label for result in schema.get_all_operations()}  # type: ignore[union-attr]
    assert "HEAD /files/{file_id}/public" in labels
    assert len(labels) == len(REQUIRED_OPERATIONS)


@pytest.mark.parametrize("operation_id", REQUIRED_OPERATIONS)
def test_schemathesis_generates_a_case(operation_id: str) -> None:
    schema = load_schema("http://127.0.0.1:8065")
    operation = schema.find_operation_by_id(operation_id)
    cases = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=3, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    def draw(case: object) -> None:
        cases.append(case)

    draw()
    assert cases
    assert all(case.operation.label == operation.label for case in cases)  # type: ignore[attr-defined]


def test_version_prints_the_specs_digest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert f"specs sha256 {tree_digest(specs_dir())}" in out


def test_state_machine_follows_upload_links() -> None:
    rules = dir(load_schema("http://127.0.0.1:8065").as_state_machine())
    for link in ("GetFileInfoOfUpload", "GetFileOfUpload", "GetFileLinkOfUpload"):
        assert any(rule.startswith(f"POST_api_v4_files___201_{link}__") for rule in rules), link
