"""Genuine licences made not genuine: rows that prove a target verifies what it installs.

Garbage bytes fail every server's base64 or length test, so they cannot tell a server that checks
the signature from one that only parses the payload. These variants start from a licence the
target would accept (the user's `--license-file`, or the one the embedded run minted) and break
exactly one thing, so only a check the real server makes refuses them (`utils/license.go
ValidateLicense`: `base64.StdEncoding.Decode`, trailing NULs stripped, the last 256 bytes an RSA
PKCS#1 v1.5 signature over SHA-512 of the JSON before them; `api4/license.go addLicense` answers
any failure 400 `api.license.add_license.invalid.app_error`):

- `altered_payload`: one digit of `issued_at` changed; the JSON stays valid, the signature no
  longer matches;
- `altered_signature`: one byte in the middle of the signature flipped;
- `foreign_key`: the genuine payload signed again with a key the target has never seen;
- `truncated`: the last base64 quantum cut off (still valid base64: what is refused is the
  signature, now 256 bytes that are not the signature);
- `unpadded`: the trailing `=` padding dropped (StdEncoding requires it; N/A when the licence has
  none).

The bytes are licence material: they go only into the request body, never into a message.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNATURE_LEN = 256
STATES = ("altered_payload", "altered_signature", "foreign_key", "truncated", "unpadded")


class CannotTamper(ValueError):
    """The genuine licence does not allow this variant; the message says why (row N/A)."""


def _text(licence: bytes) -> bytes:
    """The base64 text as `ValidateLicense` sees it, minus the CR/LF StdEncoding skips."""
    return licence.replace(b"\r", b"").replace(b"\n", b"").strip(b" \t")


def _split(licence: bytes) -> tuple[bytes, bytes]:
    try:
        decoded = base64.b64decode(_text(licence), validate=True).rstrip(b"\x00")
    except (binascii.Error, ValueError):
        raise CannotTamper("the genuine licence is not base64 text") from None
    if len(decoded) <= SIGNATURE_LEN:
        raise CannotTamper("the genuine licence is too short to hold a signature")
    return decoded[:-SIGNATURE_LEN], decoded[-SIGNATURE_LEN:]


def _encode(plaintext: bytes, signature: bytes) -> bytes:
    return base64.b64encode(plaintext + signature)


def altered_payload(licence: bytes) -> bytes:
    plaintext, signature = _split(licence)
    match = re.search(rb'"issued_at":\s*(\d)', plaintext)
    if match is None:
        raise CannotTamper("the genuine licence's payload has no issued_at digit to change")
    at = match.start(1)
    digit = b"1" if plaintext[at : at + 1] != b"1" else b"2"
    return _encode(plaintext[:at] + digit + plaintext[at + 1 :], signature)


def altered_signature(licence: bytes) -> bytes:
    plaintext, signature = _split(licence)
    middle = SIGNATURE_LEN // 2
    flipped = bytes([signature[middle] ^ 0x01])
    return _encode(plaintext, signature[:middle] + flipped + signature[middle + 1 :])


@functools.lru_cache(maxsize=1)
def _foreign_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key per process: no target can trust it, so nothing needs to be fixed."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def foreign_key(licence: bytes) -> bytes:
    plaintext, _ = _split(licence)
    signature = _foreign_key().sign(plaintext, padding.PKCS1v15(), hashes.SHA512())
    if signature.endswith(b"\x00"):  # ValidateLicense would strip it: flip the byte instead
        signature = signature[:-1] + b"\x01"
    return _encode(plaintext, signature)


def truncated(licence: bytes) -> bytes:
    text = _text(licence)
    _split(licence)
    return text[:-4]


def unpadded(licence: bytes) -> bytes:
    text = _text(licence)
    _split(licence)
    if not text.endswith(b"="):
        raise CannotTamper("the genuine licence's base64 has no '=' padding to drop")
    return text.rstrip(b"=")


def tampered(state: str, licence: bytes) -> bytes:
    """The `state` variant of the genuine `licence` (CannotTamper: the row is N/A)."""
    return {
        "altered_payload": altered_payload,
        "altered_signature": altered_signature,
        "foreign_key": foreign_key,
        "truncated": truncated,
        "unpadded": unpadded,
    }[state](licence)
