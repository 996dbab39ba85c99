"""The reference server's deployment rules: Mattermost's rate limiter and the SiteURL subpath.

Rate limiter: server/channels/app/ratelimit.go (`RateLimiter`, `GenerateKey`,
`RateLimitWriter`, `setRateLimitHeaders`) over throttled's `GCRARateLimiter`; wired around the
whole root router in app/server.go `Start`. Subpath: app/server.go `NewServer`
(`RootRouter.PathPrefix(subpath)`, the NotFoundHandler redirect), utils `GetSubpathFromConfig`,
web/handlers.go `ServeHTTP` (`SetSiteURLHeader(GetProtocol(r) + "://" + r.Host + subpath)`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from ref_support import Api

from mmconform.reference.deployment import subpath_of
from mmconform.reference.ratelimit import Gcra, Quota, rate_key
from mmconform.reference.server import running_server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_gcra_gives_burst_plus_one_then_the_rate() -> None:
    """throttled: limit = MaxBurst + 1, τ = T × (MaxBurst + 1); PerMin(60) "permits 60
    requests instantly ... followed by one request per second"."""
    clock = Clock()
    gcra = Gcra(Quota(per_sec=10, max_burst=100), clock)
    results = [gcra.take("k") for _ in range(102)]
    assert [r.limited for r in results[:101]] == [False] * 101
    assert results[0].limit == 101 and results[0].remaining == 100
    assert results[100].remaining == 0
    refused = results[101]
    assert refused.limited and 0 < refused.retry_after <= 0.1
    clock.now += 0.1
    assert not gcra.take("k").limited
    assert gcra.take("k").limited
    assert not gcra.take("other").limited  # keys are independent


def test_gcra_store_forgets_the_oldest_key_past_memory_store_size() -> None:
    clock = Clock()
    gcra = Gcra(Quota(per_sec=1, max_burst=0, memory_store_size=2), clock)
    assert not gcra.take("a").limited
    assert gcra.take("a").limited
    gcra.take("b")
    gcra.take("c")  # evicts "a" (memstore is an LRU of MemoryStoreSize keys)
    assert not gcra.take("a").limited


def _scope(headers: dict[str, str], client: str = "10.0.0.9", query: bytes = b"") -> Any:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "headers": raw, "client": (client, 5555), "query_string": query}


def test_the_key_follows_generate_key() -> None:
    by_addr = Quota()
    assert rate_key(_scope({"X-Forwarded-For": "1.2.3.4"}), by_addr) == "10.0.0.9"
    trusted = Quota(trusted_proxy_ip_header=("X-Forwarded-For",))
    # GetIPAddress: the first whitespace-separated field, its trailing comma trimmed.
    assert rate_key(_scope({"X-Forwarded-For": "1.2.3.4, 5.6.7.8"}), trusted) == "1.2.3.4"
    by_user = Quota(vary_by_user=True)
    assert rate_key(_scope({"Authorization": "Bearer tok"}), by_user) == "tok"
    assert rate_key(_scope({}, query=b"access_token=qt"), by_user) == "qt"
    assert rate_key(_scope({}), by_user) == "10.0.0.9"  # no token: falls back to the address
    header = Quota(vary_by_remote_addr=False, vary_by_header="X-Team")
    assert rate_key(_scope({"X-Team": "ABC"}), header) == "abc"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("rl")
    config = folder / "config.json"
    config.write_text(
        json.dumps({"RateLimitSettings": {"Enable": True, "PerSec": 1, "MaxBurst": 2}})
    )
    with running_server(config_file=config) as srv:
        yield srv


def test_limited_answers_are_go_http_error_with_throttled_headers(limited: Any) -> None:
    with httpx.Client(base_url=limited.url) as client:
        answers = [client.get("/api/v4/system/ping") for _ in range(6)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    r = refused[0]
    assert r.text == "limit exceeded\n"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-ratelimit-limit"] == "3"
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert int(r.headers["retry-after"]) >= 1 and int(r.headers["x-ratelimit-reset"]) >= 1
    assert "x-request-id" not in r.headers and "x-version-id" not in r.headers
    ok = answers[0]
    assert ok.status_code == 200 and ok.headers["x-ratelimit-limit"] == "3"
    assert "retry-after" not in ok.headers  # RetryAfter is -1 for an allowed request


def test_the_limiter_wraps_the_public_route_too(limited: Any) -> None:
    with httpx.Client(base_url=limited.url) as client:
        statuses = {client.get("/files/abc/public").status_code for _ in range(6)}
    assert 429 in statuses


@pytest.mark.parametrize(
    ("site_url", "subpath"),
    [
        (None, "/"),
        ("", "/"),
        ("http://h", "/"),
        ("http://h/", "/"),
        ("http://h/chat", "/chat"),
        ("http://h/chat/", "/chat"),
        ("https://h/a/../chat//x", "/chat/x"),
    ],
)
def test_subpath_of_is_get_subpath_from_config(site_url: str | None, subpath: str) -> None:
    assert subpath_of(site_url) == subpath


@pytest.fixture(scope="module")
def under_chat() -> Any:
    with running_server(site_url="http://mm.example.invalid/chat/") as srv:
        yield srv


def test_the_server_lives_under_the_subpath(under_chat: Any) -> None:
    assert under_chat.url.endswith("/chat")
    assert httpx.get(under_chat.url + "/api/v4/system/ping").status_code == 200


def test_outside_the_subpath_is_redirected_into_it(under_chat: Any) -> None:
    root = under_chat.url.removesuffix("/chat")
    r = httpx.get(root + "/api/v4/system/ping?x=1")
    assert r.status_code == 302
    assert r.headers["location"] == "/chat/api/v4/system/ping?x=1"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.text == '<a href="/chat/api/v4/system/ping?x=1">Found</a>.\n\n'
    post = httpx.post(root + "/api/v4/files")
    assert post.status_code == 302 and post.content == b""  # http.Redirect: body for GET/HEAD


def test_links_take_host_and_scheme_from_the_request_and_the_path_from_site_url(
    under_chat: Any, tmp_path: Path
) -> None:
    from ref_support import build_world

    world = build_world(under_chat)
    world.admin.patch_config("FileSettings", EnablePublicLink=True)
    file_id = world.member.upload_id(world.public_id, "p.txt", b"sub")
    world.post_with(world.member, world.public_id, [file_id])
    link = world.member.ok(world.member.get(f"/api/v4/files/{file_id}/link"))["link"]
    host = under_chat.url.removeprefix("http://").removesuffix("/chat")
    assert link.startswith(f"http://{host}/chat/files/{file_id}/public?h=")
    proxied = world.member.get(
        f"/api/v4/files/{file_id}/link", headers={"X-Forwarded-Proto": "https"}
    )
    assert proxied.json()["link"].startswith(f"https://{host}/chat/files/")
    anonymous = Api(under_chat.url)
    public = anonymous.get(link.removeprefix(f"http://{host}/chat"))
    assert public.status_code == 200 and public.content == b"sub"
