"""Matrix loader: shipped data loads; bad data is one line naming the file and the row."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from mmconform.errors import UsageError
from mmconform.matrix import ACTORS, SHAPES, load_matrix
from mmconform.registry import load_registry

GOOD_ENTRY = """
  - operation: GetFileInfo
    actor: guest_not_in_channel
    channel: private
    state: attached
    expect: 403
    error_id: api.context.permissions.app_error
    requirements: [FILES-READ-008]
"""


def write(tmp_path: Path, body: str, name: str = "m.yaml") -> Path:
    folder = tmp_path / "permissions"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("rows:" + body, encoding="utf-8")
    return folder


def test_shipped_matrix_loads_with_unique_readable_ids() -> None:
    rows = load_matrix()
    ids = [r.id for r in rows]
    assert len(ids) == len(set(ids))
    assert "GetFileInfo[guest_not_in_channel-private-attached]-403" in ids
    pattern = re.compile(r"^[A-Za-z]+\[[a-z_]+-[a-z]+-[a-z_]+(-[a-z_]+)*\]-\d{3}$")
    assert all(pattern.match(i) for i in ids), [i for i in ids if not pattern.match(i)]
    counts = Counter(r.operation for r in rows)
    assert set(counts) == set(SHAPES)


def test_shipped_matrix_uses_every_actor_and_known_requirements() -> None:
    rows = load_matrix()
    assert {r.actor for r in rows} == set(ACTORS)
    registry = load_registry()
    for row in rows:
        registry.check_ids(list(row.checked_requirements), row.id)


def test_loading_twice_gives_the_same_order() -> None:
    assert [r.id for r in load_matrix()] == [r.id for r in load_matrix()]


def test_compact_entry_expands_in_written_order(tmp_path: Path) -> None:
    folder = write(
        tmp_path,
        """
  - operations: [GetFile, GetFileInfo]
    actors: [uploader, system_admin]
    channels: [public, dm]
    state: attached
    expect: 200
    requirements: [FILES-READ-001]
""",
    )
    ids = [r.id for r in load_matrix(folder)]
    assert ids[:3] == [
        "GetFile[uploader-public-attached]-200",
        "GetFile[uploader-dm-attached]-200",
        "GetFile[system_admin-public-attached]-200",
    ]
    assert len(ids) == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            ("actor: guest_not_in_channel", "actor: intern"),
            "unknown actor 'intern'",
            id="unknown-actor",
        ),
        pytest.param(
            ("operation: GetFileInfo", "operation: DeleteFile"),
            "unknown operation 'DeleteFile'",
            id="unknown-operation",
        ),
        pytest.param(
            ("state: attached", "state: shredded"),
            "unknown state for GetFileInfo",
            id="unknown-state",
        ),
        pytest.param(
            ("expect: 403", "expect: 403\n    colour: red"),
            "unknown field(s) colour",
            id="unknown-key",
        ),
        pytest.param(
            ("[FILES-READ-008]", "[FILES-READ-999]"),
            "unknown requirement ID(s)",
            id="unknown-requirement",
        ),
        pytest.param(
            ("expect: 403", "expect: forbidden"), "expect must be an HTTP status", id="bad-status"
        ),
        pytest.param(
            ("channel: private", "channel: none"),
            "needs channel public, private or dm",
            id="channel-state-mismatch",
        ),
        pytest.param(("    expect: 403\n", ""), "missing field(s) expect", id="missing-key"),
        pytest.param(
            ("expect: 403", "expect: 403\n    config: restricted_admin"),
            "config restricted_admin only applies to system_admin rows of UploadLicenseFile and "
            "RemoveLicenseFile, got guest_not_in_channel GetFileInfo",
            id="restricted-admin-on-a-file-row",
        ),
        pytest.param(("versions", "versions"), "", id="control-no-error"),
    ],
)
def test_bad_entries_name_file_and_entry(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    folder = write(tmp_path, GOOD_ENTRY.replace(*change))
    if not message:
        assert len(load_matrix(folder)) == 1
        return
    with pytest.raises(UsageError) as info:
        load_matrix(folder)
    text = str(info.value)
    assert message in text
    assert "m.yaml" in text and "entry #1" in text
    assert "\n" not in text


def test_duplicate_rows_are_rejected_across_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD_ENTRY, "a.yaml")
    folder = write(tmp_path, GOOD_ENTRY, "b.yaml")
    with pytest.raises(UsageError, match=r"b\.yaml: entry #1: duplicate row .*first in .*a\.yaml"):
        load_matrix(folder)


def test_contradicting_rows_need_version_ranges(tmp_path: Path) -> None:
    other = GOOD_ENTRY.replace("expect: 403", "expect: 200").replace(
        "    error_id: api.context.permissions.app_error\n", ""
    )
    folder = write(tmp_path, GOOD_ENTRY + other)
    with pytest.raises(UsageError, match="contradicts"):
        load_matrix(folder)
    ranged = GOOD_ENTRY.replace(
        "expect: 403", 'expect: 403\n    versions: "<9.11"'
    ) + other.replace("expect: 200", 'expect: 200\n    versions: ">=9.11"')
    folder = write(tmp_path, ranged)
    rows = load_matrix(folder)
    assert [r.applies_to("9.10.0") for r in rows] == [True, False]


def test_malformed_yaml_is_a_usage_error(tmp_path: Path) -> None:
    folder = write(tmp_path, "\n  - operation: [unclosed\n")
    with pytest.raises(UsageError, match=r"m\.yaml"):
        load_matrix(folder)
