"""What the real server's router answers when no Mattermost handler runs.

Upstream builds one gorilla/mux tree (mux 1.8, no SkipClean, no StrictSlash): `app/server.go
NewServer` makes `RootRouter` and `Router = RootRouter.PathPrefix(subpath).Subrouter()`;
`api4/api.go Init` adds every API route and then `Router.Handle("/api/v4/{anything:.*}",
http.HandlerFunc(api.Handle404))`; `web.New` → `web/static.go InitStatic` then adds
`/{anything:.*}` with `Methods("GET")` unless `ServiceSettings.WebserverMode` is "disabled".
Established by running that tree (tests/oracle/routing.go, see docs/facts/http-layer.md):

- a path gorilla would clean (`//`, `/./`, `/../`) → 301 to the cleaned path, query kept, before
  any route is tried (`Router.ServeHTTP`);
- under /api/v4/ every miss (an id outside `[A-Za-z0-9]+`, a wrong method, HEAD on a GET route,
  a trailing slash, an unknown path) reaches the catch-all: `web.Handle404` run as a plain
  HandlerFunc, so none of ServeHTTP's headers, `detailed_error` set and kept, no `request_id`;
- elsewhere a GET reaches the webapp's static handler (a `web.Handler`, so ServeHTTP's headers):
  `root.html` 200 `text/html`, or for an /api/ path `Handle404`'s JSON;
- any other method elsewhere is gorilla's method-not-allowed: 405, empty body, no Allow header;
- with WebserverMode "disabled" nothing matches there: gorilla's `http.NotFound`.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import quote

from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from mmconform.reference.context import (
    State,
    mark_plain,
    url_too_long,
    url_too_long_response,
)
from mmconform.reference.errors import AppError, json_bytes

HANDLE404_DETAIL = (
    "There doesn't appear to be an api call for the url='{path}'.  "
    "Typo? are you missing a team_id or user_id as part of the url?"
)
# web/static.go root: the webapp shell; the real one is the built webapp's root.html.
ROOT_HTML = (
    b'<!doctype html><html lang="en"><head><meta charset="utf-8">'
    b"<title>Mattermost</title></head><body><noscript>To use Mattermost, please enable "
    b'JavaScript.</noscript><div id="root"></div></body></html>'
)
ROOT_CACHE_CONTROL = "no-cache, max-age=31556926, public"
# handlers.go ServeHTTP for IsStatic handlers, FrameAncestors "" and no subpath.
STATIC_CSP = "frame-ancestors 'self' ; script-src 'self' cdn.rudderlabs.com"


def clean_path(path: str) -> str:
    """gorilla/mux `cleanPath`: Go's `path.Clean`, keeping one trailing slash."""
    if not path:
        return "/"
    if not path.startswith("/"):
        path = "/" + path
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):  # POSIX keeps a leading '//', Go's path.Clean does not
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


class PathCleaning:
    """Outermost ASGI middleware: gorilla's 301 for unclean paths (`Router.ServeHTTP`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        cleaned = clean_path(path)
        if cleaned == path:
            await self.app(scope, receive, send)
            return
        location = quote(cleaned, safe="/$&+,:;=@-._~")
        query = scope.get("query_string", b"")
        if query:
            location += "?" + query.decode("latin-1")
        await send(
            {
                "type": "http.response.start",
                "status": 301,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def catch_all_404(request: Request, state: State) -> Response:
    """`web.Handle404` for an /api/ path, as the plain HandlerFunc of the /api/v4 catch-all."""
    mark_plain(request.scope)
    detail = HANDLE404_DETAIL.format(path=request.url.path)
    body: dict[str, object] = {
        "id": "api.context.404.app_error",
        "message": AppError("api.context.404.app_error", 404).message(),
        "detailed_error": detail,
        "status_code": 404,
    }
    # Before Handle404 set a Content-Type, Go sniffed the JSON as text/plain.
    ctype = "application/json" if state.has_rule("handle404-json") else "text/plain; charset=utf-8"
    return Response(json_bytes(body), 404, headers={"Content-Type": ctype})


def gorilla_405(request: Request) -> Response:
    """gorilla's `methodNotAllowedHandler`: 405, empty body, no Allow, no ServeHTTP headers."""
    mark_plain(request.scope)
    return Response(b"", 405)


def gorilla_404(request: Request) -> Response:
    """No route at all: gorilla's NotFoundHandler, i.e. `http.NotFound`."""
    mark_plain(request.scope)
    return Response(
        b"404 page not found\n",
        404,
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


def webapp(request: Request, state: State) -> Response:
    """The static GET catch-all (`web.NewStaticHandler(root)`, through ServeHTTP)."""
    if url_too_long(request, state):
        return url_too_long_response(request, state)
    request.scope["mm_static"] = True  # IsStatic: no Expires, no default application/json
    static = {"X-Frame-Options": "SAMEORIGIN", "Content-Security-Policy": STATIC_CSP}
    if request.url.path.startswith("/api/"):  # root(): IsAPICall → Handle404, inside ServeHTTP
        err = AppError(
            "api.context.404.app_error",
            404,
            detailed=HANDLE404_DETAIL.format(path=request.url.path),
        )
        body = err.to_body(str(request.scope.get("mm_request_id", "")), True)
        body.pop("request_id", None)
        return Response(
            json_bytes(body), 404, headers={**static, "Content-Type": "application/json"}
        )
    headers = {**static, "Cache-Control": ROOT_CACHE_CONTROL, "Content-Type": "text/html"}
    return Response(ROOT_HTML, 200, headers=headers)


def webserver_enabled(state: State) -> bool:
    return str(state.config.get("ServiceSettings", "WebserverMode")) != "disabled"


def route_miss(request: Request, state: State, method_mismatch: bool) -> Response:
    """The answer of the rest of the tree once no Mattermost route matched this request."""
    path = request.url.path
    if path.startswith("/api/v4/"):
        return catch_all_404(request, state)
    if request.method == "GET" and webserver_enabled(state):
        return webapp(request, state)
    if webserver_enabled(state) or method_mismatch:
        return gorilla_405(request)  # the static route (GET) or the route itself matched the path
    return gorilla_404(request)


async def not_found_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Starlette's router default: no route's path matched."""
    request = Request(scope, receive)
    state: State = request.app.state.mm
    await route_miss(request, state, method_mismatch=False)(scope, receive, send)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """Starlette raises 405 for a known path with another method (HEAD included, see
    context.endpoint); gorilla keeps looking and the catch-alls decide."""
    state: State = request.app.state.mm
    return route_miss(request, state, method_mismatch=True)


class IndexedRouter(Router):
    """Starlette's router, trying only the routes whose literal prefix the path starts with.

    Starlette tries every route, in order, for every request (~40 here, each a method call and
    a regex). A route's path up to its first `{` is literal, so a path not starting with it
    cannot match it: leaving those out changes no answer (first full match wins, the first
    partial match gives the 405, nothing matching goes to `default`, as in `Router.app`), and
    it is most of the router's cost per request (issue 15: GET file info at >= 0.7 of a bare
    Starlette endpoint). Anything but an http request, and `redirect_slashes`, go to Starlette.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._literals: list[tuple[str, BaseRoute]] | None = None

    def literals(self) -> list[tuple[str, BaseRoute]]:
        """(literal prefix, route) in route order; '' (always tried) for anything not a Route."""
        if self._literals is None:
            self._literals = [
                (r.path.split("{", 1)[0] if type(r) is Route else "", r) for r in self.routes
            ]
        return self._literals

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.redirect_slashes:
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        path = get_route_path(scope)
        partial: tuple[BaseRoute, Scope] | None = None
        for literal, route in self.literals():
            if not path.startswith(literal):
                continue
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            scope["route"] = partial[0]
            scope.update(partial[1])
            await partial[0].handle(scope, receive, send)
            return
        await self.default(scope, receive, send)
