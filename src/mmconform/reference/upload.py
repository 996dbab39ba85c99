"""POST /api/v4/files (`api4/file.go uploadFileStream`), streamed to disk.

Order of checks as upstream: attachments disabled → 403 before anything else; Content-Length 0 →
400; multipart with a boundary → multipart mode, anything else → simple (raw body) mode.
Multipart parts are parsed incrementally from `request.stream()` with python-multipart's push
parser, so memory stays flat whatever the file size. When `channel_id` (query or form) is known
before the first file part, checks run per part as in streaming mode; a file part arriving first
takes the legacy path, whose checks run once the body is complete. The body is capped at
MaxFileSize + 512 (413 `request_body_too_large`), each file at MaxFileSize (413
`too_large_detailed`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.responses import Response
from starlette.routing import Route

from mmconform.reference import filestore
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


@dataclass
class UploadJob:
    """What one request uploads; owns the temp files until they are committed."""

    ctx: Ctx
    channel_id: str
    bookmark: bool
    max_size: int
    uploads: list[Upload] = field(default_factory=list)
    checked: bool = False

    def check_channel(self) -> None:
        """`RequireChannelId` then `upload_file` on the channel (a missing channel is 403)."""
        if self.checked:
            return
        if not is_valid_id(self.channel_id):
            raise invalid_url_param("channel_id")
        state = self.ctx.state
        if not state.fault("bola-upload-any-channel") and not state.authz.to_channel(
            self.ctx.session, self.channel_id, "upload_file"
        ):
            raise permission_error(self.ctx.session.user_id, "upload_file")
        self.checked = True

    def start(self, name: str) -> Upload:
        if self.ctx.state.fault("odd-filename-500") and _ODD_NAME.search(name):
            raise RuntimeError("fault odd-filename-500: filename not handled")
        up = Upload(filestore.base_name(name), filestore.TempFile(self.ctx.state.tmp_dir))
        self.uploads.append(up)
        return up

    def write(self, up: Upload, data: bytes) -> None:
        if up.temp.size + len(data) > self.max_size:
            raise _too_large(up.name, up.temp.size + len(data), self.max_size)
        up.temp.write(data)

    def discard(self) -> None:
        for up in self.uploads:
            up.temp.discard()

    def commit(self) -> list[dict[str, Any]]:
        """Size images, then rename every file into place, then insert the rows."""
        state = self.ctx.state
        creator = BOOKMARK_OWNER if self.bookmark else self.ctx.session.user_id
        max_res = int(state.config.get("FileSettings", "MaxImageResolution"))
        rows = []
        for up in self.uploads:
            up.temp.close()
            ext = extension_of(up.name)
            width = height = 0
            if ext in IMAGE_TYPES:
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


async def upload_file(ctx: Ctx) -> Response:
    cfg = ctx.state.config
    faults = ctx.state.settings.faults
    enabled = cfg.get("FileSettings", "EnableFileAttachments")
    if not enabled and "attachments-disabled-ignored" not in faults:
        raise AppError("api.file.attachments.disabled.app_error", 403)
    length_header = ctx.request.headers.get("content-length")
    if length_header is not None and length_header.strip() == "0":
        if "empty-upload-500" in faults:
            raise RuntimeError("fault empty-upload-500: empty body not handled")
        raise AppError(
            "api.file.upload_file.read_request.app_error",
            400,
            detailed="Content-Length should not be 0",
        )
    if not cfg.get("FileSettings", "DriverName"):
        raise AppError("api.file.upload_file.storage.app_error", 501)
    max_size = int(cfg.get("FileSettings", "MaxFileSize"))
    if "max-file-size-ignored" in faults:
        max_size = 1 << 40
    job = UploadJob(
        ctx,
        ctx.request.query_params.get("channel_id", ""),
        ctx.query_flag("bookmark"),
        max_size,
    )
    try:
        ctype, params = parse_options_header(ctx.request.headers.get("content-type", ""))
        if ctype == b"multipart/form-data":
            boundary = params.get(b"boundary")
            if not boundary:
                raise _read_request()
            client_ids: list[str] | None = await _multipart(job, boundary)
        else:
            client_ids = await _simple(job, length_header)
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


async def _simple(job: UploadJob, length_header: str | None) -> list[str] | None:
    ctx = job.ctx
    filename = ctx.request.query_params.get("filename", "")
    if not is_valid_id(job.channel_id):
        raise invalid_url_param("channel_id")
    if not filename:
        raise invalid_url_param("filename")
    job.check_channel()
    if length_header is not None and length_header.isdigit() and int(length_header) > job.max_size:
        raise _too_large(filestore.base_name(filename), int(length_header), job.max_size)
    up = job.start(filename)
    async for chunk in _body_chunks(ctx, job.max_size + 512):
        job.write(up, chunk)
    client_id = ctx.request.query_params.get("client_id", "")
    return [client_id] if client_id else None


class _PartState:
    """Callback target for the push parser; raises AppError straight through `write()`."""

    def __init__(self, job: UploadJob) -> None:
        self.job = job
        self.query_channel = job.channel_id
        self.form_channel = ""
        self.legacy = False
        self.client_ids: list[str] = []
        self.headers: dict[bytes, bytes] = {}
        self.field_name = b""
        self.value = bytearray()
        self.upload: Upload | None = None
        self.is_file = False
        self.skip = False
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
        _, opts = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.field_name = opts.get(b"name", b"")
        filename = opts.get(b"filename")
        if filename is None:
            return
        self.is_file = True
        name = filename.decode("utf-8", "replace")
        job = self.job
        if not self.legacy and not job.channel_id:
            self.legacy = True  # a file before channel_id: upstream's buffered legacy path
        if self.legacy:
            if self.field_name != b"files":
                self.skip = True
                return
        else:
            job.check_channel()
            if self.client_ids and len(self.client_ids) <= len(job.uploads):
                raise invalid_body_param("client_ids")
        self.upload = job.start(name)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.is_file:
            if self.upload is not None:
                self.job.write(self.upload, data[start:end])
            return
        self.value += data[start:end]
        if len(self.value) > MAX_FORM_VALUE:
            raise AppError(
                "api.file.upload_file.read_form_value.app_error",
                400,
                params={"Formname": self.field_name.decode("utf-8", "replace")},
            )

    def part_end(self) -> None:
        if self.is_file:
            return
        name = self.field_name.decode("utf-8", "replace")
        value = self.value.decode("utf-8", "replace")
        if name == "channel_id":
            if self.query_channel and value != self.query_channel:
                raise AppError("api.file.upload_file.multiple_channel_ids.app_error", 400)
            self.form_channel = value
            if not self.job.channel_id:
                self.job.channel_id = value
        elif name == "client_ids":
            self.client_ids.append(value)
        elif not self.legacy:
            raise invalid_body_param(name)


async def _multipart(job: UploadJob, boundary: bytes) -> list[str]:
    state = _PartState(job)
    parser = MultipartParser(boundary, state.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in _body_chunks(job.ctx, job.max_size + 512):
            parser.write(chunk)
        parser.finalize()
    except AppError:
        raise
    except Exception as exc:  # the parser's own errors: malformed multipart
        raise _read_request() from exc
    if state.legacy:
        if not job.channel_id:
            raise invalid_body_param("channel_id")
        job.check_channel()
    elif not job.channel_id:
        raise invalid_body_param("channel_id")
    else:
        job.check_channel()
    if state.client_ids and len(state.client_ids) != len(job.uploads):
        raise AppError(
            "api.file.upload_file.incorrect_number_of_client_ids.app_error",
            400,
            params={"NumClientIds": len(state.client_ids), "NumFiles": len(job.uploads)},
        )
    return state.client_ids


ROUTES = [Route("/api/v4/files", endpoint(upload_file), methods=["POST"])]
