"""Mattermost-specific schemathesis checks.

Each check is a thin `@schemathesis.check` wrapper around a pure function returning the problems
it sees, so the rules can be tested on constructed responses and reused outside schemathesis.
Every failure message starts with the requirement ID it enforces (conformance/
requirements-contract.yaml), which is how a fuzz failure is traced back to a rule.

Registration is process-wide (that is how schemathesis checks work, and it lets the plain CLI use
them through SCHEMATHESIS_HOOKS=mmconform.fuzz.checks); every check therefore ignores operations
that are not ours (see `_our_operation`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import schemathesis

from mmconform.operations import OPERATION_IDS as ALL_OPERATIONS

# Requirement IDs, one per check (conformance/requirements-contract.yaml).
REQ_ERROR_SHAPE = "CONTRACT-ERROR-001"
REQ_HEADERS = "CONTRACT-HEADERS-001"
REQ_NO_5XX = "CONTRACT-SERVER-001"
REQ_FILE_HEADERS = "CONTRACT-FILEHDR-001"
REQ_NO_PATHS = "CONTRACT-INFO-001"
REQ_STATUS = "CONTRACT-STATUS-001"

OPERATION_IDS = frozenset(ALL_OPERATIONS)
# server/platform/shared/web/files.go: media a browser may render in place.
INLINE_MEDIA = (
    "image/jpeg",
    "image/png",
    "image/bmp",
    "image/gif",
    "image/tiff",
    "image/webp",
    "video/avi",
    "video/mpeg",
    "video/mp4",
    "audio/mpeg",
    "audio/wav",
)
# Seen only in an excerpt of files.go of unknown version (mattermost-behaviour.md §4): either
# disposition is accepted for these.
MAYBE_INLINE_MEDIA = (
    "video/webm",
    "video/ogg",
    "video/quicktime",
    "video/x-matroska",
    "audio/ogg",
    "audio/webm",
    "audio/mp4",
    "audio/x-m4a",
    "audio/aac",
    "audio/flac",
)
# Served as text/plain, never as themselves (script and HTML would run in the site's origin).
NEVER_SERVED_AS = (
    "application/javascript",
    "application/ecmascript",
    "text/javascript",
    "text/ecmascript",
    "application/x-javascript",
    "text/html",
)
STORAGE_FIELDS = ("path", "thumbnail_path", "preview_path", "content")
# 5xx the server really sends for input a client controls (the spec documents them): operation,
# status, AppError id. Anything else 5xx is a server bug.
DOCUMENTED_5XX = frozenset(
    {
        ("UploadFile", 500, "api.file.upload_file.read_request.app_error"),
        ("UploadFile", 501, "api.file.upload_file.storage.app_error"),
        ("UploadLicenseFile", 500, "api.license.upgrade_needed.app_error"),
        ("UploadLicenseFile", 500, "api.unmarshal_error"),
        ("UploadLicenseFile", 500, "api.license.add_license.copy.app_error"),
    }
)
_REQUEST_ID = re.compile(r"^[a-z0-9]{26}$")
_DISPOSITION = re.compile(r"^(inline|attachment);filename=\"([^\"]*)\"; filename\*=UTF-8''(\S*)$")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # Go strconv.ParseBool
# gorilla's `{file_id:[A-Za-z0-9]+}` / `{post_id:[A-Za-z0-9]+}`: a path id outside it misses the
# operation's route (api4/api.go Init, docs/facts/http-layer.md).
_ROUTE_ID = re.compile(r"^[A-Za-z0-9]+$")
CATCH_ALL_ID = "api.context.404.app_error"
URL_TOO_LONG_ID = "basic_security_check.url.too_long_error"
# Handle404 before 7.5 set no Content-Type and Go sniffed its JSON as text/plain.
CATCH_ALL_TYPES = ("application/json", "text/plain; charset=utf-8")


def header(headers: Mapping[str, Any], name: str) -> str | None:
    """First value of a header (schemathesis' lower-cased, list-valued mapping or a plain one)."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            if isinstance(value, list | tuple):
                return str(value[0]) if value else ""
            return str(value)
    return None


# --- pure rules ------------------------------------------------------------------------------


def app_error_problems(status: int, content_type: str | None, body: bytes) -> list[str]:
    """An /api/v4 error must be an AppError: exact JSON content type, id, message, status_code."""
    problems = []
    if content_type != "application/json":
        problems.append(f"Content-Type is {content_type!r}, expected exactly 'application/json'")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [*problems, f"body is not JSON: {body[:80]!r}"]
    if not isinstance(data, dict):
        return [*problems, f"body is {type(data).__name__}, expected an AppError object"]
    for key in ("id", "message"):
        if not isinstance(data.get(key), str):
            problems.append(f"AppError {key!r} missing or not a string")
    if data.get("status_code") != status:
        problems.append(
            f"AppError status_code is {data.get('status_code')!r}, HTTP status {status}"
        )
    return problems


def common_header_problems(headers: Mapping[str, Any]) -> list[str]:
    """ServeHTTP sets X-Request-Id (a 26-char id) and X-Version-Id on every response."""
    problems = []
    request_id = header(headers, "X-Request-Id")
    if request_id is None:
        problems.append("X-Request-Id missing")
    elif not _REQUEST_ID.match(request_id):
        problems.append(f"X-Request-Id {request_id!r} is not a 26-character id")
    if not header(headers, "X-Version-Id"):
        problems.append("X-Version-Id missing or empty")
    return problems


def file_header_problems(headers: Mapping[str, Any], force_download: bool) -> list[str]:
    """A served file: nosniff, no script/HTML type, and the inline/attachment rule of §4."""
    problems = []
    if header(headers, "X-Content-Type-Options") != "nosniff":
        problems.append(
            f"X-Content-Type-Options is {header(headers, 'X-Content-Type-Options')!r}, "
            "expected 'nosniff'"
        )
    ctype = (header(headers, "Content-Type") or "").lower()
    if ctype.startswith(NEVER_SERVED_AS):
        problems.append(f"served as {ctype!r}; script and HTML types must be sent as text/plain")
    disposition = header(headers, "Content-Disposition")
    match = _DISPOSITION.match(disposition or "")
    if match is None:
        problems.append(
            f"Content-Disposition {disposition!r} is not "
            "'inline|attachment;filename=\"<name>\"; filename*=UTF-8''<name>'"
        )
        return problems
    kind = match.group(1)
    if match.group(2) != match.group(3):
        problems.append(f"filename {match.group(2)!r} and filename* {match.group(3)!r} differ")
    if ctype.startswith(MAYBE_INLINE_MEDIA) and not force_download:
        return problems
    expected = "inline" if ctype.startswith(INLINE_MEDIA) and not force_download else "attachment"
    if kind != expected:
        why = "download=true" if force_download else f"Content-Type {ctype!r}"
        problems.append(f"Content-Disposition is {kind}, expected {expected} for {why}")
    return problems


def storage_leaks(body: Any) -> list[str]:
    """FileInfo objects anywhere in a JSON body must not carry storage paths or content."""
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "id" in node and "name" in node and "mime_type" in node:
                found.extend(f"{where}.{k}" for k in STORAGE_FIELDS if k in node)
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(body, "$")
    return found


def server_error_problem(operation_id: str, status: int, body: bytes) -> str | None:
    """A 5xx is a failure unless the spec documents it for this input (DOCUMENTED_5XX)."""
    if status < 500:
        return None
    try:
        data = json.loads(body)
        error_id = data.get("id") if isinstance(data, dict) else None
    except (ValueError, UnicodeDecodeError):
        error_id = None
    if (operation_id, status, error_id) in DOCUMENTED_5XX:
        return None
    return f"{status} with AppError id {error_id!r}: the server failed on a client's input"


def documented_status(status: int, documented: Sequence[str]) -> bool:
    """`documented` are OpenAPI response keys: '200', '4XX', 'default'."""
    keys = {str(k).upper() for k in documented}
    return "DEFAULT" in keys or str(status) in keys or f"{str(status)[0]}XX" in keys


def misses_route(path_parameters: Mapping[str, Any] | None) -> bool:
    """True when a path id cannot match the route's `[A-Za-z0-9]+`: gorilla then hands the
    request to the /api/v4 catch-all, or off /api/ to the webapp (or gorilla's 404/405)."""
    return any(not _ROUTE_ID.match(str(v)) for v in (path_parameters or {}).values())


def route_miss_problems(
    api: bool, method: str, status: int, headers: Mapping[str, Any], body: bytes
) -> list[str]:
    """The answer of the rest of the router when the operation's route missed.

    Under /api/v4: the catch-all 404 `api.context.404.app_error` (web.Handle404 as a plain
    HandlerFunc: no X-Request-Id is demanded). Elsewhere: a GET reaches the webapp (200 text/html
    root.html) unless WebserverMode is "disabled" (gorilla's 404); any other method is gorilla's
    405. A path gorilla cleans (`.`/`..` ids) is its 301, wherever it is.
    """
    if status == 301:
        return [] if header(headers, "Location") else ["301 without Location"]
    if api:
        problems = []
        ctype = header(headers, "Content-Type")
        if ctype not in CATCH_ALL_TYPES:
            problems.append(f"catch-all 404 with Content-Type {ctype!r}")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        error_id = data.get("id") if isinstance(data, dict) else None
        if status != 404 or error_id != CATCH_ALL_ID:
            problems.append(
                f"a route miss must be the catch-all 404 {CATCH_ALL_ID}, got {status} {error_id!r}"
            )
        return problems
    allowed = (200, 404) if method.upper() == "GET" else (404, 405)
    if status not in allowed:
        return [f"a route miss off /api/ answers {sorted(allowed)}, got {status}"]
    ctype = (header(headers, "Content-Type") or "").lower()
    if status == 200 and not ctype.startswith("text/html"):
        return [f"the webapp answers text/html, got {ctype!r}"]
    return []


def url_too_long_answer(status: int, body: bytes, content_type: str | None) -> bool:
    """THE one place the fuzzer's long URLs are decided: it does not stay under
    ServiceSettings.MaximumURLLength, it accepts the server's 414
    basic_security_check.url.too_long_error (written by basicSecurityChecks before ServeHTTP
    sets any header; JSON on /api/, the web error page elsewhere) as the answer."""
    if status != 414:
        return False
    if (content_type or "").startswith("text/html"):
        return True
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and data.get("id") == URL_TOO_LONG_ID


def _route_missed(case: Any) -> bool:
    return misses_route(getattr(case, "path_parameters", None))


def _too_long(response: Any) -> bool:
    return url_too_long_answer(
        int(response.status_code),
        bytes(response.content or b""),
        header(response.headers, "Content-Type"),
    )


# --- schemathesis wrappers ---------------------------------------------------------------


def _operation_id(case: Any) -> str | None:
    definition = getattr(case.operation, "definition", None)
    raw = getattr(definition, "raw", None)
    if isinstance(raw, dict):
        op_id = raw.get("operationId")
        return str(op_id) if op_id else None
    return None


def _our_operation(case: Any) -> str | None:
    """The operationId when the case targets one of our operations with its own method.

    Coverage cases may send undocumented methods; those are answered by the router, not by a
    Mattermost handler (no AppError, no X-Request-Id), and schemathesis' own unsupported_method
    check covers them.
    """
    op_id = _operation_id(case)
    if op_id not in OPERATION_IDS:
        return None
    if str(case.method).upper() != str(case.operation.method).upper():
        return None
    return op_id


def _fail(req: str, problems: Sequence[str]) -> None:
    if problems:
        raise AssertionError(f"[{req}] " + "; ".join(problems))


@schemathesis.check
def mm_app_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """API errors are AppError JSON whose status_code is the HTTP status."""
    op_id = _our_operation(case)
    status = int(response.status_code)
    if op_id is None or not case.operation.path.startswith("/api/v4/") or status < 400:
        return None
    if status == 416:  # written by http.ServeContent as text/plain, not by Mattermost
        return None
    if _route_missed(case):
        problems = route_miss_problems(
            True, str(case.method), status, response.headers, bytes(response.content or b"")
        )
        _fail(REQ_ERROR_SHAPE, problems)
        return True
    ctype = header(response.headers, "Content-Type")
    _fail(REQ_ERROR_SHAPE, app_error_problems(status, ctype, bytes(response.content or b"")))
    return True


@schemathesis.check
def mm_common_headers(ctx: Any, response: Any, case: Any) -> bool | None:
    """X-Request-Id and X-Version-Id on every response of a Mattermost handler: not on the
    router's answers to a route miss, nor on a 414 written before ServeHTTP set them."""
    op_id = _our_operation(case)
    if op_id is None or _route_missed(case) or _too_long(response):
        return None
    _fail(REQ_HEADERS, common_header_problems(response.headers))
    return True


@schemathesis.check
def mm_no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, except the few the server documents for client-controlled input."""
    if _operation_id(case) not in OPERATION_IDS:
        return None
    problem = server_error_problem(
        str(_operation_id(case)), int(response.status_code), bytes(response.content or b"")
    )
    _fail(REQ_NO_5XX, [problem] if problem else [])
    return True


@schemathesis.check
def mm_file_response_headers(ctx: Any, response: Any, case: Any) -> bool | None:
    """File bodies: nosniff, no script/HTML type, Content-Disposition inline/attachment rule."""
    op_id = _our_operation(case)
    if op_id not in ("GetFile", "GetFilePublic", "HeadFilePublic") or _route_missed(case):
        return None  # a missed route is not a file response (the webapp's root.html, …)
    if response.status_code not in (200, 206):
        return None
    force = op_id == "GetFile" and str((case.query or {}).get("download", "")) in _TRUE
    _fail(REQ_FILE_HEADERS, file_header_problems(response.headers, force))
    return True


@schemathesis.check
def mm_no_storage_paths(ctx: Any, response: Any, case: Any) -> bool | None:
    """FileInfo never carries path, thumbnail_path, preview_path or content."""
    op_id = _our_operation(case)
    if op_id not in ("UploadFile", "GetFileInfo", "GetFileInfosForPost"):
        return None
    if not 200 <= response.status_code < 300:
        return None
    try:
        body = json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        return None  # the schema and content-type checks report a broken body
    leaks = storage_leaks(body)
    _fail(REQ_NO_PATHS, [f"FileInfo leaks {', '.join(leaks)}"] if leaks else [])
    return True


@schemathesis.check
def mm_documented_status(ctx: Any, response: Any, case: Any) -> bool | None:
    """The status code is one the spec documents for the operation."""
    op_id = _our_operation(case)
    if op_id is None:
        return None
    if _route_missed(case):
        api = case.operation.path.startswith("/api/")
        problems = route_miss_problems(
            api,
            str(case.method),
            int(response.status_code),
            response.headers,
            bytes(response.content or b""),
        )
        _fail(REQ_STATUS, problems)
        return True
    raw = case.operation.definition.raw
    documented = list((raw.get("responses") or {}).keys())
    if not documented_status(int(response.status_code), documented):
        _fail(
            REQ_STATUS,
            [f"status {response.status_code} is not documented (documented: {sorted(documented)})"],
        )
    return True


# The public route's ops, where a missed route is answered by the webapp with a 200: the built-in
# header and negative-data checks would take root.html for a file response (profiles.yaml tuning
# switches them off there and these run them for route hits only).
_PUBLIC_OPS = ("GetFilePublic", "HeadFilePublic")


@schemathesis.check
def mm_route_aware_headers(ctx: Any, response: Any, case: Any) -> bool | None:
    """response_headers_conformance on the public route, unless the route was missed."""
    if _operation_id(case) not in _PUBLIC_OPS or _route_missed(case):
        return None
    from schemathesis.specs.openapi.checks import response_headers_conformance

    return response_headers_conformance(ctx, response, case)


@schemathesis.check
def mm_route_aware_negative(ctx: Any, response: Any, case: Any) -> bool | None:
    """negative_data_rejection on the public route, unless the route was missed (a non-matching
    id reaches the webapp, which answers 200 by design; route_miss_problems judges that)."""
    if _operation_id(case) not in _PUBLIC_OPS or _route_missed(case):
        return None
    from schemathesis.specs.openapi.checks import negative_data_rejection

    return negative_data_rejection(ctx, response, case)


MM_CHECKS = (
    mm_app_error_shape,
    mm_common_headers,
    mm_no_server_error,
    mm_file_response_headers,
    mm_no_storage_paths,
    mm_documented_status,
    mm_route_aware_headers,
    mm_route_aware_negative,
)
