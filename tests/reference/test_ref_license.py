"""POST/DELETE /api/v4/license and /license/client (behaviour doc §7, §8; upstream
TestUploadLicenseFile, TestRemoveLicenseFile, TestGetOldClientLicense) and the licence format.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ref_support import Api, World, build_world, error_id

from mmconform.reference import RunningServer, running_server
from mmconform.reference.licensing import (
    DAY_MS,
    TRIAL_DURATIONS_MS,
    LicenseInvalid,
    load_or_create_keypair,
    mint_license,
    validate,
)


def upload(api: Api, text: str | bytes) -> httpx.Response:
    data = text.encode() if isinstance(text, str) else text
    return api.post("/api/v4/license", files={"license": ("test.mattermost-license", data)})


def licensed(world: World) -> str:
    return world.admin.get("/api/v4/system/ping").headers["X-Version-Id"].rsplit(".", 1)[1]


def test_mint_and_validate_round_trip(tmp_path: Path) -> None:
    pair = load_or_create_keypair(tmp_path)
    assert (pair.private_key_path.stat().st_mode & 0o777) == 0o600
    text = mint_license(pair.private_key_path.read_bytes(), users=5, expires_at_ms=10**13)
    lic = validate(text.encode(), pair.public_key_pem)
    assert lic["features"]["users"] == 5 and lic["expires_at"] == 10**13
    raw = base64.b64decode(text)
    assert validate(base64.b64encode(raw + b"\x00\x00"), pair.public_key_pem)["id"] == lic["id"]
    tampered = base64.b64encode(raw[:-300] + b"X" + raw[-299:])
    with pytest.raises(LicenseInvalid):
        validate(tampered, pair.public_key_pem)
    (tmp_path / "other").mkdir()
    other = load_or_create_keypair(tmp_path / "other")
    with pytest.raises(LicenseInvalid):
        validate(text.encode(), other.public_key_pem)


def test_upload_permissions_and_invalid(world: World) -> None:
    assert upload(world.member, b"").status_code == 403
    resp = upload(world.admin, b"")
    assert resp.status_code == 400
    assert error_id(resp) == "api.license.add_license.invalid.app_error"
    assert upload(Api(world.server.url), b"x").status_code == 401
    nopart = world.admin.post("/api/v4/license", files={"other": ("x", b"y")})
    assert error_id(nopart) == "api.license.add_license.no_file.app_error"
    notform = world.admin.post("/api/v4/license", content=b"abc")
    assert error_id(notform) == "api.license.parse_license.parse_form.app_error"


def test_upload_success_then_remove(world: World) -> None:
    resp = upload(world.admin, world.mint())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    for key in (
        "id",
        "issued_at",
        "starts_at",
        "expires_at",
        "customer",
        "features",
        "sku_name",
        "sku_short_name",
        "is_trial",
        "is_gov_sku",
        "signup_jwt",
    ):
        assert key in body
    assert resp.text.endswith("\n")
    assert licensed(world) == "true"
    client = world.admin.ok(world.admin.get("/api/v4/license/client", params={"format": "old"}))
    assert client["IsLicensed"] == "true" and "Id" in client
    limited = world.member.ok(world.member.get("/api/v4/license/client", params={"format": "old"}))
    assert limited["IsLicensed"] == "true" and "Id" not in limited
    assert world.member.delete("/api/v4/license").status_code == 403
    assert world.admin.ok(world.admin.delete("/api/v4/license")) == {"status": "OK"}
    assert licensed(world) == "false"
    assert world.admin.ok(world.admin.delete("/api/v4/license")) == {"status": "OK"}


def test_expired_and_too_few_users(world: World) -> None:
    past = world.mint(
        expires_at_ms=int(time.time() * 1000) - DAY_MS,
        starts_at_ms=int(time.time() * 1000) - 400 * DAY_MS,
    )
    assert error_id(upload(world.admin, past)) == "api.license.add_license.expired.app_error"
    few = world.mint(users=1)
    assert error_id(upload(world.admin, few)) == "api.license.add_license.unique_users.app_error"


def test_client_license_format_rules(world: World) -> None:
    missing = Api(world.server.url).get("/api/v4/license/client")
    assert missing.status_code == 400
    assert error_id(missing) == "api.license.client.old_format.app_error"
    other = Api(world.server.url).get("/api/v4/license/client", params={"format": "new"})
    assert error_id(other) == "api.context.invalid_body_param.app_error"
    anon = Api(world.server.url).get("/api/v4/license/client", params={"format": "old"})
    assert anon.status_code == 200 and "IsLicensed" in anon.json()


@pytest.fixture
def restricted(tmp_path: Path) -> Iterator[RunningServer]:
    config = tmp_path / "config.json"
    config.write_text('{"ExperimentalSettings": {"RestrictSystemAdmin": true}}')
    with running_server(data_dir=tmp_path / "data", config_file=config) as srv:
        yield srv


def test_restricted_admin_gets_403_on_upload_and_remove(restricted: RunningServer) -> None:
    world = build_world(restricted)
    assert upload(world.admin, world.mint()).status_code == 403
    resp = world.admin.delete("/api/v4/license")
    assert resp.status_code == 403 and error_id(resp) == "api.context.permissions.app_error"


def test_unsanctioned_trial_is_accepted_once_sanctioned_always(tmp_path: Path) -> None:
    with running_server(data_dir=tmp_path) as srv:
        world = build_world(srv)
        now = int(time.time() * 1000)
        trial = world.mint(starts_at_ms=now, expires_at_ms=now + TRIAL_DURATIONS_MS[0])
        assert upload(world.admin, trial).status_code == 200
        again = world.mint(starts_at_ms=now, expires_at_ms=now + TRIAL_DURATIONS_MS[1])
        resp = upload(world.admin, again)
        assert error_id(resp) == "api.license.request-trial.can-start-trial.not-allowed"
        sanctioned = world.mint(
            is_trial=True, starts_at_ms=now, expires_at_ms=now + 29 * DAY_MS + 8 * 3600_000
        )
        assert upload(world.admin, sanctioned).status_code == 200


def test_licence_survives_restart(tmp_path: Path) -> None:
    with running_server(data_dir=tmp_path) as srv:
        world = build_world(srv)
        assert upload(world.admin, world.mint()).status_code == 200
    with running_server(data_dir=tmp_path) as srv:
        resp = Api(srv.url).get("/api/v4/system/ping")
        assert resp.headers["X-Version-Id"].endswith(".true")


def test_licence_body_over_max_file_size_is_413(world: World) -> None:
    world.admin.patch_config("FileSettings", MaxFileSize=1000)
    try:
        resp = upload(world.admin, b"A" * 4000)
        assert resp.status_code == 413
        assert error_id(resp) == "api.context.request_body_too_large.app_error"
    finally:
        world.admin.patch_config("FileSettings", MaxFileSize=104857600)


def test_running_server_mints_licences_it_accepts(world: World) -> None:
    resp = upload(world.admin, world.server.mint_license(users=50, days=10))
    assert resp.status_code == 200 and resp.json()["features"]["users"] == 50
    world.admin.ok(world.admin.delete("/api/v4/license"))


def test_mint_never_emits_a_signature_that_validation_would_truncate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ValidateLicense strips trailing NULs, so a signature ending in 0x00 must be re-drawn."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    import mmconform.reference.licensing as licensing

    pair = load_or_create_keypair(tmp_path)
    real = serialization.load_pem_private_key(pair.private_key_path.read_bytes(), password=None)
    assert isinstance(real, rsa.RSAPrivateKey)
    key: rsa.RSAPrivateKey = real
    calls: list[bytes] = []

    class FirstSignatureEndsInZero:
        def sign(self, data: bytes, pad: padding.PKCS1v15, algo: hashes.SHA512) -> bytes:
            calls.append(data)
            sig = key.sign(data, pad, algo)
            return sig[:-1] + b"\x00" if len(calls) == 1 else sig

    monkeypatch.setattr(
        "cryptography.hazmat.primitives.serialization.load_pem_private_key",
        lambda *a, **k: FirstSignatureEndsInZero(),
    )
    monkeypatch.setattr(
        "cryptography.hazmat.primitives.asymmetric.rsa.RSAPrivateKey", FirstSignatureEndsInZero
    )
    text = licensing.mint_license(b"unused", users=1, expires_at_ms=10**13)
    assert len(calls) == 2 and calls[0] != calls[1]
    assert validate(text.encode(), pair.public_key_pem)["features"]["users"] == 1
