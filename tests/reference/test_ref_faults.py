"""Seeded faults change only what they name (the selftest proves the suite notices them)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ref_support import Api, World, build_world, error_id

from mmconform.reference import RunningServer, Settings, running_server
from mmconform.reference.context import State

FAULTS = frozenset(
    {"bola-get-file", "public-hash-not-checked", "upload-status-200", "error-json-charset"}
)


@pytest.fixture(scope="module")
def faulty() -> Iterator[RunningServer]:
    with running_server(faults=FAULTS) as srv:
        yield srv


@pytest.fixture(scope="module")
def fworld(faulty: RunningServer) -> World:
    return build_world(faulty)


def test_clean_settings_have_no_faults_and_the_seam_is_a_set_lookup(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).faults == frozenset()
    state = State.__new__(State)
    state.settings = Settings(data_dir=tmp_path, faults=frozenset({"x"}))
    assert state.fault("x") and not state.fault("y")


def test_faults_misbehave_as_described(fworld: World) -> None:
    upload = fworld.member.upload(fworld.private_id, "secret.txt", b"private")
    assert upload.status_code == 200  # upload-status-200
    file_id = upload.json()["file_infos"][0]["id"]
    outsider, _ = fworld.new_user(team=True)
    assert outsider.get(f"/api/v4/files/{file_id}").content == b"private"  # bola-get-file
    info = outsider.get(f"/api/v4/files/{file_id}/info")  # not broken: still refused
    assert info.status_code == 403 and error_id(info) == "api.context.permissions.app_error"
    assert info.headers["content-type"] == "application/json; charset=utf-8"  # error-json-charset
    fworld.post_with(fworld.member, fworld.private_id, [file_id])
    fworld.admin.patch_config("FileSettings", EnablePublicLink=True)
    public = Api(fworld.server.url).get(f"/files/{file_id}/public", params={"h": "wrong"})
    assert public.status_code == 200 and public.content == b"private"  # public-hash-not-checked


def test_same_requests_on_the_clean_server(world: World) -> None:
    upload = world.member.upload(world.private_id, "secret.txt", b"private")
    assert upload.status_code == 201
    file_id = upload.json()["file_infos"][0]["id"]
    outsider, _ = world.new_user(team=True)
    denied = outsider.get(f"/api/v4/files/{file_id}")
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/json"


def test_serve_switches_faults_on_and_says_so(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "mmconform", "serve", "--port", "0"]
    cmd += ["--data-dir", str(tmp_path / "d"), "--fault", "bola-get-file"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, faults = proc.stdout.readline(), proc.stdout.readline()
        assert "ready at http://127.0.0.1:" in ready
        assert faults.strip() == "seeded faults on: bola-get-file"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
