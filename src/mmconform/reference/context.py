"""Per-request plumbing: the server state, session resolution, the handler wrapper and the
headers `web/handlers.go ServeHTTP` puts on every response.
"""

from __future__ import annotations

import base64
import json
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mmconform.reference.authz import Authz, Session
from mmconform.reference.config import Config
from mmconform.reference.deployment import link_prefix
from mmconform.reference.errors import (
    AppError,
    invalid_body_param,
    invalid_url_param,
    json_bytes,
    render_html_page,
    session_expired,
)
from mmconform.reference.ids import is_valid_id, new_id
from mmconform.reference.settings import Settings
from mmconform.reference.store import Store
from mmconform.reference.versions import check_rule, rules_for

BUILD_NUMBER = "0"
# Seeded faults (faults.yaml) under which an old version has every rule of versions.yaml.
_NEWEST_RULES = frozenset({"newest-rules-reported-as-9-5", "newest-rules-reported-as-7-2"})


def mark_plain(scope: Scope) -> None:
    """This answer does not come from `web.Handler.ServeHTTP` (gorilla's own 404/405/301, the
    /api/v4 catch-all, an answer written before ServeHTTP sets its headers), so CommonHeaders
    must not add X-Request-Id, X-Version-Id and the security headers to it."""
    scope["mm_plain"] = True


class MmIdConvertor(Convertor[str]):
    """Gorilla's `{file_id:[A-Za-z0-9]+}`: other characters do not match the route at all."""

    regex = "[A-Za-z0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("mmid", MmIdConvertor())


PARSEBOOL_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class State:
    """Everything a handler needs; one per app."""

    settings: Settings
    store: Store
    config: Config
    authz: Authz
    public_key_pem: bytes
    files_dir: Path
    tmp_dir: Path
    license: dict[str, Any] | None = None
    # utils.GetSubpathFromConfig at start (deployment.py); "/" when SiteURL has no path.
    subpath: str = "/"
    session_cache: dict[str, tuple[str, bool]] = field(default_factory=dict)
    # Only the seeded fault public-hash-any-file keeps these: every public-link hash handed out.
    issued_link_hashes: set[str] = field(default_factory=set)
    # Only the seeded fault file-info-cache-stale fills this: FileInfos once read, by id.
    file_info_cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    _signing_key: ec.EllipticCurvePrivateKey | None = None

    def version_header(self) -> str:
        licensed = "true" if self.license is not None else "false"
        return f"{self.settings.server_version}.{BUILD_NUMBER}.{self.config.digest()}.{licensed}"

    def has_rule(self, name: str) -> bool:
        """Does the emulated version have this rule of `versions.yaml` (the newer behaviour)?"""
        rules = rules_for(self.settings.server_version)
        if name in rules:
            return True
        check_rule(name)
        faults = self.settings.faults
        return bool(faults) and bool(_NEWEST_RULES & faults)

    def fault(self, name: str) -> bool:
        """Seam for the fault-injection catalogue: true only for names switched on at start."""
        return name in self.settings.faults

    def developer(self) -> bool:
        return bool(self.config.get("ServiceSettings", "EnableDeveloper"))

    def error_signature(self, err: AppError) -> str:
        """The `s=` of RenderWebError: an ECDSA P-256 signature (the server's asymmetric signing
        key, one per process here) of SHA-256("/error?" + query), base64 URL encoding."""
        if self._signing_key is None:
            self._signing_key = ec.generate_private_key(ec.SECP256R1())
        query = "/error?" + urlencode({"message": err.message()})
        raw = self._signing_key.sign(query.encode(), ec.ECDSA(hashes.SHA256()))
        return base64.urlsafe_b64encode(raw).decode("ascii")


class Ctx:
    """What a handler sees: the request, the state and the caller (if any)."""

    def __init__(self, request: Request, state: State, session: Session | None) -> None:
        self.request = request
        self.state = state
        self._session = session

    @property
    def session(self) -> Session:
        if self._session is None:  # pragma: no cover - wrapper guarantees it on session routes
            raise session_expired("UserRequired")
        return self._session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def path_id(self, name: str) -> str:
        """`RequireXxxId`: a path id that is not a valid 26-char id → 400 invalid_url_param."""
        value = str(self.request.path_params.get(name, ""))
        if not is_valid_id(value):
            raise invalid_url_param(name)
        return value

    def query_flag(self, name: str) -> bool:
        """`strconv.ParseBool` as web/params.go uses it: only these spellings are true, anything
        else (a parse error included) is false."""
        return self.request.query_params.get(name, "") in PARSEBOOL_TRUE

    async def json_body(self) -> Any:
        raw = await self.request.body()
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return None

    async def json_object(self, name: str) -> dict[str, Any]:
        body = await self.json_body()
        if not isinstance(body, dict):
            raise invalid_body_param(name)
        return body

    def site_url(self) -> str:
        """`GetProtocol(r) + "://" + r.Host + subpath`: SiteURL gives the path only."""
        proto = get_protocol(self.request)
        host = self.request.headers.get("host", self.request.url.netloc)
        subpath = "" if self.state.fault("link-drops-subpath") else link_prefix(self.state.subpath)
        return f"{proto}://{host}{subpath}"


def get_protocol(request: Request) -> str:
    """`app.GetProtocol`: "https" only for `X-Forwarded-Proto: https` exactly or a TLS
    connection; any other value (HTTPS, javascript, …) gives "http"."""
    forwarded = request.headers.get("x-forwarded-proto")
    state = _state_of(request.scope)
    if forwarded and state is not None and state.fault("link-scheme-echoes-forwarded-proto"):
        return forwarded
    if forwarded == "https" or request.url.scheme == "https":
        return "https"
    return "http"


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Exactly `application/json`: real clients compare the header with `==`."""
    return Response(json_bytes(value), status, headers=headers, media_type="application/json")


def status_ok() -> Response:
    return json_response({"status": "OK"})


def wants_json(request: Request) -> bool:
    """`handleContextError`: JSON for `IsAPICall` paths or any request with `X-Mobile-App`."""
    return request.url.path.startswith("/api/") or bool(request.headers.get("x-mobile-app"))


def web_error_page(err: AppError, state: State) -> Response:
    """`utils.RenderWebAppError`: exactly `text/html`, no charset."""
    page = render_html_page(err, state.error_signature(err))
    return Response(page, err.status, headers={"Content-Type": "text/html"})


def error_response(err: AppError, request: Request, state: State) -> Response:
    request_id = str(request.scope.get("mm_request_id", ""))
    headers = {}
    if err.clear_cookie:
        headers["Set-Cookie"] = "MMAUTHTOKEN=; Path=/; Max-Age=0; HttpOnly"
    if state.settings.faults:
        return _faulty_error(err, request, state, headers)
    first = b""
    if err.prerendered and not request.url.path.startswith("/api/"):
        first = render_html_page(err, state.error_signature(err))
    if wants_json(request):
        body = err.to_body(request_id, state.developer())
        if first:  # the handler's page went out first, with its status and text/html
            return Response(
                first + json_bytes(body), err.status, {"Content-Type": "text/html", **headers}
            )
        return json_response(body, err.status, headers)
    page = render_html_page(err, state.error_signature(err))
    return Response(first + page, err.status, headers={"Content-Type": "text/html", **headers})


def _faulty_error(
    err: AppError, request: Request, state: State, headers: dict[str, str]
) -> Response:
    """`error_response` with the error-contract faults that are switched on."""
    request_id = str(request.scope.get("mm_request_id", ""))
    if err.error_id == "api.context.permissions.app_error":
        if state.fault("permission-error-wrong-id"):
            err = AppError("api.context.permission_denied.app_error", 403, detailed=err.detailed)
        if state.fault("permission-error-as-404") and request.url.path.startswith("/api/v4/files/"):
            err = AppError("app.file_info.get.app_error", 404, detailed=err.detailed)
    if not wants_json(request):
        page = render_html_page(err, state.error_signature(err))
        return Response(page, err.status, headers={"Content-Type": "text/html", **headers})
    # detailed-error-leaked: handleContextError without WipeDetailed (details in production)
    # permission-detail-leaked: only permission refusals keep theirs (userId=…, permission=…).
    leak = state.fault("detailed-error-leaked") or (
        state.fault("permission-detail-leaked")
        and err.error_id == "api.context.permissions.app_error"
    )
    body = err.to_body(request_id, state.developer() or leak)
    if state.fault("error-body-not-apperror"):
        body = {"error": err.message()}
    if state.fault("error-status-code-missing"):
        body.pop("status_code", None)
    media = "application/json"
    if state.fault("error-json-charset"):
        media = "application/json; charset=utf-8"
    return Response(json_bytes(body), err.status, headers=headers, media_type=media)


def _token_from(request: Request) -> tuple[str, str]:
    """(token, where) in upstream order: cookie, Authorization Bearer/Token, query string."""
    cookie = request.cookies.get("MMAUTHTOKEN")
    if cookie:
        return cookie, "cookie"
    auth = request.headers.get("authorization", "")
    if len(auth) > 6 and auth[:6].upper() == "BEARER":
        return auth[7:], "header"
    if len(auth) > 5 and auth[:5].lower() == "token":
        return auth[6:], "header"
    query = request.query_params.get("access_token", "")
    return query, "query" if query else ""


def csrf_passes(state: State, request: Request, token: str) -> bool:
    """`checkCSRFToken`: cookie-authenticated non-GET requests need `X-CSRF-Token` equal to the
    session's CSRF value (the `MMCSRF` cookie), or `X-Requested-With: XMLHttpRequest` while
    `ExperimentalStrictCSRFEnforcement` is off (its default, the only mode modelled here).
    """
    if state.fault("csrf-not-checked"):
        return True
    if request.method == "GET" and not state.fault("csrf-checked-on-get"):
        return True
    xhr = request.headers.get("x-requested-with") == "XMLHttpRequest"
    if xhr and not state.fault("csrf-xhr-refused"):
        return True
    row = state.store.one("SELECT id FROM sessions WHERE token = ?", token)
    given = request.headers.get("x-csrf-token", "")
    return row is not None and bool(given) and given == row["id"]


def resolve_session(state: State, token: str) -> Session | None:
    if not token:
        return None
    cached = state.session_cache.get(token)
    if cached is None:
        row = state.store.one("SELECT user_id FROM sessions WHERE token = ?", token)
        is_pat = row is None
        if row is None:
            row = _access_token_user(state, token)
        if row is None:
            return None
        cached = (str(row["user_id"]), is_pat)
        state.session_cache[token] = cached
    user_id, is_pat = cached
    if is_pat and not state.config.get("ServiceSettings", "EnableUserAccessTokens"):
        return None  # SessionRequired: a PAT session while EnableUserAccessTokens=false
    user = state.store.one("SELECT * FROM users WHERE id = ?", user_id)
    # Upstream's GetSession never looks at the user: a deactivated user's tokens stop working
    # because UpdateActive revokes the sessions (cache included). The seeded faults keep them.
    kept = state.fault("auth-deactivated-user-accepted") or (
        token in state.session_cache and state.fault("session-cache-survives-deactivation")
    )
    if user is None or (user["delete_at"] and not kept):
        state.session_cache.pop(token, None)
        return None
    return Session(token, user)


def _any_admin(state: State, token: str) -> Session | None:
    """Fault `auth-bad-token-...`: an unknown token falls back to the first system admin."""
    row = state.store.one(
        "SELECT * FROM users WHERE roles LIKE '%system_admin%' ORDER BY create_at LIMIT 1"
    )
    return None if row is None else Session(token, row)


def _access_token_user(state: State, token: str) -> dict[str, Any] | None:
    """`createSessionForUserAccessToken`'s lookup; the seeded fault pat-never-accepted finds
    no token ever (a server whose PAT sessions are broken)."""
    if not state.config.get("ServiceSettings", "EnableUserAccessTokens"):
        return None
    if state.fault("pat-never-accepted"):
        return None
    return state.store.one(
        "SELECT user_id FROM access_tokens WHERE token = ? AND is_active = 1", token
    )


Handler = Callable[[Ctx], Awaitable[Response]]


def endpoint(
    handler: Handler,
    *,
    session: bool = True,
    head: bool | str = False,
    head_fault: str = "",
    no_token_fault: str = "",
    bad_token_fault: str = "",
    trust_requester: bool = False,
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler like `api.APISessionRequired` / `api.APIHandler`.

    Starlette answers HEAD on every GET route; gorilla's `Methods("GET")` does not, so HEAD is a
    wrong method unless the upstream route lists it (`head=True`): it is handed to the app's
    wrong-method handler like any other (404 under /api/v4, see app.py). A rule name of
    `versions.yaml` for `head` routes HEAD only on versions that have that rule; `head_fault`
    names the seeded fault that routes HEAD here anyway (a fork's `Methods(GET, HEAD)`).
    `trust_requester` is upstream's `TrustRequester` (`APISessionRequiredTrustRequester`):
    `checkCSRFToken` skips such routes (a cookie HEAD on GetFile needs no CSRF token).
    `no_token_fault` / `bad_token_fault` name the seeded faults that break this one route's
    session check (see faults.yaml).
    """

    async def run(request: Request) -> Response:
        state: State = request.app.state.mm
        if request.method == "HEAD" and not (
            head is True
            or (isinstance(head, str) and state.has_rule(head))
            or (head_fault and state.fault(head_fault))
        ):
            raise HTTPException(405, headers={"Allow": "GET"})
        if url_too_long(request, state):
            return url_too_long_response(request, state)
        try:
            token, where = _token_from(request)
            caller = resolve_session(state, token)
            if token and caller is None and bad_token_fault and state.fault(bad_token_fault):
                caller = _any_admin(state, token)
            if not token and no_token_fault and state.fault(no_token_fault):
                return await handler(Ctx(request, state, None))
            if token and caller is None and session:
                err = session_expired("token=<redacted>")
                err.clear_cookie = True  # c.RemoveSessionCookie: only for a presented bad token
                raise err
            if (
                caller is not None
                and where == "cookie"
                and not (trust_requester and not state.fault("csrf-checked-on-get"))
                and not csrf_passes(state, request, token)
            ):
                raise session_expired("Appears to be a CSRF attempt")
            if session and caller is None:
                raise session_expired("UserRequired")
            if where == "query" and caller is not None and not state.fault("query-token-accepted"):
                raise AppError("api.context.token_provided.app_error", 401)
            return await handler(Ctx(request, state, caller))
        except AppError as err:
            return error_response(err, request, state)
        except ClientDisconnect:
            # Nobody is left to read an answer (Go's handler would just see a read error).
            return Response(status_code=400)
        except Exception as exc:  # a server bug: answer like Go's recovery (500 AppError), log it
            if not str(exc).startswith("fault "):  # seeded faults crash on purpose, quietly
                traceback.print_exc()
            return error_response(AppError("api.context.unknown.app_error", 500), request, state)

    return run


def request_uri_length(request: Request) -> int:
    """`len(r.RequestURI)`: the request target as sent, path and query, still percent-encoded."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return len(raw_path) + (len(query) + 1 if query else 0)


def url_too_long(request: Request, state: State) -> bool:
    """`basicSecurityChecks`, the first step of `web.Handler.ServeHTTP` (newer servers only)."""
    if not state.has_rule("basic-security-checks"):
        return False
    if state.fault("url-length-unchecked"):
        return False
    limit = int(state.config.get("ServiceSettings", "MaximumURLLength"))
    return request_uri_length(request) > limit


def url_too_long_response(request: Request, state: State) -> Response:
    """414 through `handleContextError` before ServeHTTP set any header: no X-Request-Id or
    X-Version-Id, but the body carries the request id; JSON on API paths (or X-Mobile-App),
    the web error page elsewhere."""
    err = AppError("basic_security_check.url.too_long_error", 414)
    mark_plain(request.scope)
    return error_response(err, request, state)


class CommonHeaders:
    """Pure ASGI middleware: the headers every response of the real server carries."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id()
        scope["mm_request_id"] = request_id
        is_get = scope["method"] == "GET"  # handlers.go: `if r.Method == "GET"`
        app_state = _state_of(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and not scope.get("mm_plain"):
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-request-id", request_id.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"permissions-policy", b""),
                ]
                if app_state is not None:
                    extra.append((b"x-version-id", app_state.version_header().encode()))
                if is_get and not scope.get("mm_static"):
                    extra.append((b"expires", b"0"))
                headers.extend(h for h in extra if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _state_of(scope: Scope) -> State | None:
    app = scope.get("app")
    return getattr(getattr(app, "state", None), "mm", None)
