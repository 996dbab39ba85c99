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


def new_id() -> str:
    """A fresh 26-char id from 16 random bytes, as `model.NewId` does."""
    raw = base64.b32encode(os.urandom(16)).decode("ascii")
    return raw.translate(_TABLE)[:26]


def is_valid_id(value: str) -> bool:
    """`model.IsValidId`: exactly 26 ASCII letters or digits."""
    return len(value) == 26 and value.isascii() and value.isalnum()
