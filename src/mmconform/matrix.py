"""The permission matrix: `conformance/permissions/*.yaml`, loaded and expanded into rows.

A YAML entry may list several operations, actors, channels and states; it expands (in the order
written, so every pytest-xdist worker collects the same items) into one row per combination, each
with a unique readable id such as `GetFileInfo[guest_not_in_channel-private-attached]-403`. Every
row names its requirement IDs, which must exist in the registry. Anything unknown or duplicated
is a load error naming the file and the entry.

An entry's fields (`operation`/`operations` and so on take one value or a list):

- `operation(s)`: operationIds (GetFile, ..., GetFilePublic for the public route);
- `actor(s)`: who sends the request (see ACTORS; anonymous sends no token);
- `channel(s)`: public, private, dm, or none for requests about no channel's object;
- `state(s)`: what the request is about, per operation (SHAPES): a file unattached, attached or
  whose post was deleted; a missing (well-formed, unknown) or junk id; an upload or licence variant;
- `variant`: a request variant (download, head, no_hash, bad_hash, include_deleted, etag);
- `config`: the server config the row needs (CONFIGS; default = as provisioned;
  `restricted_admin` = the target was started with ExperimentalSettings.RestrictSystemAdmin=true,
  which no run can switch on, so only licence rows may ask for it);
- `expect`: the status; `error_id`: the AppError id where the server defines one;
- `requirements`: IDs from the registry; `versions`: a range such as ">=9.11" where behaviour
  changed (two rows may share a key only if both carry ranges); `note`: free text;
- `unknown`: `{versions: RANGE, reason: TEXT}`, versions where what the server does is not known
  (e.g. a fix picked into a dot release whose diff nobody has read): the row is not applicable
  there, with the reason, rather than a guess;
- `leaves_unlicensed: true` (licence rows): the real server answers the request and also removes
  the installed licence (SaveLicense's RemoveLicense after a failed record save), so the licence
  alarm must not take that for a refused request changing the licence; the gate still restores it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmconform.datafile import load_yaml, require_keys, require_mapping
from mmconform.errors import UsageError
from mmconform.registry import Registry, load_registry
from mmconform.resources import conformance_dir
from mmconform.versions import VersionRange

ACTORS = (
    "system_admin",
    "uploader",
    "channel_member",
    "team_member_not_in_channel",
    "other_team_user",
    "guest_in_channel",
    "guest_not_in_channel",
    "system_manager",
    "system_read_only_admin",
    "deactivated_user",
    "anonymous",
    "invalid_token",
    "gm_member",
    "team_admin",
    "channel_admin",
)
CHANNELS = ("public", "private", "dm", "gm", "none")
CONFIGS = (
    "default",
    "public_links_off",
    "attachments_off",
    "small_max_file_size",
    "small_max_image_resolution",
    "salt_changed",
    "compliance_on",
    "restricted_admin",
)
# Operations whose system_admin rows depend on ExperimentalSettings.RestrictSystemAdmin.
RESTRICTABLE = ("UploadLicenseFile", "RemoveLicenseFile")

# States that name no channel (a bad id, or a request that is not about a channel's object).
_CHANNEL_FREE = frozenset(
    {
        "missing",
        "junk",
        "garbage",
        "no_file",
        "expired",
        "valid",
        "too_few_users",
        "installed",
        "not_installed",
        "missing_channel",
        "junk_channel",
        "sanctioned_trial",
        "stray_bytes",
        "extra_users_only",
        "bad_record_id",
        # genuine licences altered (issue 12; mmconform.live_target.tamper)
        "altered_payload",
        "altered_signature",
        "foreign_key",
        "truncated",
        "unpadded",
        "at_seat_limit",
        "over_seat_limit",
        # the trial guard (live_target.rows.TRIAL_STATES)
        "trial_after_trial",
        "sanctioned_after_trial",
        "trial_team_edition",
        # issue 12 (helper shapes): the channel errors in the raw-body and legacy shapes
        "raw_no_channel",
        "raw_junk_channel",
        "raw_missing_channel",
        "legacy_no_channel",
        "legacy_junk_channel",
        "legacy_missing_channel",
    }
)
_SHAPE_CHANNEL_STATES = frozenset(
    state for state in _CHANNEL_FREE if state.startswith(("raw_", "legacy_"))
)
# Issue 12 (helper shapes): every request shape (conformance/requirements-shapes.yaml); the
# live-target rows build them (live_target.rows.SHAPE_UPLOADS).
SHAPE_UPLOAD_STATES = (
    "legacy_order",
    "legacy_client_ids_mismatch",
    "query_form_conflict",
    "raw_no_filename",
    "raw_client_id",
    "bookmark",
    "raw_bookmark",
    "legacy_bookmark",
    *sorted(_SHAPE_CHANNEL_STATES),
)
ERROR_SHAPE = "ERR-SHAPE-001"
_FILE_STATES = ("unattached", "attached", "post_deleted", "missing", "junk")


@dataclass(frozen=True)
class Shape:
    states: tuple[str, ...]
    variants: tuple[str, ...] = ()


SHAPES: dict[str, Shape] = {
    # `head`: the same request with HEAD (issue 12; conformance/requirements-shapes.yaml)
    "GetFile": Shape(_FILE_STATES, ("download", "range", "multi_range", "head")),
    "GetFileInfo": Shape(_FILE_STATES, ("head",)),
    "GetFileLink": Shape(_FILE_STATES, ("head",)),
    "GetFilePublic": Shape(
        ("attached", "post_deleted", "missing", "junk"),
        (
            "head",
            "no_hash",
            "bad_hash",
            # issue 12: hashes that are almost right, and HEAD with the checks GET has
            "other_file_hash",
            "truncated_hash",
            "case_changed_hash",
            "head_bad_hash",
            "head_no_hash",
        ),
    ),
    "GetFileInfosForPost": Shape(
        ("with_files", "no_files", "post_deleted", "missing", "junk"),
        ("include_deleted", "etag", "stale_etag", "reader_etag"),
    ),
    "UploadFile": Shape(
        (
            "multipart",
            "raw_body",
            "missing_channel",
            "junk_channel",
            "too_few_client_ids",
            "empty_body",
            "too_large",
            "client_ids",
            "too_large_image",
            "chunked",
            "chunked_too_large",
            # Go library semantics (issue 11): see conformance/requirements-upload.yaml.
            "empty_filename",
            "encoded_filename",
            "nameless_part",
            "client_ids_after_file",
            "two_channel_ids",
            "no_file_part",
            "long_form_value",
            "legacy_too_large",
            "urlencoded_body",
            "urlencoded_bad_escape",
            # issue 12: the MaxFileSize boundary in both modes
            "at_max_size",
            "raw_at_max_size",
            "raw_too_large",
            *SHAPE_UPLOAD_STATES,
        ),
    ),
    "UploadLicenseFile": Shape(
        (
            "garbage",
            "no_file",
            "expired",
            "valid",
            "too_few_users",
            "sanctioned_trial",
            "stray_bytes",
            "extra_users_only",
            "bad_record_id",
            "altered_payload",
            "altered_signature",
            "foreign_key",
            "truncated",
            "unpadded",
            "at_seat_limit",
            "over_seat_limit",
            "trial_after_trial",
            "sanctioned_after_trial",
            "trial_team_edition",
        )
    ),
    "RemoveLicenseFile": Shape(("installed", "not_installed")),
}

_LISTS = {
    "operation": "operations",
    "actor": "actors",
    "channel": "channels",
    "state": "states",
}
_OPTIONAL = {"config", "variant", "error_id", "versions", "unknown", "note", "leaves_unlicensed"}
_ALLOWED = set(_LISTS) | set(_LISTS.values()) | {"expect", "requirements"} | _OPTIONAL


@dataclass(frozen=True)
class Row:
    id: str
    operation: str
    actor: str
    channel: str
    state: str
    expect: int
    requirements: tuple[str, ...]
    config: str = "default"
    variant: str | None = None
    error_id: str | None = None
    versions: VersionRange | None = None
    source: str = ""
    unknown: VersionRange | None = None
    unknown_reason: str = ""
    leaves_unlicensed: bool = False

    @property
    def key(self) -> tuple[str, str, str, str, str, str | None]:
        return (self.operation, self.actor, self.channel, self.state, self.config, self.variant)

    @property
    def checked_requirements(self) -> tuple[str, ...]:
        """The row's IDs plus ERR-SHAPE-001 when it expects an error from an /api/v4 route."""
        if self.expect >= 400 and self.operation != "GetFilePublic":
            return (*self.requirements, ERROR_SHAPE)
        return self.requirements

    def applies_to(self, server_version: str | None) -> bool:
        if self.versions is None or server_version is None:
            return True
        return self.versions.contains(server_version)

    def unknown_at(self, server_version: str | None) -> bool:
        """True where the behaviour of this version is not known (see `unknown`)."""
        if self.unknown is None or server_version is None:
            return False
        return self.unknown.contains(server_version)


def _unknown(entry: dict[str, Any], where: str) -> tuple[VersionRange | None, str]:
    raw = entry.get("unknown")
    if raw is None:
        return None, ""
    block = require_mapping(raw, f"{where}: unknown")
    require_keys(block, f"{where}: unknown", {"versions", "reason"}, set())
    reason = block["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise UsageError(f"{where}: unknown.reason must say why the behaviour is not known")
    return VersionRange.parse(str(block["versions"]), f"{where}: unknown"), " ".join(reason.split())


def row_id(
    op: str, actor: str, channel: str, state: str, config: str, variant: str | None, expect: int
) -> str:
    parts = [actor, channel, state]
    if variant:
        parts.append(variant)
    if config != "default":
        parts.append(config)
    return f"{op}[{'-'.join(parts)}]-{expect}"


def _as_list(entry: dict[str, Any], single: str, where: str) -> list[str]:
    plural = _LISTS[single]
    if single in entry and plural in entry:
        raise UsageError(f"{where}: give either {single} or {plural}, not both")
    if single in entry:
        return [str(entry[single])]
    if plural in entry:
        values = entry[plural]
        if not isinstance(values, list) or not values:
            raise UsageError(f"{where}: {plural} must be a non-empty list")
        return [str(v) for v in values]
    raise UsageError(f"{where}: missing field {single} (or {plural})")


def _check_member(
    value: str, allowed: tuple[str, ...] | frozenset[str], what: str, where: str
) -> None:
    if value not in allowed:
        raise UsageError(f"{where}: unknown {what} {value!r}; known: {', '.join(sorted(allowed))}")


def _expand(entry: dict[str, Any], where: str) -> list[Row]:
    unknown = set(entry) - _ALLOWED
    if unknown:
        raise UsageError(
            f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(_ALLOWED))}"
        )
    require_keys(entry, where, {"expect", "requirements"}, _ALLOWED - {"expect", "requirements"})
    ops = _as_list(entry, "operation", where)
    actors = _as_list(entry, "actor", where)
    channels = _as_list(entry, "channel", where)
    states = _as_list(entry, "state", where)
    expect = entry["expect"]
    if not isinstance(expect, int) or not 100 <= expect <= 599:
        raise UsageError(f"{where}: expect must be an HTTP status code, got {expect!r}")
    reqs = entry["requirements"]
    if not isinstance(reqs, list) or not reqs or not all(isinstance(r, str) for r in reqs):
        raise UsageError(f"{where}: requirements must be a non-empty list of IDs")
    config = str(entry.get("config", "default"))
    _check_member(config, CONFIGS, "config", where)
    variant = entry.get("variant")
    versions = entry.get("versions")
    vrange = VersionRange.parse(str(versions), where) if versions is not None else None
    unknown_range, unknown_reason = _unknown(entry, where)
    leaves_unlicensed = entry.get("leaves_unlicensed", False)
    if not isinstance(leaves_unlicensed, bool):
        raise UsageError(f"{where}: leaves_unlicensed must be true or false")
    rows = []
    for op, actor, channel, state in itertools.product(ops, actors, channels, states):
        _check_member(op, tuple(SHAPES), "operation", where)
        _check_member(actor, ACTORS, "actor", where)
        _check_member(channel, CHANNELS, "channel", where)
        shape = SHAPES[op]
        _check_member(state, shape.states, f"state for {op}", where)
        if config == "restricted_admin" and (op not in RESTRICTABLE or actor != "system_admin"):
            raise UsageError(
                f"{where}: config restricted_admin only applies to system_admin rows of "
                f"{' and '.join(RESTRICTABLE)}, got {actor} {op}"
            )
        if variant is not None:
            _check_member(str(variant), shape.variants or ("(none)",), f"variant for {op}", where)
        if (state in _CHANNEL_FREE) != (channel == "none"):
            raise UsageError(
                f"{where}: state {state!r} needs channel "
                f"{'none' if state in _CHANNEL_FREE else 'public, private or dm'}, got {channel!r}"
            )
        rid = row_id(op, actor, channel, state, config, variant, expect)
        rows.append(
            Row(
                id=rid,
                operation=op,
                actor=actor,
                channel=channel,
                state=state,
                expect=expect,
                requirements=tuple(reqs),
                config=config,
                variant=str(variant) if variant is not None else None,
                error_id=str(entry["error_id"]) if entry.get("error_id") else None,
                versions=vrange,
                source=where,
                unknown=unknown_range,
                unknown_reason=unknown_reason,
                leaves_unlicensed=leaves_unlicensed,
            )
        )
    return rows


def load_matrix_file(path: Path) -> list[Row]:
    data = require_mapping(load_yaml(path), str(path))
    require_keys(data, str(path), {"rows"}, {"description"})
    entries = data["rows"]
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{path}: expected a non-empty list under 'rows'")
    rows: list[Row] = []
    for index, raw in enumerate(entries, start=1):
        where = f"{path}: entry #{index}"
        rows += _expand(require_mapping(raw, where), where)
    return rows


def _check_duplicates(rows: list[Row]) -> None:
    by_id: dict[str, Row] = {}
    by_key: dict[tuple[str, str, str, str, str, str | None], Row] = {}
    for row in rows:
        if row.id in by_id:
            raise UsageError(
                f"{row.source}: duplicate row {row.id} (first in {by_id[row.id].source}); "
                "remove one"
            )
        by_id[row.id] = row
        other = by_key.get(row.key)
        if other is not None and (other.versions is None or row.versions is None):
            raise UsageError(
                f"{row.source}: row {row.id} contradicts {other.id} ({other.source}); "
                "give both a version range or remove one"
            )
        by_key[row.key] = row


def load_matrix(directory: Path | None = None, registry: Registry | None = None) -> list[Row]:
    """Every row of every `*.yaml` in the folder, files in name order; IDs checked."""
    directory = directory or conformance_dir() / "permissions"
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise UsageError(f"{directory}: no *.yaml matrix files; check the installation")
    registry = registry or load_registry()
    rows: list[Row] = []
    for path in files:
        for row in load_matrix_file(path):
            registry.check_ids(list(row.requirements), f"{row.source} (row {row.id})")
            rows.append(row)
    _check_duplicates(rows)
    return rows
