"""The subset of the Mattermost server config this reference server models.

Defaults follow `model/config.go SetDefaults`. `GET /config` sanitises secrets to the FakeSetting
(`model.FakeSetting`, 32 asterisks) and `PUT /config/patch` restores a FakeSetting to the stored
secret (`desanitize`), as upstream does. `ExperimentalSettings.RestrictSystemAdmin` can only come
from the config file, because upstream refuses to change it through the API.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import string
from pathlib import Path
from typing import Any

FAKE_SETTING = "********************************"

DEFAULTS: dict[str, dict[str, Any]] = {
    "ServiceSettings": {
        "SiteURL": "",
        "EnableDeveloper": False,
        "EnableUserAccessTokens": False,
        "EnableAPITeamDeletion": False,
        "EnableAPIChannelDeletion": False,
        "EnableAPIUserDeletion": False,
        "EnableUserDeactivation": False,
        # Upstream's default is "gzip"; compression itself is not modelled, only "disabled"
        # (no webapp routes, routing.py) changes an answer here.
        "WebserverMode": "gzip",
        "MaximumURLLength": 2048,  # model.ServiceSettingsDefaultMaxURLLength
    },
    "TeamSettings": {"EnableOpenServer": False},
    "FileSettings": {
        "EnableFileAttachments": True,
        "EnableMobileUpload": True,
        "EnableMobileDownload": True,
        "MaxFileSize": 104857600,
        "MaxImageResolution": 33177600,
        "DriverName": "local",
        "EnablePublicLink": False,
        "PublicLinkSalt": "",
        "ExtractContent": True,
    },
    "ComplianceSettings": {"Enable": False},
    "GuestAccountsSettings": {"Enable": False},
    "ExperimentalSettings": {"RestrictSystemAdmin": False},
}

# What `PUT /config/patch` may change here; everything else in a patch is ignored (the real server
# would apply it, but it has no effect on the endpoints this server models).
PATCHABLE: dict[str, frozenset[str]] = {
    "FileSettings": frozenset(
        {
            "EnableFileAttachments",
            "EnablePublicLink",
            "PublicLinkSalt",
            "MaxFileSize",
            "MaxImageResolution",
            "EnableMobileUpload",
            "EnableMobileDownload",
        }
    ),
    "ComplianceSettings": frozenset({"Enable"}),
    "GuestAccountsSettings": frozenset({"Enable"}),
    "ServiceSettings": frozenset(
        {
            "EnableDeveloper",
            "EnableUserAccessTokens",
            "EnableAPITeamDeletion",
            "EnableAPIChannelDeletion",
            "EnableAPIUserDeletion",
            "EnableUserDeactivation",
            "WebserverMode",
            "MaximumURLLength",
        }
    ),
    "TeamSettings": frozenset({"EnableOpenServer"}),
}

SECRETS: tuple[tuple[str, str], ...] = (("FileSettings", "PublicLinkSalt"),)

_EXPECTED_TYPES: dict[str, type] = {
    "MaxFileSize": int,
    "MaxImageResolution": int,
    "MaximumURLLength": int,
}


class ConfigError(ValueError):
    """A config file or patch that does not fit the model; the message names the key."""


def new_salt() -> str:
    """32 random letters and digits, as `model.NewRandomString(32)`."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def _merge(base: dict[str, Any], overlay: dict[str, Any], source: str) -> None:
    for section, values in overlay.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: {section} must be an object")
        target = base.setdefault(section, {})
        for key, value in values.items():
            expected = _EXPECTED_TYPES.get(key)
            default = DEFAULTS.get(section, {}).get(key)
            if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{source}: {section}.{key} must be an integer")
            if isinstance(default, bool) and not isinstance(value, bool):
                raise ConfigError(f"{source}: {section}.{key} must be true or false")
            target[key] = value


class Config:
    """The live config: defaults, then the persisted state, then the config file."""

    def __init__(self, state_path: Path, config_file: Path | None) -> None:
        self._state_path = state_path
        self.values: dict[str, dict[str, Any]] = copy.deepcopy(DEFAULTS)
        if state_path.exists():
            _merge(self.values, _read_json(state_path), str(state_path))
        if config_file is not None:
            _merge(self.values, _read_json(config_file), str(config_file))
        if not self.values["FileSettings"]["PublicLinkSalt"]:
            self.values["FileSettings"]["PublicLinkSalt"] = new_salt()
        self._persist()

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]

    def sanitized(self) -> dict[str, Any]:
        out = copy.deepcopy(self.values)
        for section, key in SECRETS:
            if out[section].get(key):
                out[section][key] = FAKE_SETTING
        return out

    def patch(self, body: dict[str, Any]) -> None:
        """Apply the modelled keys of a patch; a FakeSetting keeps the stored secret."""
        filtered: dict[str, Any] = {}
        for section, keys in PATCHABLE.items():
            values = body.get(section)
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                if key not in keys:
                    continue
                if (section, key) in SECRETS and value == FAKE_SETTING:
                    continue
                filtered.setdefault(section, {})[key] = value
        _merge(self.values, filtered, "config patch")
        if not self.values["FileSettings"]["PublicLinkSalt"]:
            self.values["FileSettings"]["PublicLinkSalt"] = new_salt()
        self._persist()

    def digest(self) -> str:
        """Stands in for `ClientConfigHash`: changes whenever the config does."""
        return self._digest

    def _persist(self) -> None:
        raw = json.dumps(self.values, sort_keys=True).encode()
        self._digest = hashlib.md5(raw, usedforsecurity=False).hexdigest()
        self._write()

    def _write(self) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.values, indent=1, sort_keys=True))
        tmp.chmod(0o600)
        tmp.replace(self._state_path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a JSON object")
    return data
