"""The AppError model and how it is rendered.

Upstream `model.AppError` serialises `id`, `message`, `detailed_error`, then `request_id`,
`status_code` and `is_oauth` with `omitempty`; `web/handlers.go` blanks `detailed_error` unless
`ServiceSettings.EnableDeveloper`. API paths get JSON; other paths (the public file route) get an
HTML page with the same status (`utils.RenderWebAppError`, the `IsApiCall` "/api/" prefix check).
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any
from urllib.parse import urlencode

# English texts from upstream i18n/en.json for the ids this server emits (messages.json); an
# unknown id falls back to the id itself, which keeps the body well-formed without inventing text.
MESSAGES: dict[str, str] = json.loads(
    resources.files("mmconform.reference").joinpath("messages.json").read_text("utf-8")
)


class AppError(Exception):
    """An upstream-shaped error; handlers raise it and the dispatcher renders it."""

    def __init__(
        self,
        error_id: str,
        status: int,
        *,
        detailed: str = "",
        params: dict[str, Any] | None = None,
        where: str = "",
    ) -> None:
        super().__init__(error_id)
        self.error_id = error_id
        self.status = status
        self.detailed = detailed
        self.params = params or {}
        self.where = where
        # `c.RemoveSessionCookie` ran (a presented token was invalid on a RequireSession route).
        self.clear_cookie = False
        # The handler already rendered this error as a web page before returning it, as
        # `getPublicFile` does for its two hash errors; `handleContextError` then renders again.
        self.prerendered = False

    def message(self) -> str:
        template = MESSAGES.get(self.error_id, self.error_id)
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return template

    def to_body(self, request_id: str, developer: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.error_id,
            "message": self.message(),
            "detailed_error": self.detailed if developer else "",
        }
        if request_id:
            body["request_id"] = request_id
        if self.status:
            body["status_code"] = self.status
        return body


def permission_error(user_id: str, *permissions: str) -> AppError:
    """`model.MakePermissionError`: always 403; the detail lists each permission id followed by
    a comma (`permission=a,b,`), which only EnableDeveloper lets a client see."""
    listed = "".join(f"{p}," for p in permissions)
    return AppError(
        "api.context.permissions.app_error",
        403,
        detailed=f"userId={user_id}, permission={listed}",
    )


def invalid_url_param(name: str) -> AppError:
    return AppError("api.context.invalid_url_param.app_error", 400, params={"Name": name})


def invalid_body_param(name: str) -> AppError:
    return AppError("api.context.invalid_body_param.app_error", 400, params={"Name": name})


def session_expired(detail: str = "") -> AppError:
    return AppError("api.context.session_expired.app_error", 401, detailed=detail)


def render_html_page(err: AppError, signature: str = "") -> bytes:
    """`utils.RenderWebAppError` → `RenderWebError` (utils/api.go): a page whose onload sends the
    browser to `/error?message=…&s=<signature>`, the signature being the server's asymmetric
    signature of that path and query (base64 URL encoding, padded). Served as `text/html`."""
    destination = "/error?" + urlencode({"message": err.message()}) + "&s=" + signature
    page = (
        "<!DOCTYPE html><html><head></head>\n"
        f"<body onload=\"window.location = '{html.escape(_js_escape(destination))}'\">\n"
        f'<noscript><meta http-equiv="refresh" content="0; url={html.escape(destination)}">'
        "</noscript>\n"
        "<!-- web error message -->\n"
        f'<a href="{html.escape(destination)}" style="color: #c0c0c0;">...</a>\n'
        "</body></html>\n"
    )
    return page.encode("utf-8")


def _js_escape(text: str) -> str:
    """Enough of `template.JSEscapeString` for a URL: quotes, backslashes, angle brackets, &, =."""
    out = []
    for ch in text:
        if ch in "\\'\"<>&=":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


# One encoder for every body: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def json_bytes(value: Any) -> bytes:
    """Go's encoder output: compact, non-ASCII kept, no HTML escaping worries for our ids."""
    return _ENCODER.encode(value).encode("utf-8")
