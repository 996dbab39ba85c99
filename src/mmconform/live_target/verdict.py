"""Judging one answer: status, error id, AppError shape, and for successes the body.

A failure is a `ConformanceFailure` whose message names the actor, the request, expected versus
actual, and a curl line with the token replaced by a shell variable naming the actor.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from mmconform.live_target.client import Actor, curl_line, error_id_of
from mmconform.live_target.ranges import RANGES, range_problems
from mmconform.live_target.world import StoredFile
from mmconform.matrix import Row

if TYPE_CHECKING:
    from mmconform.live_target.rows import Request, RowRunner


_NAMED = re.compile(r"\[[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-[0-9]+\]")
# The requirements the body checks below name, per operation, beyond a row's own IDs (and
# ERR-SHAPE-001, which Row.checked_requirements carries): a row can charge them, so selecting
# a requirement (`mmconform run --requirement`, the selftest's per-fault runs) must select
# every row of these operations too. tests/suite keeps this table equal to the messages.
# HTTP-ERROR-001 (no detail in production mode) is judged on every /api/v4 refusal, but only
# while EnableDeveloper is off, so it is charged, not carried by the rows' markers.
_DETAIL = "HTTP-ERROR-001"
NAMED_BY_OPERATION: dict[str, tuple[str, ...]] = {
    "GetFile": ("FILES-GET-001", "FILES-GET-002", "FILES-GET-RANGE-001", _DETAIL),
    "GetFileInfo": ("FILES-INFO-001", _DETAIL),
    "GetFileLink": ("FILES-LINK-004", "DEPLOY-LINK-001", _DETAIL),
    "GetFilePublic": ("FILES-PUBLIC-001",),
    "GetFileInfosForPost": ("POSTS-FILES-001", _DETAIL),
    "UploadFile": (
        "FILES-UPLOAD-PARSE-003",
        "FILES-UPLOAD-001",
        "FILES-UPLOAD-010",
        "FILES-UPLOAD-CREATOR-001",
        "FILES-UPLOAD-BOOKMARK-001",
        _DETAIL,
    ),
    "UploadLicenseFile": ("LICENSE-UPLOAD-005", _DETAIL),
    "RemoveLicenseFile": ("LICENSE-REMOVE-002", _DETAIL),
}


class ConformanceFailure(AssertionError):
    """The target answered differently from the requirement."""


class Verdict:
    def __init__(
        self,
        runner: RowRunner,
        row: Row,
        request: Request,
        actor: Actor,
        response: httpx.Response,
    ) -> None:
        self.runner = runner
        self.row = row
        self.request = request
        self.actor = actor
        self.response = response

    def fail(self, what: str) -> None:
        r = self.response
        target = self.runner.world.target
        url = str(r.request.url) if r.request is not None else target.url(self.request.path)
        got_id = error_id_of(r)
        expected = f"{self.row.expect} {self.row.error_id or ''}".rstrip()
        # A check that names the requirement it enforces ("… [ERR-SHAPE-001]") is charged to
        # that one alone; the row's own IDs are named only for the row's own checks (status,
        # error id), so a broken error shape does not also fail the row's authorisation rule.
        owner = "" if _NAMED.search(what) else f" [{', '.join(self.row.requirements)}]"
        lines = [
            f"{self.row.id}{owner}: {what}",
            f"  actor:    {self.actor.name}",
            f"  request:  {self.request.method} {url}",
            f"  expected: {expected}",
            f"  actual:   {r.status_code} {got_id or '(no error id)'} "
            f"{r.headers.get('content-type', '')}".rstrip(),
            "Reproduce with:",
            "  " + curl_line(self.request.method, url, self.actor, self.request.curl_extra),
        ]
        kept = target.keep_exchange(r)
        if kept:
            lines.append(kept)
        raise ConformanceFailure(target.redact("\n".join(lines)))

    def check(self) -> None:
        r, row = self.response, self.row
        if r.status_code != row.expect:
            self.fail("unexpected status")
        # The body's shape before its id: an answer that is no AppError at all breaks the error
        # contract (ERR-SHAPE-001), not the row's rule, whose status was right; an AppError with
        # another id breaks the row's rule.
        if self.request.method == "HEAD" and self.request.api:
            # A HEAD answer has no body (net/http eats it, the client reads none): no error id,
            # AppError shape or content to judge, the status alone tells the rule. Content-Length
            # is not judged either: a proxy in front may drop it on HEAD (the suite's own TLS
            # proxy in tests/suite/test_suite_deployments.py does), and HTTP lets it.
            return
        if r.status_code >= 400 and self.request.api:
            self.check_app_error()
        if row.error_id and error_id_of(r) != row.error_id:
            self.fail("unexpected error id")
        if r.status_code < 300:
            self.check_success()

    def check_app_error(self) -> None:
        r = self.response
        if r.headers.get("content-type") != "application/json":
            self.fail("error without Content-Type exactly application/json [ERR-SHAPE-001]")
        try:
            body = r.json()
        except ValueError:
            body = None
        ok = (
            isinstance(body, dict)
            and isinstance(body.get("id"), str)
            and isinstance(body.get("message"), str)
            and body.get("status_code") == r.status_code
        )
        if not ok:
            self.fail("error body is not an AppError (id, message, status_code) [ERR-SHAPE-001]")
        # Every refusal a handler answers goes through handleContextError, which wipes the
        # detail unless EnableDeveloper (the /api/v4 catch-all is no row's route).
        detail = body.get("detailed_error") if isinstance(body, dict) else None
        if detail and self.runner.gate.developer_mode() is False:
            self.fail(
                "detailed_error is not empty while ServiceSettings.EnableDeveloper is off "
                f"[{_DETAIL}]"
            )

    def json(self) -> Any:
        try:
            return self.response.json()
        except ValueError:
            self.fail("success body is not JSON")
        return None

    def check_success(self) -> None:
        op, stored = self.row.operation, self.request.file
        r = self.response
        if op == "GetFile" and stored is not None and self.row.variant in RANGES:
            problem = range_problems(self.row.variant, r.headers, r.content, stored.content)
            if problem:
                self.fail(f"{problem} [FILES-GET-RANGE-001]")
        elif op == "GetFile" and stored is not None:
            if r.content != stored.content:
                self.fail("body differs from the uploaded bytes [FILES-GET-001]")
            disposition = r.headers.get("content-disposition", "")
            if self.row.variant == "download" and not disposition.startswith("attachment"):
                self.fail(
                    f"download=true but Content-Disposition is {disposition!r} [FILES-GET-002]"
                )
        elif op == "GetFileInfo" and stored is not None:
            self.check_file_info(self.json(), stored)
        elif op == "GetFileLink" and stored is not None:
            link = str((self.json() or {}).get("link", ""))
            if f"/files/{stored.id}/public?h=" not in link:
                self.fail("link is not .../files/{file_id}/public?h=... [FILES-LINK-004]")
            self.check_link_site(link, stored.id)
        elif op == "GetFilePublic" and stored is not None:
            expected = b"" if self.request.method == "HEAD" else stored.content
            if r.content != expected:
                self.fail("public file body differs from the uploaded bytes [FILES-PUBLIC-001]")
        elif op == "GetFileInfosForPost" and self.request.post_files is not None:
            self.check_post_infos()
        elif op == "UploadFile":
            self.check_upload()
        elif op == "UploadLicenseFile":
            body = self.json()
            if not isinstance(body, dict) or "id" not in body or "features" not in body:
                self.fail("success body is not a License (id, features) [LICENSE-UPLOAD-005]")
        elif op == "RemoveLicenseFile" and self.json() != {"status": "OK"}:
            self.fail('success body is not {"status":"OK"} [LICENSE-REMOVE-002]')

    def check_link_site(self, link: str, file_id: str) -> None:
        """The link is under the site the server computes: `GetProtocol(r)` ("http", or
        "https" behind a proxy sending X-Forwarded-Proto: https), the request's Host, then the
        SiteURL subpath, which is the path the target is reached at (web/handlers.go ServeHTTP
        SetSiteURLHeader). The host is not compared: a proxy may rewrite it. The hash is a
        capability, so only the link's path is ever shown."""
        parts = urlsplit(link)
        subpath = urlsplit(self.runner.world.target.base_url).path.rstrip("/")
        want = f"{subpath}/files/{file_id}/public"
        if parts.scheme not in ("http", "https") or parts.path != want:
            self.fail(
                f"link {parts.scheme}://…{parts.path} is not under the site URL: expected "
                f"http(s)://<host>{want}?h=… [DEPLOY-LINK-001]"
            )

    def check_file_info(self, info: Any, stored: StoredFile) -> None:
        if not isinstance(info, dict):
            self.fail("FileInfo is not a JSON object [FILES-INFO-001]")
            return
        expected = {
            "id": stored.id,
            "name": stored.name,
            "size": len(stored.content),
            "channel_id": stored.channel_id,
            "user_id": stored.uploader_id,
        }
        wrong = {k: info.get(k) for k, v in expected.items() if info.get(k) != v}
        if (info.get("post_id") or None) != stored.post_id:
            wrong["post_id"] = info.get("post_id")
        leaked = [k for k in ("path", "thumbnail_path", "preview_path") if k in info]
        if wrong or leaked:
            self.fail(f"FileInfo mismatch {wrong} leaked {leaked} [FILES-INFO-001]")

    def check_post_infos(self) -> None:
        body = self.json()
        want = self.request.post_files or []
        if not isinstance(body, list):
            self.fail("body is not a JSON array of FileInfo [POSTS-FILES-001]")
            return
        got = [str(i.get("id")) for i in body if isinstance(i, dict)]
        if sorted(got) != sorted(want):
            self.fail(f"file infos {got} differ from the post's files {want} [POSTS-FILES-001]")

    def check_upload(self) -> None:
        body = self.json()
        if self.request.no_files:
            if body != {"file_infos": [], "client_ids": []}:
                self.fail(
                    'a body without file parts must answer {"file_infos":[],"client_ids":[]}, '
                    f"got {body} [FILES-UPLOAD-PARSE-003]"
                )
            return
        infos = body.get("file_infos") if isinstance(body, dict) else None
        if not isinstance(infos, list) or not infos:
            self.fail("201 body has no file_infos [FILES-UPLOAD-001]")
            return
        sent_ids = self.request.client_ids
        if sent_ids is not None and (
            body.get("client_ids") != sent_ids or len(infos) != len(sent_ids)
        ):
            self.fail(
                f"sent client_ids {sent_ids}, got {body.get('client_ids')} with "
                f"{len(infos)} file_infos [FILES-UPLOAD-010]"
            )
        first = infos[0]
        if self.request.bookmark:
            if first.get("user_id") != "bookmark":
                self.fail(
                    f"bookmark=true upload's FileInfo user_id is {first.get('user_id')!r}, not "
                    '"bookmark" (model.BookmarkFileOwner) [FILES-UPLOAD-BOOKMARK-001]'
                )
        elif self.actor.user_id and first.get("user_id") != self.actor.user_id:
            self.fail(
                f"FileInfo user_id is {first.get('user_id')!r}, not the sender "
                f"{self.actor.user_id!r} [FILES-UPLOAD-CREATOR-001]"
            )
        if (
            first.get("name") != self.request.sent_name
            or first.get("size") != self.request.sent_size
        ):
            self.fail(
                f"uploaded {self.request.sent_name} ({self.request.sent_size} bytes) but FileInfo "
                f"says {first.get('name')} ({first.get('size')}) [FILES-UPLOAD-001]"
            )
