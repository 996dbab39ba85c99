"""How the reference server is deployed: the SiteURL subpath and the rate limiter around the app.

Subpath (upstream app/server.go `NewServer`): `subpath := utils.GetSubpathFromConfig(cfg)` (the
path of `ServiceSettings.SiteURL`, `path.Clean`ed, "/" when there is none) and
`s.Router = s.RootRouter.PathPrefix(subpath).Subrouter()`: every web, api4 and public-file route
lives under the subpath. A request outside it meets the root router's `NotFoundHandler`, which
redirects it into the subpath: `r.URL.Path = path.Join(subpath, r.URL.Path)` and
`http.Redirect(w, r, r.URL.String(), 302)`. Links: `web/handlers.go ServeHTTP` sets the site URL
header to `GetProtocol(r) + "://" + r.Host + subpath` (trailing "/" trimmed), so a public link
takes its scheme and host from the request and only its path from SiteURL.

Here the subpath is stripped from `scope["path"]` before the app sees it, so the app's routes and
its "/api/" checks (upstream's `IsAPICall` joins the subpath itself) stay as they are.
"""

from __future__ import annotations

import html
import posixpath
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from mmconform.reference.ratelimit import Quota, RateLimitMiddleware


def subpath_of(site_url: str | None) -> str:
    """`utils.GetSubpathFromConfig`: "/" for no SiteURL or no path, else the cleaned path."""
    if not site_url:
        return "/"
    path = urlsplit(site_url).path
    if not path:
        return "/"
    return posixpath.normpath(path) if path != "/" else "/"


def link_prefix(subpath: str) -> str:
    """What the site URL header appends to `protocol://host` ("/" adds nothing: TrimRight)."""
    return "" if subpath == "/" else subpath.rstrip("/")


class SubpathMount:
    """The root router with `PathPrefix(subpath)`: strip the prefix, or redirect into it."""

    def __init__(self, app: ASGIApp, subpath: str, *, no_redirect: bool = False) -> None:
        self.app = app
        self.subpath = subpath.rstrip("/")
        self.no_redirect = no_redirect  # seeded fault subpath-root-not-redirected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if path == self.subpath or path.startswith(self.subpath + "/"):
            inner = path[len(self.subpath) :] or "/"
            raw = scope.get("raw_path")
            new_raw = raw[len(self.subpath) :] or b"/" if isinstance(raw, bytes) else raw
            await self.app({**scope, "path": inner, "raw_path": new_raw}, receive, send)
            return
        if self.no_redirect:
            await _not_found(send)
            return
        await _redirect(scope, send, posixpath.join(self.subpath, path.lstrip("/")))


async def _not_found(send: Send) -> None:
    """Go's `http.NotFound`, what a root router without the redirect would answer."""
    body = b"404 page not found\n"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"x-content-type-options", b"nosniff"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _redirect(scope: Scope, send: Send, path: str) -> None:
    """Go's `http.Redirect(w, r, url, 302)`: Location, and for GET/HEAD a tiny HTML body."""
    # path.Join cleans, and drops a trailing slash the request had.
    location = quote(posixpath.normpath(path), safe="/:@!$&'()*+,;=-._~%")
    query = bytes(scope.get("query_string", b""))
    if query:
        location += "?" + query.decode("latin-1")
    headers = [(b"location", location.encode("latin-1"))]
    body = b""
    if scope.get("method") in ("GET", "HEAD"):
        body = f'<a href="{html.escape(location)}">Found</a>.\n\n'.encode()
        headers.append((b"content-type", b"text/html; charset=utf-8"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def wrap(
    app: ASGIApp,
    subpath: str,
    rate_limit: dict[str, Any] | None,
    trusted: Any,
    faults: frozenset[str] = frozenset(),
) -> ASGIApp:
    """The served ASGI app: rate limiter (outermost, as in `Start`) around the subpath mount."""
    no_redirect = "subpath-root-not-redirected" in faults
    served = app if subpath == "/" else SubpathMount(app, subpath, no_redirect=no_redirect)
    if rate_limit and rate_limit.get("Enable"):
        trusted_list = [str(h) for h in trusted] if isinstance(trusted, list) else []
        served = RateLimitMiddleware(served, Quota.from_config(rate_limit, trusted_list))
    return served
