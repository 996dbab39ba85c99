"""Licence format, signing and validation (`server/channels/utils/license.go ValidateLicense`).

A licence file is standard base64 text. Decoded, trailing NUL bytes are stripped; the last 256
bytes are an RSA PKCS#1 v1.5 signature over SHA-512 of the JSON plaintext that precedes them. The
real server embeds Mattermost's public key; this server uses a per-data-dir RSA-2048 key pair (or
`--license-public-key`), so tests can mint licences the server accepts.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mmconform.reference.ids import new_id

PRIVATE_KEY_NAME = "license-signing-key.pem"
PUBLIC_KEY_NAME = "license-public-key.pem"
SIGNATURE_LEN = 256
DAY_MS = 24 * 3600 * 1000

# model/license.go: a "trial" is flagged or lasts exactly 30d8h or 30d23h59m59s; a sanctioned
# trial lasts >= 31d23h59m59s or <= 29d23h59m59s.
TRIAL_DURATIONS_MS = (
    (30 * 24 + 8) * 3600 * 1000,
    ((30 * 24 + 23) * 3600 + 59 * 60 + 59) * 1000,
)
SANCTIONED_LOWER_MS = ((31 * 24 + 23) * 3600 + 59 * 60 + 59) * 1000
SANCTIONED_UPPER_MS = ((29 * 24 + 23) * 3600 + 59 * 60 + 59) * 1000

# Features.SetDefaults: most follow future_features (default true); cloud defaults to false.
FEATURE_KEYS = (
    "ldap",
    "ldap_groups",
    "mfa",
    "google_oauth",
    "office365_oauth",
    "openid",
    "compliance",
    "cluster",
    "metrics",
    "mhpns",
    "saml",
    "elastic_search",
    "announcement",
    "theme_management",
    "email_notification_contents",
    "data_retention",
    "message_export",
    "custom_permissions_schemes",
    "custom_terms_of_service",
    "guest_accounts",
    "guest_accounts_permissions",
    "id_loaded",
    "lock_teammate_name_display",
    "enterprise_plugins",
    "advanced_logging",
    "cloud",
    "shared_channels",
    "remote_cluster_service",
    "outgoing_oauth_connections",
)
_ALWAYS_TRUE = frozenset({"announcement", "theme_management"})


class LicenseInvalid(ValueError):
    """Bytes that are not a validly signed licence (`model.InvalidLicenseError`)."""


class LicenseUnmarshal(ValueError):
    """Signed bytes whose JSON `json.Unmarshal` rejects for `model.License` (500 unmarshal)."""


B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def go_base64_decode(data: bytes) -> bytes:
    """`base64.StdEncoding.Decode`: only CR and LF are skipped; any other stray byte is an error.

    Python's `b64decode(validate=False)` drops every non-alphabet byte, which would accept a
    licence with spaces or stars inside that the real server rejects (400 invalid).
    """
    text = data.replace(b"\r", b"").replace(b"\n", b"")
    if any(c not in B64_ALPHABET for c in text):
        raise LicenseInvalid("illegal base64 data")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LicenseInvalid("illegal base64 data") from exc


@dataclass(frozen=True)
class KeyPair:
    private_key_path: Path
    public_key_pem: bytes


def load_or_create_keypair(data_dir: Path) -> KeyPair:
    """The data dir's signing key pair, generated (RSA-2048, private key mode 0600) on first use."""
    priv_path = data_dir / PRIVATE_KEY_NAME
    pub_path = data_dir / PUBLIC_KEY_NAME
    if not priv_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = priv_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        tmp.replace(priv_path)
        pub_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    if not pub_path.exists():
        loaded = serialization.load_pem_private_key(priv_path.read_bytes(), password=None)
        pub_path.write_bytes(
            loaded.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return KeyPair(priv_path, pub_path.read_bytes())


def default_features(users: int, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    features: dict[str, Any] = {"users": users}
    for key in FEATURE_KEYS:
        features[key] = key != "cloud"
    features["future_features"] = True
    features.update(overrides or {})
    return features


def mint_license(
    private_key_pem: bytes,
    *,
    users: int,
    expires_at_ms: int,
    starts_at_ms: int | None = None,
    is_trial: bool = False,
    features: dict[str, Any] | None = None,
    customer_name: str = "mmconform",
    extra: dict[str, Any] | None = None,
) -> str:
    """A licence (base64 text) signed with `private_key_pem`, in the upstream layout."""
    now = int(time.time() * 1000)
    payload = {
        "id": new_id(),
        "issued_at": now,
        "starts_at": now if starts_at_ms is None else starts_at_ms,
        "expires_at": expires_at_ms,
        "customer": {"id": new_id(), "name": customer_name, "email": "", "company": customer_name},
        "features": default_features(users, features),
        "sku_name": "Enterprise",
        "sku_short_name": "enterprise",
        "is_trial": is_trial,
        "is_gov_sku": False,
        "is_seat_count_enforced": False,
        "extra_users": None,
        "signup_jwt": None,
    }
    payload.update(extra or {})
    while True:
        signed = sign_payload(private_key_pem, payload)
        # ValidateLicense strips trailing NUL bytes from the decoded licence, which would eat the
        # end of a signature ending in 0x00 (1 time in 256); pick another id instead.
        if base64.b64decode(signed)[-1] != 0:
            return signed
        if extra and "id" in extra:
            payload["issued_at"] = now + 1 if payload["issued_at"] == now else now
        else:
            payload["id"] = new_id()


def sign_payload(private_key_pem: bytes, payload: Any) -> str:
    """Any JSON value signed in the licence layout: base64(JSON ‖ RSA-PKCS#1v1.5-SHA512 sig).

    For tests that need licences no real issuer would mint (a bad id, `null`, no features).
    """
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("licence signing key must be an RSA private key")
    plaintext = json.dumps(payload, separators=(",", ":")).encode()
    signature = key.sign(plaintext, padding.PKCS1v15(), hashes.SHA512())
    return base64.b64encode(plaintext + signature).decode("ascii")


def decode_signed(data: bytes, public_key_pem: bytes, *, verify: bool = True) -> Any:
    """The licence's JSON value if `data` is signed for `public_key_pem` (`ValidateLicense`).

    `verify=False` is only for the seeded fault of a server that never checks the signature.
    """
    decoded = go_base64_decode(data).rstrip(b"\x00")
    if len(decoded) <= SIGNATURE_LEN:
        raise LicenseInvalid("too short")
    plaintext, signature = decoded[:-SIGNATURE_LEN], decoded[-SIGNATURE_LEN:]
    public_key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise LicenseInvalid("public key is not RSA")
    try:
        if verify:
            public_key.verify(signature, plaintext, padding.PKCS1v15(), hashes.SHA512())
    except InvalidSignature as exc:
        raise LicenseInvalid("bad signature") from exc
    try:
        parsed = json.loads(plaintext)
    except ValueError as exc:
        raise LicenseUnmarshal("bad JSON") from exc
    if parsed is None:
        return {}  # json.Unmarshal of null into a struct leaves the zero License
    if not isinstance(parsed, dict):
        raise LicenseUnmarshal("licence JSON is not an object")
    return parsed


def validate(data: bytes, public_key_pem: bytes) -> dict[str, Any]:
    """The licence JSON if `data` is a licence signed for `public_key_pem`, else LicenseInvalid."""
    try:
        return normalise(decode_signed(data, public_key_pem))
    except LicenseUnmarshal as exc:
        raise LicenseInvalid(str(exc)) from exc


def normalise(lic: dict[str, Any]) -> dict[str, Any]:
    """The full `model.License` field set, with `Features.SetDefaults` applied."""
    feats = dict(lic.get("features") or {})
    future = bool(feats.get("future_features", True))
    feats.setdefault("future_features", future)
    feats.setdefault("users", 0)
    for key in FEATURE_KEYS:
        feats.setdefault(
            key, True if key in _ALWAYS_TRUE else (False if key == "cloud" else future)
        )
    customer = lic.get("customer") or {}
    return {
        "id": str(lic.get("id", "")),
        "issued_at": int(lic.get("issued_at", 0)),
        "starts_at": int(lic.get("starts_at", 0)),
        "expires_at": int(lic.get("expires_at", 0)),
        "customer": {k: str(customer.get(k, "")) for k in ("id", "name", "email", "company")},
        "features": feats,
        "sku_name": str(lic.get("sku_name", "")),
        "sku_short_name": str(lic.get("sku_short_name", "")),
        "is_trial": bool(lic.get("is_trial", False)),
        "is_gov_sku": bool(lic.get("is_gov_sku", False)),
        "is_seat_count_enforced": bool(lic.get("is_seat_count_enforced", False)),
        "extra_users": lic.get("extra_users"),
        "signup_jwt": lic.get("signup_jwt"),
    }


def is_trial_license(lic: dict[str, Any]) -> bool:
    duration = int(lic["expires_at"]) - int(lic["starts_at"])
    return bool(lic["is_trial"]) or duration in TRIAL_DURATIONS_MS


def is_sanctioned_trial(lic: dict[str, Any]) -> bool:
    duration = int(lic["expires_at"]) - int(lic["starts_at"])
    return is_trial_license(lic) and (
        duration >= SANCTIONED_LOWER_MS or duration <= SANCTIONED_UPPER_MS
    )
