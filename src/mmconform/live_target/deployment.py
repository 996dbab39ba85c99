"""Checks of the deployment itself, as opposed to one endpoint: the SiteURL subpath.

Upstream app/server.go `NewServer`: with a SiteURL path, every route lives under
`RootRouter.PathPrefix(subpath)`, and the root router's `NotFoundHandler` sends anything outside
it back in: `r.URL.Path = path.Join(subpath, r.URL.Path)`, `http.Redirect(w, r, r.URL.String(),
http.StatusFound)`. So a client that forgot the subpath is redirected, not told 404.
"""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from mmconform.live_target.client import API, curl_line
from mmconform.live_target.gate import NotApplicable
from mmconform.live_target.verdict import ConformanceFailure
from mmconform.live_target.world import World

REQ_SUBPATH = "DEPLOY-SUBPATH-001"
PROBE = API + "/system/ping"


def check_subpath_redirect(world: World) -> None:
    """GET <origin>/api/v4/system/ping without the subpath: 302 to <subpath>/api/v4/system/ping."""
    target = world.target
    parts = urlsplit(target.base_url)
    subpath = parts.path.rstrip("/")
    if not subpath:
        raise NotApplicable("the target is not under a SiteURL subpath")
    url = f"{parts.scheme}://{parts.netloc}{PROBE}"
    response = target.request("GET", url)
    location = response.headers.get("location", "")
    want = posixpath.join(subpath, PROBE.lstrip("/"))
    # A proxy may make the Location absolute; its path is what the server decided.
    if response.status_code != 302 or urlsplit(location).path != want:
        kept = target.keep_exchange(response)  # the exchange, for after the cleanup
        raise ConformanceFailure(
            target.redact(
                f"[{REQ_SUBPATH}] outside the subpath {subpath}: GET {url} answered "
                f"{response.status_code} Location {location!r}, expected 302 to {want}\n"
                f"Reproduce with:\n  {curl_line('GET', url, None)}" + (f"\n{kept}" if kept else "")
            )
        )
