"""Slices of a run (report/shard.py): a deterministic split, and merge refusing foreign sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mmconform.errors import UsageError
from mmconform.report.shard import in_slice, merge_slices, merged_problems, parse_shard

IDS = [f"test_permission.py::test_permission[row-{i}]" for i in range(300)]


def test_every_id_is_in_exactly_one_slice_whatever_the_order() -> None:
    for n in (1, 2, 3, 7):
        owners = [[k for k in range(1, n + 1) if in_slice(i, k, n)] for i in IDS]
        assert all(len(o) == 1 for o in owners)
        assert {o[0] for o in owners} == set(range(1, n + 1))
    assert [i for i in IDS if in_slice(i, 2, 3)] == [i for i in reversed(IDS) if in_slice(i, 2, 3)][
        ::-1
    ]


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", ""])
def test_a_bad_shard_is_one_line(text: str) -> None:
    with pytest.raises(UsageError, match=r"K/N|between 1 and N"):
        parse_shard(text)


def _slice(tmp: Path, k: int, n: int, **changes: Any) -> Path:
    shard = {
        "k": k,
        "n": n,
        "seed": 3,
        "profile": "ci",
        "target": {"url": "http://mm.test", "version": "11.5.0"},
        "suite_version": "1.0",
        "specs_digest": "sha256:x",
    }
    shard.update(changes)
    results = {
        "schema": 1,
        "target": {"url": "http://mm.test", "version": "11.5.0"},
        "started_at": f"2026-01-01T00:0{k}:00Z",
        "finished_at": f"2026-01-01T00:1{k}:00Z",
        "tests": [{"nodeid": f"t{k}-{changes.get('tag', '')}", "outcome": "passed"}],
        "requirements": {},
        "summary": {"verdict": "NOT CONFORMANT"},
        "shard": shard,
    }
    folder = tmp / f"s{k}-{len(list(tmp.iterdir()))}"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def test_merge_refuses_a_missing_a_duplicated_and_a_foreign_slice(tmp_path: Path) -> None:
    one, two = _slice(tmp_path, 1, 2), _slice(tmp_path, 2, 2)
    with pytest.raises(UsageError, match="2/2 missing"):
        merge_slices([one])
    with pytest.raises(UsageError, match="given twice"):
        merge_slices([one, _slice(tmp_path, 1, 2, tag="again"), two])
    for key, value in (("seed", 4), ("suite_version", "2.0"), ("target", {"url": "http://x"})):
        with pytest.raises(UsageError, match=f"{key} .* differs"):
            merge_slices([one, _slice(tmp_path, 2, 2, **{key: value})])


def test_verify_wants_every_slice_once_in_a_merged_run() -> None:
    whole = [{"k": 1, "n": 2}, {"k": 2, "n": 2}]
    assert merged_problems({"merged": whole}) == []
    assert merged_problems({}) == []
    assert merged_problems({"merged": whole[:1]}) != []
    assert merged_problems({"merged": [whole[0], whole[0]]}) != []
    assert merged_problems({"merged": [{"k": 1, "n": 2}, {"k": 2, "n": 3}]}) != []
