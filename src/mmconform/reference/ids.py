"""Mattermost-shaped ids.

`model.NewId()` is 26 characters of base32 over a custom lower-case alphabet, and `model.IsValidId`
only checks the length and that every character is a letter or digit. The suite probes exactly those
rules (a 25-char id is a 400, a hyphenated id misses the route), so they are reproduced here.
"""

from __future__ import annotations

import base64
import os

_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_MM = "ybndrfg8ejkmcpqxot1uwisza345h769"
_TABLE = str.maketrans(_STD, _MM)


# Two base32 characters per 10 bits: 16 bytes (128 bits, padded with 2 zero bits as base32 pads
# the last group) are 13 such chunks. Same characters as b32encode + translate, in ~1/5 of the
# time; every response carries a fresh id (X-Request-Id), so it counts (issue 15, capacity).
_PAIRS = [_MM[i >> 5] + _MM[i & 31] for i in range(1024)]


def encode_id(raw: bytes) -> str:
    """The 26-char id of 16 bytes: base32 (custom alphabet), cut to 26 as `model.NewId` does."""
    value = int.from_bytes(raw, "big") << 2
    return "".join(_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10))


def encode_id_slow(raw: bytes) -> str:
    """The reference for `encode_id`: the standard library's base32, re-lettered."""
    return base64.b32encode(raw).decode("ascii").translate(_TABLE)[:26]


def new_id() -> str:
    """A fresh 26-char id from 16 random bytes, as `model.NewId` does."""
    return encode_id(os.urandom(16))


def is_valid_id(value: str) -> bool:
    """`model.IsValidId`: exactly 26 ASCII letters or digits."""
    return len(value) == 26 and value.isascii() and value.isalnum()
