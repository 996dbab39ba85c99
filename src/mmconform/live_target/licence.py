"""The licence file a run may reinstall, and the licence a target has installed.

The suite may remove a target's licence only when it can put the same one back, so the file is
read and checked before anything is created: readable, non-empty, and a Mattermost licence in
shape (`utils/license.go ValidateLicense`: standard base64 of a JSON payload followed by a
256-byte RSA signature, trailing NULs stripped). The signature cannot be checked here (the real
server embeds Mattermost's public key), but the payload's `id` can, against the `Id` the target
reports in `GET /api/v4/license/client?format=old` (`api4/license.go getClientLicense`; an admin
holds `read_license_information`, so it gets the full client licence, `model.GetClientLicense`).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path

from mmconform.errors import UsageError
from mmconform.live_target.client import Actor, Target

SIGNATURE_LEN = 256


@dataclass(frozen=True)
class LicenceFile:
    path: Path
    id: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Installed:
    """What the target says is installed: licensed or not, and the licence id (may be '')."""

    licensed: bool
    id: str


def read_licence_file(path: str | Path, option: str = "--license-file") -> LicenceFile:
    """The licence at `path`, or one UsageError line naming what is wrong with it."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise UsageError(f"{option} {p}: {exc.strerror or exc}; check the path") from None
    if not data.strip():
        raise UsageError(f"{option} {p}: the file is empty; give the server's .mattermost-license")
    try:
        decoded = base64.b64decode(b"".join(data.split()), validate=True).rstrip(b"\x00")
    except (binascii.Error, ValueError):
        raise UsageError(
            f"{option} {p}: not a Mattermost licence (not base64 text); "
            "give the .mattermost-license file the server was licensed with"
        ) from None
    payload: object = None
    if len(decoded) > SIGNATURE_LEN:
        try:
            payload = json.loads(decoded[:-SIGNATURE_LEN])
        except (ValueError, UnicodeDecodeError):
            payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not payload["id"]:
        raise UsageError(
            f"{option} {p}: not a Mattermost licence (no signed licence payload with an id); "
            "give the .mattermost-license file the server was licensed with"
        )
    return LicenceFile(path=p, id=str(payload["id"]), data=data)


def installed(target: Target, admin: Actor) -> Installed:
    body = target.api("GET", "/license/client?format=old", admin)
    if not isinstance(body, dict):
        return Installed(False, "")
    return Installed(str(body.get("IsLicensed", "false")) == "true", str(body.get("Id", "")))


def check_matches(target: Target, admin: Actor, licence: LicenceFile) -> None:
    """Before anything may remove the target's licence, the file must be that licence."""
    now = installed(target, admin)
    if not now.licensed:
        return
    if not now.id:
        raise UsageError(
            f"--license-file {licence.path}: {target.base_url} does not show its licence id "
            "(GET /api/v4/license/client?format=old), so the file cannot be confirmed as the "
            "installed licence; drop --allow-license-changes"
        )
    if now.id != licence.id:
        raise UsageError(
            f"--license-file {licence.path}: licence {licence.id} is not the one installed on "
            f"{target.base_url} ({now.id}); give the installed licence's file"
        )
