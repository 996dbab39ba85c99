"""Licence validation details (issue 11, D23-D26, P2).

Upstream: `server/channels/utils/license.go ValidateLicense` (base64.StdEncoding.Decode, NUL
strip), `server/channels/app/platform/license.go SaveLicense` (Features/Users nil → invalid, seat
check on `*Features.Users` only, `SetLicense` then `License().Save(record)`, `RemoveLicense()` on
failure), `server/public/model/license.go LicenseRecord.IsValid` (id, then Bytes ≤ 10000).
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from ref_support import Api, World, build_world, error_id

from mmconform.reference import running_server
from mmconform.reference.licensing import DAY_MS, LicenseInvalid, go_base64_decode, sign_payload

INVALID = "api.license.add_license.invalid.app_error"


def upload(api: Api, data: str | bytes) -> httpx.Response:
    raw = data.encode() if isinstance(data, str) else data
    return api.post("/api/v4/license", files={"license": ("test.mattermost-license", raw)})


def licensed(api: Api) -> bool:
    return api.get("/api/v4/system/ping").headers["X-Version-Id"].endswith(".true")


def signed(world: World, payload: Any) -> str:
    """Signed for the server's key, with a signature not ending in 0x00: ValidateLicense strips
    trailing NUL bytes (so would the real server), which would make 1 licence in 256 (the key is
    new per test) invalid for the wrong reason. An array or object is varied until it is not;
    `null` cannot be, and is refused as invalid either way."""
    key = world.server.signing_key_path
    assert key is not None
    for n in range(64):
        text = sign_payload(Path(key).read_bytes(), payload)
        if base64.b64decode(text)[-1] != 0 or not isinstance(payload, list | dict):
            return text
        payload = [*payload, n] if isinstance(payload, list) else {**payload, "_n": n}
    raise AssertionError("no signature without a trailing 0x00 in 64 tries")


def payload(**over: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    base: dict[str, Any] = {
        "id": "a" * 26,
        "issued_at": now,
        "starts_at": now,
        "expires_at": now + 40 * DAY_MS,
        "features": {"users": 1000},
    }
    base.update(over)
    return base


def test_go_base64_ignores_only_cr_and_lf() -> None:
    assert go_base64_decode(b"aGVs\r\nbG8=\n") == b"hello"
    for bad in (b"aGVs bG8=", b"aGVsbG8= ", b"aGVs*bG8=", b"aGVs\tbG8=", b"aGVsbG8"):
        with pytest.raises(LicenseInvalid):
            go_base64_decode(bad)


def test_licence_with_stray_bytes_is_rejected(world: World) -> None:
    """D23: a space or `*` inside, or trailing spaces, is 400 invalid; CRLF breaks are fine."""
    good = world.mint()
    mid = len(good) // 2
    for bad in (good[:mid] + " * " + good[mid:], good + "  "):
        assert error_id(upload(world.admin, bad)) == INVALID
    wrapped = "\r\n".join(good[i : i + 76] for i in range(0, len(good), 76)) + "\r\n"
    assert upload(world.admin, wrapped).status_code == 200
    world.admin.ok(world.admin.delete("/api/v4/license"))


def test_bad_licence_id_fails_the_record_and_unlicenses(world: World) -> None:
    """D24: SetLicense ran, LicenseRecord.IsValid fails on the id: 400, previous licence lost."""
    assert upload(world.admin, world.mint()).status_code == 200
    assert licensed(world.admin)
    resp = upload(world.admin, signed(world, payload(id="not-a-valid-id")))
    assert (resp.status_code, error_id(resp)) == (400, "model.license_record.is_valid.id.app_error")
    assert not licensed(world.admin)


def test_seat_check_ignores_extra_users(world: World) -> None:
    """D25: `uniqueUserCount > *license.Features.Users`; extra_users is not added."""
    resp = upload(world.admin, signed(world, payload(features={"users": 1}, extra_users=100)))
    assert error_id(resp) == "api.license.add_license.unique_users.app_error"


def test_null_and_featureless_licences_are_invalid(world: World) -> None:
    """P2 (newest SaveLicense): Features == nil or Features.Users == nil → 400 invalid; JSON that
    does not unmarshal into model.License (an array) → 500 api.unmarshal_error."""
    for body in (None, payload(features=None), payload(features={"ldap": True})):
        assert error_id(upload(world.admin, signed(world, body))) == INVALID
    resp = upload(world.admin, signed(world, [1, 2]))
    assert (resp.status_code, error_id(resp)) == (500, "api.unmarshal_error")


@pytest.mark.parametrize(
    ("version", "error"),
    [
        ("11.5.0", "model.license_record.is_valid.bytes.app_error"),
        ("7.10.0", "model.license_record.is_valid.create_at.app_error"),
    ],
)
def test_record_over_10000_bytes_by_version(tmp_path: Path, version: str, error: str) -> None:
    """D26: the raw uploaded bytes are the record; over 10000 is 400, the id by version."""
    with running_server(data_dir=tmp_path, server_version=version) as srv:
        world = build_world(srv)
        big = world.mint(customer_name="c" * 3800)
        assert len(big) > 10000
        resp = upload(world.admin, big)
        assert (resp.status_code, error_id(resp)) == (400, error)
        assert not licensed(world.admin)
        assert upload(world.admin, world.mint(customer_name="c" * 2800)).status_code == 200
