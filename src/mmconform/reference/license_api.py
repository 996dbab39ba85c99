"""POST/DELETE /api/v4/license and GET /api/v4/license/client (`api4/license.go`).

Trial rule: this server behaves like a licensed Enterprise build with a LicenseManager, so a
non-sanctioned trial licence is accepted once; after any trial licence has been saved, the next
one is 400 `api.license.request-trial.can-start-trial.not-allowed` (`CanStartTrial` false).
SaveLicense order: signature (400 invalid) → registered users vs `features.users` (400
unique_users) → expiry (400 expired); `starts_at` is not checked. Success is 200 with the full
License JSON plus a newline (`json.NewEncoder`). DELETE is 200 `{"status":"OK"}` even with no
licence loaded; the restricted-admin rule applies to both.

Looked up: `getClientLicense` (api4/license.go) answers a missing `format` with 400
`api.license.client.old_format.app_error` in current code (501 in older servers) and any value
other than `old` with `SetInvalidParam("format")`; readers without `read_license_information` get
the sanitised map. Licence JSON fields follow `model/license.go` (`Features.SetDefaults`).
"""

from __future__ import annotations

from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference import licensing
from mmconform.reference.context import Ctx, State, endpoint, json_response, now_ms, status_ok
from mmconform.reference.errors import AppError, invalid_body_param, json_bytes, permission_error
from mmconform.reference.ids import is_valid_id

ACTIVE_KEY = "active_license"
HAD_TRIAL_KEY = "had_trial_license"
MAX_KEPT = 1024 * 1024


def load_active(state: State) -> None:
    """Re-validate the stored licence at start; a stale key simply means unlicensed."""
    raw = state.store.get_system(ACTIVE_KEY)
    state.license = None
    if raw:
        try:
            state.license = licensing.validate(raw.encode(), state.public_key_pem)
        except licensing.LicenseInvalid:
            state.license = None


def _require_manage(ctx: Ctx, any_user_fault: str, role_fault: tuple[str, str]) -> None:
    if ctx.state.authz.to_not_restricted_admin(ctx.session, "manage_license_information"):
        return
    faults = ctx.state.settings.faults
    if faults and any_user_fault in faults:
        return
    if faults and role_fault[0] in faults and role_fault[1] in ctx.session.roles.split():
        return
    if faults and "license-channel-admin" in faults and _is_channel_admin(ctx):
        return
    raise permission_error(ctx.session.user_id, "manage_license_information")


def _is_channel_admin(ctx: Ctx) -> bool:
    """For the seeded fault license-channel-admin: the caller is scheme admin of a channel."""
    row = ctx.state.store.one(
        "SELECT 1 FROM channel_members WHERE user_id = ? "
        "AND (' ' || roles || ' ') LIKE '% channel_admin %'",
        ctx.session.user_id,
    )
    return row is not None


async def _license_part(ctx: Ctx) -> bytes:
    """`parseLicenseFileFromRequest`, reading at most MaxFileSize + 512 bytes."""
    ctype, params = parse_options_header(ctx.request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise AppError("api.license.parse_license.parse_form.app_error", 400)
    cap = int(ctx.state.config.get("FileSettings", "MaxFileSize")) + 512
    found: list[bytearray] = []
    current: dict[str, Any] = {"hdr": {}, "name": b"", "buf": None}

    def header_end_factory() -> Any:
        field = bytearray()
        value = bytearray()

        def on_field(d: bytes, s: int, e: int) -> None:
            field.extend(d[s:e])

        def on_value(d: bytes, s: int, e: int) -> None:
            value.extend(d[s:e])

        def on_end() -> None:
            current["hdr"][bytes(field).lower()] = bytes(value)
            field.clear()
            value.clear()

        return on_field, on_value, on_end

    on_field, on_value, on_end = header_end_factory()

    def on_headers_finished() -> None:
        _, opts = parse_options_header(current["hdr"].get(b"content-disposition", b""))
        current["buf"] = None
        if opts.get(b"name") == b"license" and b"filename" in opts:
            current["buf"] = bytearray()
            found.append(current["buf"])

    def on_data(d: bytes, s: int, e: int) -> None:
        buf = current["buf"]
        if buf is not None and len(buf) < MAX_KEPT:
            buf.extend(d[s:e])

    def on_begin() -> None:
        current["hdr"] = {}

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_begin,
            "on_header_field": on_field,
            "on_header_value": on_value,
            "on_header_end": on_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_data,
        },
    )
    total = 0
    try:
        async for chunk in ctx.request.stream():
            total += len(chunk)
            if total > cap:
                raise AppError("api.context.request_body_too_large.app_error", 413)
            parser.write(chunk)
        parser.finalize()
    except AppError:
        raise
    except Exception as exc:
        raise AppError("api.license.parse_license.parse_form.app_error", 400) from exc
    if not found:
        raise AppError("api.license.add_license.no_file.app_error", 400)
    return bytes(found[0])


MAX_RECORD_BYTES = 10000


def record_bytes_error_id(state: State) -> str:
    """`LicenseRecord.IsValid`'s id for a missing or over-long record (versions.yaml)."""
    if state.has_rule("license-record-bytes-id"):
        return "model.license_record.is_valid.bytes.app_error"
    return "model.license_record.is_valid.create_at.app_error"


def _unlicense(state: State) -> None:
    """`SaveLicense` after `SetLicense` when the record cannot be stored: `RemoveLicense()`."""
    state.store.set_system(ACTIVE_KEY, "")
    state.license = None


def _trial_guard(state: State) -> None:
    """addLicense's guard for a non-sanctioned trial (api4/license.go): no LicenseManager (a Team
    Edition build) → 500 upgrade_needed; `CanStartTrial()` false → 400 not-allowed. CanStartTrial
    is closed enterprise code; this server answers false once any trial licence was saved here or
    the start seeded it (`Settings.had_trial`), as the i18n text of the id says ("You have
    previously applied a trial license to this Mattermost instance"; docs/facts/trial-guard.md).
    Seeded faults: trial-team-edition-accepted, second-trial-accepted,
    sanctioned-trial-refused-after-trial (the last one in add_license)."""
    if state.settings.edition == "team":
        if state.fault("trial-team-edition-accepted"):
            return
        raise AppError("api.license.upgrade_needed.app_error", 500)
    if state.store.get_system(HAD_TRIAL_KEY) == "true" and not state.fault("second-trial-accepted"):
        raise AppError("api.license.request-trial.can-start-trial.not-allowed", 400)


async def add_license(ctx: Ctx) -> Response:
    _require_manage(
        ctx, "license-upload-any-user", ("license-upload-system-manager", "system_manager")
    )
    data = await _license_part(ctx)
    state = ctx.state
    if state.fault("license-base64-lenient"):
        data = bytes(c for c in data if c in licensing.B64_ALPHABET)
    if state.fault("license-base64-unpadded"):
        # A fork decoding like base64.RawStdEncoding when the padding is missing.
        bare = data.strip()
        data = bare + b"=" * (-len(bare.replace(b"\r", b"").replace(b"\n", b"")) % 4)
    try:
        raw = licensing.decode_signed(
            data, state.public_key_pem, verify=not state.fault("license-signature-unchecked")
        )
    except licensing.LicenseInvalid as exc:
        if state.fault("license-invalid-accepted"):
            # Answers as if installed, but keeps the real state (the server stays usable).
            fake = licensing.normalise({"id": "invalid", "features": {"users": 1}})
            return Response(json_bytes(fake) + b"\n", 200, media_type="application/json")
        raise AppError("api.license.add_license.invalid.app_error", 400) from exc
    except licensing.LicenseUnmarshal as exc:
        raise AppError("api.unmarshal_error", 500) from exc
    lic = licensing.normalise(raw)
    unsanctioned = licensing.is_trial_license(lic) and not licensing.is_sanctioned_trial(lic)
    if unsanctioned:
        _trial_guard(state)
    elif (
        licensing.is_trial_license(lic)
        and state.fault("sanctioned-trial-refused-after-trial")
        and state.store.get_system(HAD_TRIAL_KEY) == "true"
    ):  # a fork that applies the one-trial rule to sanctioned trials too
        raise AppError("api.license.request-trial.can-start-trial.not-allowed", 400)
    features = raw.get("features")
    if not isinstance(features, dict) or features.get("users") is None:
        # SaveLicense: `license.Features == nil` / `Features.Users == nil` → 400 invalid.
        raise AppError("api.license.add_license.invalid.app_error", 400)
    row = state.store.one("SELECT COUNT(*) AS n FROM users WHERE delete_at = 0")
    count = int(row["n"]) if row else 0
    users = int(lic["features"].get("users") or 0)
    if state.fault("license-seats-add-extra-users"):
        users += int(lic.get("extra_users") or 0)
    if state.fault("license-seats-off-by-one"):
        count += 1  # a fork comparing count >= users: a licence exactly at the limit refused
    if count > users and not state.fault("license-user-limit-ignored"):
        raise AppError(
            "api.license.add_license.unique_users.app_error",
            400,
            params={"Users": users, "Count": count},
        )
    if int(lic["expires_at"]) < now_ms() and not state.fault("license-expired-accepted"):
        raise AppError("api.license.add_license.expired.app_error", 400)
    # SetLicense(&license) has happened; License().Save(record) runs LicenseRecord.IsValid on
    # the raw uploaded bytes, and its failure leaves the server unlicensed.
    if not is_valid_id(str(lic["id"])) and not state.fault("license-record-id-unchecked"):
        _unlicense(state)
        raise AppError("model.license_record.is_valid.id.app_error", 400)
    if len(data) > MAX_RECORD_BYTES:
        _unlicense(state)
        raise AppError(record_bytes_error_id(state), 400)
    text = data.decode("ascii", "replace")
    state.store.set_system(ACTIVE_KEY, text)
    if licensing.is_trial_license(lic):
        state.store.set_system(HAD_TRIAL_KEY, "true")
    state.license = lic
    return Response(json_bytes(lic) + b"\n", 200, media_type="application/json")


async def remove_license(ctx: Ctx) -> Response:
    _require_manage(
        ctx,
        "license-remove-any-user",
        ("license-remove-read-only-admin", "system_read_only_admin"),
    )
    if ctx.state.license is None and ctx.state.fault("license-remove-none-404"):
        raise AppError("api.license.remove_license.not_found.app_error", 404)
    if ctx.state.license is not None:
        ctx.state.store.set_system(ACTIVE_KEY, "")
        ctx.state.license = None
    return status_ok()


def client_license(lic: dict[str, Any] | None, full: bool) -> dict[str, str]:
    if lic is None:
        return {"IsLicensed": "false"}
    out = {
        "IsLicensed": "true",
        "IsTrial": str(lic["is_trial"]).lower(),
        "SkuShortName": str(lic["sku_short_name"]),
    }
    for key, value in lic["features"].items():
        if isinstance(value, bool):
            out[key] = str(value).lower()
    if full:
        out.update(
            {
                "Id": str(lic["id"]),
                "Users": str(lic["features"].get("users", 0)),
                "IssuedAt": str(lic["issued_at"]),
                "StartsAt": str(lic["starts_at"]),
                "ExpiresAt": str(lic["expires_at"]),
                "Name": lic["customer"]["name"],
                "Company": lic["customer"]["company"],
                "SkuName": str(lic["sku_name"]),
            }
        )
    return out


async def get_client_license(ctx: Ctx) -> Response:
    fmt = ctx.request.query_params.get("format", "")
    if not fmt:
        raise AppError("api.license.client.old_format.app_error", 400)
    if fmt != "old":
        raise invalid_body_param("format")
    full = ctx.has_session and ctx.state.authz.to(ctx.session, "read_license_information")
    return json_response(client_license(ctx.state.license, full))


ROUTES = [
    Route("/api/v4/license", endpoint(add_license), methods=["POST"]),
    Route("/api/v4/license", endpoint(remove_license), methods=["DELETE"]),
    Route("/api/v4/license/client", endpoint(get_client_license, session=False), methods=["GET"]),
]
