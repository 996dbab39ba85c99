"""Ed25519 keys for certificates: generating, loading, signing a digest, checking a signature.

A signature binds the certificate's digest to a key; it proves who issued the certificate only
when the verifier trusts that key, which is why `verify` asks for `--public-key` before it calls a
signature trusted. Keys are unencrypted PEM files (PKCS#8 private, SubjectPublicKeyInfo public).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mmconform.errors import UsageError

ALGORITHM = "ed25519"


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(
            f"{path}: {what} not found; create one with 'mmconform report keygen -o KEY'"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot read {what} ({exc.strerror}); check permissions"
        ) from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UsageError(
            f"{path}: the signing key is encrypted; give an unencrypted PEM key"
        ) from None
    except ValueError:
        raise UsageError(
            f"{path}: not a PEM private key; create one with 'mmconform report keygen -o KEY'"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(
            f"{path}: not an Ed25519 key; create one with 'mmconform report keygen -o KEY'"
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key PEM, or a private key PEM whose public half is taken."""
    data = _read(path, "public key")
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise UsageError(
            f"{path}: not a PEM public key; pass the KEY.pub written by keygen"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{path}: not an Ed25519 public key; pass the KEY.pub written by keygen")
    return key


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    return "sha256:" + hashlib.sha256(raw_public(key)).hexdigest()


def sign_digest(key: Ed25519PrivateKey, digest: str) -> dict[str, str]:
    """The certificate's `signature` block."""
    public = key.public_key()
    return {
        "algorithm": ALGORITHM,
        "public_key": base64.b64encode(raw_public(public)).decode(),
        "public_key_fingerprint": fingerprint(public),
        "value": base64.b64encode(key.sign(digest.encode())).decode(),
    }


def embedded_public_key(block: dict[str, object]) -> Ed25519PublicKey:
    """The key a signature block claims to be made with; ValueError when malformed."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(str(block["public_key"])))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"malformed public key in signature block: {exc}") from None


def signature_valid(key: Ed25519PublicKey, block: dict[str, object], digest: str) -> bool:
    try:
        key.verify(base64.b64decode(str(block.get("value", "")), validate=True), digest.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def generate(private_path: Path, *, force: bool = False) -> tuple[Path, str]:
    """Write KEY (mode 0600) and KEY.pub; returns the public path and the fingerprint."""
    public_path = private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise UsageError(f"{path}: already exists; choose another path or pass --force")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        private_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem)
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise UsageError(
            f"{private_path}: cannot write key ({exc.strerror}); check the folder"
        ) from None
    return public_path, fingerprint(key.public_key())
