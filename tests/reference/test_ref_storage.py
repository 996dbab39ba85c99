"""Storage robustness: temp-then-rename, no path traversal, concurrent uploads."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ref_support import World

from mmconform.reference.filestore import base_name, resolve, safe_segment

EVIL_NAMES = ["../../../../escape.txt", "..", ".", "a/../../b.txt", "..\\..\\win.txt", "/abs.txt"]


def stored_paths(world: World) -> list[str]:
    db = sqlite3.connect(world.server.data_dir / "mmconform-reference.sqlite3")
    try:
        return [row[0] for row in db.execute("SELECT path FROM file_infos")]
    finally:
        db.close()


@pytest.mark.parametrize("name", EVIL_NAMES)
def test_hostile_names_stay_inside_the_files_root(world: World, name: str) -> None:
    before = set(os.listdir(world.server.data_dir))
    multipart_resp = world.member.upload(world.public_id, name, b"evil")
    params = {"channel_id": world.public_id, "filename": name}
    simple_resp = world.member.post("/api/v4/files", content=b"evil", params=params)
    root = (world.server.data_dir / "files").resolve()
    for resp in (multipart_resp, simple_resp):
        if resp.status_code != 201:
            continue
        file_id = resp.json()["file_infos"][0]["id"]
        assert world.member.get(f"/api/v4/files/{file_id}").content == b"evil"
    for rel in stored_paths(world):
        assert root in (root / rel).resolve().parents
    assert set(os.listdir(world.server.data_dir)) == before
    assert not (world.server.data_dir.parent / "escape.txt").exists()


def test_filestore_refuses_escaping_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        resolve(tmp_path, "../x")
    assert safe_segment("..") == "file" and "/" not in safe_segment("a/b")
    assert base_name("../../etc/passwd") == "passwd"


def test_upload_layout_and_no_temp_leftovers(world: World) -> None:
    body = world.member.ok(world.member.upload(world.private_id, "lay.txt", b"layout"), 201)
    info = body["file_infos"][0]
    rel = next(p for p in stored_paths(world) if f"/{info['id']}/" in p)
    parts = rel.split("/")
    assert parts[1:6] == ["teams", "noteam", "channels", world.private_id, "users"]
    assert parts[6:] == [world.member_id, info["id"], "lay.txt"] and len(parts[0]) == 8
    assert (world.server.data_dir / "files" / rel).read_bytes() == b"layout"
    assert list((world.server.data_dir / "tmp").iterdir()) == []


def test_failed_upload_leaves_no_row_no_file_no_temp(world: World) -> None:
    world.admin.patch_config("FileSettings", MaxFileSize=1000)
    try:
        rows_before = len(stored_paths(world))
        resp = world.member.upload(world.public_id, "big.bin", b"x" * 2000)
        assert resp.status_code == 413
    finally:
        world.admin.patch_config("FileSettings", MaxFileSize=104857600)
    assert len(stored_paths(world)) == rows_before
    assert list((world.server.data_dir / "tmp").iterdir()) == []


def test_concurrent_uploads_are_isolated(world: World) -> None:
    payloads = [random.Random(i).randbytes(200_000 + i) for i in range(12)]

    def one(data: bytes) -> tuple[str, bytes]:
        params = {"channel_id": world.public_id, "filename": "c.bin"}
        resp = world.member.http.post(
            "/api/v4/files", content=iter([data[:70_000], data[70_000:]]), params=params
        )
        assert resp.status_code == 201, resp.text
        return resp.json()["file_infos"][0]["id"], data

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, payloads))
    assert len({file_id for file_id, _ in results}) == len(payloads)
    for file_id, data in results:
        got = world.member.get(f"/api/v4/files/{file_id}").content
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_bookmark_files_use_the_bookmark_layout(world: World) -> None:
    body = world.member.ok(world.member.upload(world.public_id, "bm.png", bookmark="true"), 201)
    file_id = body["file_infos"][0]["id"]
    rel = next(p for p in stored_paths(world) if f"/{file_id}/" in p)
    assert rel == f"bookmark/teams/noteam/channels/{world.public_id}/{file_id}/bm.png"
