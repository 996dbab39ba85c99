"""Each check beyond the status code fails against a server that gets that one thing wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.requests import Request
from suite_support import Licensed, Switch, serve_app, switch_proxy

from mmconform.live_target.client import Target
from mmconform.live_target.gate import Gate, Permissions
from mmconform.live_target.ledger import Ledger
from mmconform.live_target.probe import probe
from mmconform.live_target.rows import RowRunner
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import provision
from mmconform.matrix import load_matrix

Parts = tuple[int, dict[str, str], bytes]


def when(
    method: str, suffix: str, status: int, change: Callable[[Parts], Parts]
) -> Callable[[Request, int, dict[str, str], bytes], Parts]:
    def rewrite(request: Request, code: int, headers: dict[str, str], body: bytes) -> Parts:
        hit = request.method == method and request.url.path.endswith(suffix) and code == status
        return change((code, headers, body)) if hit else (code, headers, body)

    return rewrite


def json_edit(edit: Callable[[object], object]) -> Callable[[Parts], Parts]:
    def change(parts: Parts) -> Parts:
        code, headers, body = parts
        return code, headers, json.dumps(edit(json.loads(body))).encode()

    return change


def set_key(key: str, value: object) -> Callable[[object], object]:
    def edit(obj: object) -> object:
        assert isinstance(obj, dict)
        return {**obj, key: value}

    return edit


def first_info_size(obj: object) -> object:
    assert isinstance(obj, dict)
    infos = [{**obj["file_infos"][0], "size": 1}]
    return {**obj, "file_infos": infos}


def reversed_client_ids(obj: object) -> object:
    assert isinstance(obj, dict)
    return {**obj, "client_ids": list(reversed(obj["client_ids"]))}


CASES = [
    (
        "GetFileInfo[guest_not_in_channel-private-attached]-403",
        "unexpected error id",
        when("GET", "/info", 403, json_edit(set_key("id", "api.something.else"))),
    ),
    (
        "GetFile[other_team_user-private-attached]-403",
        "Content-Type exactly application/json",
        when(
            "GET",
            "",
            403,
            lambda p: (p[0], {**p[1], "content-type": "application/json; charset=utf-8"}, p[2]),
        ),
    ),
    (
        "GetFileInfosForPost[other_team_user-private-with_files]-403",
        "is not an AppError",
        when("GET", "/files/info", 403, json_edit(set_key("status_code", 500))),
    ),
    (
        "GetFile[uploader-public-attached]-200",
        "body differs from the uploaded bytes",
        when("GET", "", 200, lambda p: (p[0], p[1], p[2] + b"!")),
    ),
    (
        "GetFileInfo[uploader-public-attached]-200",
        "leaked ['path']",
        when("GET", "/info", 200, json_edit(set_key("path", "20260101/teams/x"))),
    ),
    (
        "GetFileInfo[channel_member-dm-attached]-200",
        "FileInfo mismatch {'user_id'",
        when("GET", "/info", 200, json_edit(set_key("user_id", "someoneelse"))),
    ),
    (
        "GetFileInfosForPost[uploader-public-with_files]-200",
        "differ from the post's files",
        when("GET", "/files/info", 200, lambda p: (p[0], p[1], b"[]")),
    ),
    (
        "UploadFile[uploader-public-multipart]-201",
        "but FileInfo says",
        when("POST", "/api/v4/files", 201, json_edit(first_info_size)),
    ),
    (
        "UploadFile[uploader-private-client_ids]-201",
        "[FILES-UPLOAD-010]",
        when("POST", "/api/v4/files", 201, json_edit(reversed_client_ids)),
    ),
    (
        "GetFileLink[uploader-public-attached]-200",
        "link is not",
        when("GET", "/link", 200, json_edit(set_key("link", "http://elsewhere/"))),
    ),
    (
        "GetFilePublic[anonymous-public-attached]-200",
        "public file body differs",
        when("GET", "/public", 200, lambda p: (p[0], p[1], b"other bytes")),
    ),
    (
        "RemoveLicenseFile[system_admin-none-installed]-200",
        'not {"status":"OK"}',
        when("DELETE", "/license", 200, lambda p: (p[0], p[1], b'{"status":"FAIL"}')),
    ),
]


def test_each_body_and_shape_check_fails_on_a_server_that_breaks_it(
    licensed: Licensed, tmp_path: Path
) -> None:
    rows = {r.id: r for r in load_matrix()}
    switch = Switch()
    with serve_app(switch_proxy(licensed.server.url, switch)) as url:
        target = Target(url)
        admin = probe(
            url, login=licensed.server.admin_login, password=licensed.server.admin_password
        ).admin
        ledger = Ledger(tmp_path / "ledger.jsonl", "w0")
        world = provision(target, admin, ledger, "mmcchecks", seed=9)
        perms = Permissions(
            allow_config_changes=True,
            allow_license_changes=True,
            license_bytes=licensed.licence_path.read_bytes(),
            disposable=True,
        )
        gate = Gate(tmp_path / "lock", target, admin, ledger, perms)
        runner = RowRunner(world, gate, "11.5.0")
        missed = []
        for row_id, message, rewrite in CASES:
            runner.run(rows[row_id])  # passes on the honest server
            switch.rewrite = rewrite
            try:
                with pytest.raises(ConformanceFailure) as info:
                    runner.run(rows[row_id])
            finally:
                switch.rewrite = None
            if message not in str(info.value):
                missed.append(f"{row_id}: {info.value}")
        assert missed == []
