"""POST /api/v4/files (`api4/file.go uploadFileStream`), streamed to disk.

Order as upstream: attachments disabled → 403; `r.ParseForm()` (a bad escape or `;` in the query,
a Content-Type that `mime.ParseMediaType` rejects, or a bad urlencoded body → 400 read_request; a
urlencoded body is consumed, so a raw upload sent that way stores 0 bytes); `r.ContentLength == 0`
(no Content-Length and no chunked body counts as 0) → 400; then multipart/form-data with a
boundary → multipart mode, anything else → simple (raw body) mode.

Multipart parts are parsed incrementally from `request.stream()` with python-multipart's push
parser, so memory stays flat whatever the file size; each part's names come from Go's
`Part.FormName()`/`Part.FileName()` semantics (`gomime.part_names`): a part without a form name is
skipped, an empty filename makes a form field, RFC 2231 `filename*` names a file. Form values are
read like `io.CopyN(…, 10240)`: silently truncated. A `channel_id` part switches to streaming mode
(upstream re-reads the body from the start); a file part arriving before any channel id takes the
legacy `ReadForm` path, whose checks run once the body is complete, and whose body-cap error is a
500. Channel and permission checks run per file part only, so a body without file parts is 201
with no infos. The storage-driver check (501) belongs to `UploadFileX`, so it comes per file after
the channel checks. The body is capped at MaxFileSize + 512 (`http.MaxBytesReader`), each file at
MaxFileSize (413 `too_large_detailed`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference import filestore, gomime
from mmconform.reference.context import Ctx, State, endpoint, now_ms
from mmconform.reference.errors import (
    AppError,
    invalid_body_param,
    invalid_url_param,
    json_bytes,
    permission_error,
)
from mmconform.reference.fileinfo import BOOKMARK_OWNER, file_info_json
from mmconform.reference.ids import is_valid_id, new_id
from mmconform.reference.media import IMAGE_TYPES, extension_of, image_size, mime_for

# A malformed multipart body is answered with a 400 like upstream's; the parser's own warning for
# it ("Found invalid character ...") is noise in every fuzzing run, not a server problem.
logging.getLogger("python_multipart.multipart").setLevel(logging.ERROR)

MAX_FORM_VALUE = 10 * 1024
_ODD_NAME = re.compile(r"[^A-Za-z0-9._-]")


def _mime(state: State, name: str) -> str:
    if state.fault("upload-mime-wrong"):
        return "application/octet-stream"
    return mime_for(name)


def _read_request() -> AppError:
    return AppError("api.file.upload_file.read_request.app_error", 400)


def _too_large(name: str, length: int, limit: int) -> AppError:
    return AppError(
        "api.file.upload_file.too_large_detailed.app_error",
        413,
        params={"Filename": name, "Length": length, "Limit": limit},
    )


@dataclass
class Upload:
    name: str
    temp: filestore.TempFile
    too_large: int = 0  # legacy mode: the length that broke MaxFileSize, raised after ReadForm


@dataclass
class UploadJob:
    """What one request uploads; owns the temp files until they are committed."""

    ctx: Ctx
    channel_id: str
    bookmark: bool
    max_size: int
    uploads: list[Upload] = field(default_factory=list)
    checked: bool = False
    deferred_limits: bool = False

    def check_channel(self) -> None:
        """`RequireChannelId` then `upload_file` on the channel (a missing channel is 403)."""
        if self.checked:
            return
        if not is_valid_id(self.channel_id):
            raise invalid_url_param("channel_id")
        state = self.ctx.state
        unchecked = state.fault("bola-upload-any-channel") or (
            self.bookmark and state.fault("bookmark-upload-skips-permission")
        )
        if not unchecked and not state.authz.to_channel(
            self.ctx.session, self.channel_id, "upload_file"
        ):
            raise permission_error(self.ctx.session.user_id, "upload_file")
        self.checked = True

    def start(self, name: str) -> Upload:
        if self.ctx.state.fault("odd-filename-500") and _ODD_NAME.search(name):
            raise RuntimeError("fault odd-filename-500: filename not handled")
        # upload-keeps-directory-part: a fork storing the name as sent, without filepath.Base.
        kept = name if self.ctx.state.fault("upload-keeps-directory-part") else None
        up = Upload(kept or filestore.base_name(name), filestore.TempFile(self.ctx.state.tmp_dir))
        self.uploads.append(up)
        return up

    def require_driver(self) -> None:
        """`UploadFileX` answers 501 without a storage driver, after the handler's checks."""
        state = self.ctx.state
        if not state.config.get("FileSettings", "DriverName"):
            raise AppError("api.file.upload_file.storage.app_error", 501)

    def write(self, up: Upload, data: bytes) -> None:
        if up.too_large:
            return
        limit = self.max_size - (1 if self.ctx.state.fault("max-file-size-off-by-one") else 0)
        if up.temp.size + len(data) > limit:
            if self.deferred_limits:
                up.too_large = up.temp.size + len(data)
                return
            raise _too_large(up.name, up.temp.size + len(data), self.max_size)
        up.temp.write(data)

    def discard(self) -> None:
        for up in self.uploads:
            up.temp.discard()

    def commit(self) -> list[dict[str, Any]]:
        """Size images, then rename every file into place, then insert the rows."""
        state = self.ctx.state
        owned_by_bookmark = self.bookmark and not state.fault("bookmark-flag-ignored")
        creator = BOOKMARK_OWNER if owned_by_bookmark else self.ctx.session.user_id
        if self.ctx.state.fault("upload-creator-is-channel-creator") and not self.bookmark:
            # A fork attributing uploads to the channel's creator (an impersonation bug).
            owner = self.ctx.state.store.one(
                "SELECT creator_id FROM channels WHERE id = ?", self.channel_id
            )
            creator = str(owner["creator_id"]) if owner and owner["creator_id"] else creator
        max_res = int(state.config.get("FileSettings", "MaxImageResolution"))
        rows = []
        for up in self.uploads:
            up.temp.close()
            if up.temp.size == 0 and state.fault("zero-byte-upload-refused"):
                raise AppError("api.file.upload_file.read_request.app_error", 400)
            ext = extension_of(up.name)
            width = height = 0
            unsized = (ext == "gif" and state.fault("gif-dimensions-missing")) or (
                ext in ("jpg", "jpeg") and state.fault("jpeg-dimensions-missing")
            )
            if ext in IMAGE_TYPES and not unsized:
                with up.temp.path.open("rb") as fh:
                    size = image_size(fh, ext)
                if size is not None:
                    width, height = size
                    if width * height > max_res and not state.fault("max-image-resolution-ignored"):
                        raise AppError(
                            "api.file.upload_file.large_image_detailed.app_error",
                            400,
                            params={"Filename": up.name, "Width": width, "Height": height},
                        )
            file_id = new_id()
            now = now_ms()
            rows.append(
                {
                    "id": file_id,
                    "creator_id": creator,
                    "post_id": "",
                    "channel_id": self.channel_id,
                    "create_at": now,
                    "update_at": now,
                    "delete_at": 0,
                    "path": filestore.relative_path(
                        self.channel_id, creator, file_id, up.name, self.bookmark
                    ),
                    "name": up.name,
                    "extension": ext,
                    "size": up.temp.size,
                    "mime_type": _mime(state, up.name),
                    "width": width,
                    "height": height,
                    "has_preview_image": int(width > 0 and ext != "gif"),
                }
            )
        for up, row in zip(self.uploads, rows, strict=True):
            up.temp.commit(state.files_dir, str(row["path"]))
        for row in rows:
            state.store.insert("file_infos", row)
        return rows


def content_length(ctx: Ctx) -> int:
    """`r.ContentLength` as net/http sets it: -1 for a chunked body, 0 when neither header came."""
    headers = ctx.request.headers
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return -1
    raw = headers.get("content-length")
    if raw is None:
        return 0
    try:
        return int(raw.strip())
    except ValueError:
        return 0


async def parse_form(ctx: Ctx, cap: int) -> dict[str, list[str]]:
    """`r.ParseForm()` on a POST: urlencoded body values first, then the query's; ValueError."""
    request = ctx.request
    ctype = request.headers.get("content-type", "") or "application/octet-stream"
    media_error: gomime.MediaTypeError | None = None
    try:
        media, _ = gomime.parse_media_type(ctype)
    except gomime.MediaTypeError as exc:
        media, media_error = "", exc
    form: dict[str, list[str]] = {}
    if media == "application/x-www-form-urlencoded":
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > cap:
                raise ValueError("http: request body too large")
        form = gomime.parse_query(body.decode("utf-8", "surrogateescape"))
    if media_error is not None:
        raise media_error
    query = request.scope.get("query_string", b"").decode("utf-8", "surrogateescape")
    for key, values in gomime.parse_query(query).items():
        form.setdefault(key, []).extend(values)
    return form


async def upload_file(ctx: Ctx) -> Response:
    cfg = ctx.state.config
    faults = ctx.state.settings.faults
    enabled = cfg.get("FileSettings", "EnableFileAttachments")
    if not enabled and "attachments-disabled-ignored" not in faults:
        # 501 before 7.3 (PR #20767; versions.yaml `disabled-is-403`).
        status = 403 if ctx.state.has_rule("disabled-is-403") else 501
        raise AppError("api.file.attachments.disabled.app_error", status)
    max_size = int(cfg.get("FileSettings", "MaxFileSize"))
    if "max-file-size-ignored" in faults:
        max_size = 1 << 40
    try:
        form = await parse_form(ctx, max_size + 512)
    except ValueError as exc:
        if ctx.state.fault("upload-lenient-form"):
            form = {}
        else:
            raise AppError(
                "api.file.upload_file.read_request.app_error", 400, detailed=str(exc)
            ) from exc
    length = content_length(ctx)
    if length == 0 and not ctx.state.fault("upload-no-length-accepted"):
        if "empty-upload-500" in faults:
            raise RuntimeError("fault empty-upload-500: empty body not handled")
        raise AppError(
            "api.file.upload_file.read_request.app_error",
            400,
            detailed="Content-Length should not be 0",
        )
    job = UploadJob(
        ctx,
        ctx.request.query_params.get("channel_id", ""),
        ctx.query_flag("bookmark") and ctx.state.has_rule("bookmark-upload"),
        max_size,
    )
    try:
        try:
            media, params = gomime.parse_media_type(ctx.request.headers.get("content-type", ""))
        except gomime.MediaTypeError:
            media, params = "", {}
        if media == "multipart/form-data":
            if "boundary" not in params:
                raise AppError(
                    "api.file.upload_file.read_request.app_error",
                    400,
                    detailed="no multipart boundary param in Content-Type",
                )
            client_ids: list[str] | None = await _multipart(job, params["boundary"].encode())
        else:
            client_ids = await _simple(job, length, form)
        rows = job.commit()
    finally:
        job.discard()
    infos = [file_info_json(r) for r in rows]
    if "upload-leaks-path" in faults:
        infos = [{**i, "path": r["path"]} for i, r in zip(infos, rows, strict=True)]
    body = {"file_infos": infos, "client_ids": client_ids}
    status = 200 if "upload-status-200" in faults else 201
    # uploadFileStream: w.WriteHeader(201); json.NewEncoder(w).Encode(resp) adds the newline (D14)
    return Response(json_bytes(body) + b"\n", status, media_type="application/json")


async def _body_chunks(ctx: Ctx, cap: int) -> Any:
    """`http.MaxBytesReader`: bytes past `cap` turn into 413 request_body_too_large."""
    total = 0
    async for chunk in ctx.request.stream():
        if not chunk:
            continue
        total += len(chunk)
        if total > cap:
            keep = len(chunk) - (total - cap)
            if keep > 0:
                yield chunk[:keep]
            raise AppError("api.context.request_body_too_large.app_error", 413)
        yield chunk


async def _simple(job: UploadJob, length: int, form: dict[str, list[str]]) -> list[str] | None:
    ctx = job.ctx
    filename = ctx.request.query_params.get("filename", "")
    # raw-upload-body-param-ids: a fork reusing the multipart path's invalid_body_param here.
    bad_param = (
        invalid_body_param if ctx.state.fault("raw-upload-body-param-ids") else invalid_url_param
    )
    if not is_valid_id(job.channel_id):
        raise bad_param("channel_id")
    if not filename:
        raise bad_param("filename")
    if ctx.state.fault("raw-upload-skips-permission"):
        job.checked = True  # a fork checking upload_file in its multipart path only
    off_by_one = 1 if ctx.state.fault("max-file-size-off-by-one") else 0
    size_first = ctx.state.fault("raw-upload-size-before-permission")
    if size_first and length > job.max_size:  # a fork refusing large bodies before the channel
        raise _too_large(filestore.base_name(filename), length, job.max_size)
    job.check_channel()
    job.require_driver()
    if length > job.max_size - off_by_one:  # the fault: `>=` where upstream has `>`
        raise _too_large(filestore.base_name(filename), length, job.max_size)
    up = job.start(filename)
    # ParseForm consumed a urlencoded body already; the stream then yields nothing.
    if _media(ctx) != "application/x-www-form-urlencoded":
        async for chunk in _body_chunks(ctx, job.max_size + 512):
            job.write(up, chunk)
    client_id = (form.get("client_id") or [""])[0]
    if ctx.state.fault("upload-client-id-query-only"):
        client_id = ctx.request.query_params.get("client_id", "")
    return [client_id] if client_id else None


def _media(ctx: Ctx) -> str:
    try:
        return gomime.parse_media_type(ctx.request.headers.get("content-type", ""))[0]
    except gomime.MediaTypeError:
        return ""


# Legacy mode keeps whole values (ReadForm does); bound them anyway, the body cap is large.
MAX_LEGACY_VALUE = 1024 * 1024


class _PartState:
    """Callback target for the push parser; raises AppError straight through `write()`."""

    def __init__(self, job: UploadJob) -> None:
        self.job = job
        self.streaming = False  # a channel_id part was seen: upstream's re-read in stream mode
        self.legacy = False
        self.expect_ids = True
        self.client_ids: list[str] = []
        self.legacy_values: dict[str, list[str]] = {}
        self.headers: dict[bytes, bytes] = {}
        self.field_name = ""
        self.value = bytearray()
        self.upload: Upload | None = None
        self.is_file = False
        self.skip = False
        self.in_part = False  # between a part's headers and its end
        self._hname = b""
        self._hvalue = b""

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.headers = {}
        self.value = bytearray()
        self.upload = None
        self.is_file = self.skip = False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def header_end(self) -> None:
        self.headers[self._hname.lower()] = self._hvalue
        self._hname = self._hvalue = b""

    def headers_finished(self) -> None:
        disposition = self.headers.get(b"content-disposition", b"").decode("utf-8", "replace")
        if self.job.ctx.state.fault("upload-lenient-part-names"):
            form_name, filename = _lenient_names(disposition)
        else:
            form_name, filename = gomime.part_names(disposition)
        self.field_name = form_name
        self.in_part = True
        if not form_name:
            self.skip = True  # `if formname == "" { continue }`
            return
        if not filename:
            return  # a form field
        self.is_file = True
        job = self.job
        if not self.legacy and not job.channel_id and not self.streaming:
            self.legacy = True  # a file before channel_id: upstream's buffered legacy path
            job.deferred_limits = True
        if self.legacy:
            if form_name != "files":
                self.skip = True
                return
        else:
            job.check_channel()
            if not job.uploads and not self.client_ids:
                self.expect_ids = False
            if self.expect_ids and len(job.uploads) >= len(self.client_ids):
                raise invalid_body_param("client_ids")
            job.require_driver()
        self.upload = job.start(filename)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.skip:
            return
        if self.is_file:
            if self.upload is not None:
                self.job.write(self.upload, data[start:end])
            return
        self.value += data[start:end]
        if len(self.value) > MAX_LEGACY_VALUE:
            del self.value[MAX_LEGACY_VALUE:]

    def part_end(self) -> None:
        self.in_part = False
        if self.is_file or self.skip:
            return
        name = self.field_name
        whole = self.value.decode("utf-8", "replace")
        self.legacy_values.setdefault(name, []).append(whole)
        if self.legacy:
            return
        if len(self.value) > MAX_FORM_VALUE and self.job.ctx.state.fault("upload-form-value-400"):
            raise AppError(
                "api.file.upload_file.read_form_value.app_error", 400, params={"Formname": name}
            )
        # io.CopyN(&b, part, 10240): a longer value is cut, silently.
        value = bytes(self.value[:MAX_FORM_VALUE]).decode("utf-8", "replace")
        job = self.job
        if name == "channel_id":
            if job.channel_id and value != job.channel_id:
                if job.ctx.state.fault("upload-form-channel-wins") and value:
                    job.channel_id = value  # a fork letting the form override the query
                elif not job.ctx.state.fault("upload-multiple-channel-ids-ignored"):
                    raise AppError("api.file.upload_file.multiple_channel_ids.app_error", 400)
            elif value:
                job.channel_id = value
            self.streaming = True
        elif name == "client_ids":
            if not self.expect_ids and not job.ctx.state.fault("upload-late-client-ids-accepted"):
                raise invalid_body_param("client_ids")
            self.client_ids.append(value)
        else:
            raise invalid_body_param(name)


def _lenient_names(disposition: str) -> tuple[str, str]:
    """The seeded fault's parser: python-multipart's, which ignores `filename*` and empty names."""
    _, opts = parse_options_header(disposition.encode())
    name = opts.get(b"name", b"files").decode("utf-8", "replace")
    filename = opts.get(b"filename")
    if filename is None:
        return name, ""
    return name, filestore.base_name(filename.decode("utf-8", "replace"))


async def _multipart(job: UploadJob, boundary: bytes) -> list[str]:
    state = _PartState(job)
    parser = MultipartParser(boundary, state.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in _body_chunks(job.ctx, job.max_size + 512):
            parser.write(chunk)
        parser.finalize()
    except AppError as exc:
        if exc.error_id != "api.context.request_body_too_large.app_error":
            raise
        if state.legacy and not job.ctx.state.fault("upload-legacy-cap-413"):
            # ReadForm met the MaxBytesReader error; it goes into the detail, not Wrap: a 500.
            raise AppError(
                "api.file.upload_file.read_request.app_error",
                500,
                detailed="http: request body too large",
            ) from exc
        if state.is_file and state.upload is not None:
            raise  # UploadFileX's write error wraps the MaxBytesError: handleContextError's 413
        if state.in_part and not state.skip and len(state.value) < MAX_FORM_VALUE:
            # io.CopyN(&b, part, 10240) met the error before its 10 KB: read_form_value.
            raise AppError(
                "api.file.upload_file.read_form_value.app_error",
                400,
                params={"Formname": state.field_name},
                detailed="http: request body too large",
            ) from exc
        raise AppError(
            "api.file.upload_file.read_request.app_error",
            400,
            detailed="http: request body too large",
        ) from exc
    except Exception as exc:  # the parser's own errors: malformed multipart
        raise _read_request() from exc
    if state.legacy:
        return _finish_legacy(job, state)
    if not job.uploads and job.ctx.state.fault("upload-no-file-part-checks-channel"):
        job.check_channel()
    if state.expect_ids and len(state.client_ids) != len(job.uploads):
        raise AppError(
            "api.file.upload_file.incorrect_number_of_client_ids.app_error",
            400,
            params={"NumClientIds": len(state.client_ids), "NumFiles": len(job.uploads)},
        )
    return state.client_ids if state.expect_ids else []


def _finish_legacy(job: UploadJob, state: _PartState) -> list[str]:
    """`uploadFileMultipartLegacy` after `ReadForm`: channel, permission, ids, then each file."""
    channels = state.legacy_values.get("channel_id", [])
    if not channels:
        raise invalid_body_param("channel_id")
    job.channel_id = channels[0]
    job.checked = False
    if job.ctx.state.fault("legacy-upload-skips-permission") and is_valid_id(job.channel_id):
        job.checked = True  # a fork checking upload_file on the streaming path only
    job.check_channel()
    client_ids = state.legacy_values.get("client_ids", [])
    if client_ids and len(client_ids) != len(job.uploads):
        raise AppError(
            "api.file.upload_file.incorrect_number_of_client_ids.app_error",
            400,
            params={"NumClientIds": len(client_ids), "NumFiles": len(job.uploads)},
        )
    for up in job.uploads:
        job.require_driver()
        if up.too_large:
            raise _too_large(up.name, up.too_large, job.max_size)
    return [c for c in client_ids if c]


ROUTES = [Route("/api/v4/files", endpoint(upload_file), methods=["POST"])]
