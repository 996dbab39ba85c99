"""The altered-licence variants (mmconform.live_target.tamper): each breaks exactly one thing.

A variant that a correct validator accepted would make its row demand a wrong 400; one that a
server skipping the signature check also refused (by bad JSON, say) would make the row unable
to catch that server. Both are checked against the reference validator, key in hand, no server.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mmconform.live_target import tamper
from mmconform.reference.licensing import (
    LicenseInvalid,
    decode_signed,
    go_base64_decode,
    mint_license,
)

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
PUBLIC = _KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
GENUINE = mint_license(PRIVATE, users=100, expires_at_ms=int(time.time() * 1000) + 86_400_000)


def test_the_genuine_licence_is_accepted() -> None:
    assert decode_signed(GENUINE.encode(), PUBLIC)["features"]["users"] == 100


@pytest.mark.parametrize("state", tamper.STATES)
def test_every_variant_is_refused_by_a_verifying_server(state: str) -> None:
    with pytest.raises(LicenseInvalid):
        decode_signed(tamper.tampered(state, GENUINE.encode()), PUBLIC)


@pytest.mark.parametrize("state", ["altered_payload", "altered_signature", "foreign_key"])
def test_signature_variants_pass_a_server_that_skips_the_signature(state: str) -> None:
    """Only the signature is wrong: the payload decodes to the genuine licence's JSON shape."""
    data = tamper.tampered(state, GENUINE.encode())
    lic = decode_signed(data, PUBLIC, verify=False)
    assert lic["id"] == json.loads(base64.b64decode(GENUINE)[:-256])["id"]


def test_altered_payload_changes_one_byte_of_the_payload() -> None:
    before = base64.b64decode(GENUINE)
    after = base64.b64decode(tamper.altered_payload(GENUINE.encode()))
    assert len(before) == len(after)
    assert sum(a != b for a, b in zip(before, after, strict=True)) == 1
    assert before[-256:] == after[-256:]


def test_unpadded_fails_only_on_the_padding() -> None:
    data = tamper.unpadded(GENUINE.encode())
    assert not data.endswith(b"=")
    with pytest.raises(LicenseInvalid):
        go_base64_decode(data)
    padded = data + b"=" * (-len(data) % 4)
    assert decode_signed(padded, PUBLIC)["id"]


def test_variants_of_a_line_wrapped_licence() -> None:
    """A --license-file may be wrapped (CRLF every 76): the variants start from its base64."""
    wrapped = "\r\n".join(GENUINE[i : i + 76] for i in range(0, len(GENUINE), 76)).encode()
    assert tamper.truncated(wrapped) == GENUINE.encode()[:-4]


def test_what_cannot_be_tampered_says_why() -> None:
    unpadded_genuine = GENUINE.rstrip("=").encode()
    with pytest.raises(tamper.CannotTamper, match="padding"):
        raw = base64.b64decode(GENUINE)
        tamper.unpadded(base64.b64encode(raw[: len(raw) - len(raw) % 3]))
    with pytest.raises(tamper.CannotTamper, match="base64"):
        tamper.truncated(unpadded_genuine)
    with pytest.raises(tamper.CannotTamper, match="short"):
        tamper.altered_signature(base64.b64encode(b"x" * 100))
