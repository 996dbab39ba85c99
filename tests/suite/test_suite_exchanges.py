"""Each failure's exchange is kept as HAR, redacted, one file per run; repro lines expand."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import httpx

from mmconform.exchanges import (
    ExchangeLog,
    Message,
    as_text,
    har_entry,
    iter_entries,
    merge,
    reference_in,
)
from mmconform.live_target.client import Actor, Secrets, curl_line

TOKEN = "sekrittokenvalue0123456789"


def _entry(url: str, body: bytes = b"", response_body: bytes = b"{}") -> dict[str, object]:
    secrets = Secrets()
    secrets.add(TOKEN)
    return har_entry(
        method="POST",
        url=url,
        request=Message([("Authorization", f"Bearer {TOKEN}"), ("Content-Type", "x/y")], body),
        status=200,
        reason="OK",
        response=Message([("Set-Cookie", f"MMAUTHTOKEN={TOKEN}")], response_body),
        redact=secrets.redact,
    )


def test_entries_carry_no_secret_no_link_hash_and_no_licence() -> None:
    link = b'{"link":"http://h/files/f/public?h=capabilityhash"}'
    entry = _entry("http://h/api/v4/files/f/link?h=abc", f"note {TOKEN}".encode(), link)
    text = json.dumps(entry)
    assert TOKEN not in text and "capabilityhash" not in text and "h=abc" not in text
    assert "[redacted]" in text
    licence = _entry("http://h/api/v4/license", b"LICENCEBYTES")
    assert "LICENCEBYTES" not in json.dumps(licence)
    binary = _entry("http://h/api/v4/files", response_body=bytes(range(256)))
    content = binary["response"]["content"]  # type: ignore[index]
    assert content["encoding"] == "base64" and content["size"] == 256


def test_parts_merge_into_one_har_per_run(tmp_path: Path) -> None:
    first, second = ExchangeLog(tmp_path, "w1"), ExchangeLog(tmp_path, "w2")
    line = first.record(_entry("http://h/a"))
    second.record(_entry("http://h/b"))
    assert reference_in(f"boom\n{line}") == "w1-1"
    assert merge(tmp_path, "0.test") == tmp_path / "exchanges.har"
    assert not (tmp_path / "exchanges").exists()
    har = json.loads((tmp_path / "exchanges.har").read_text(encoding="utf-8"))
    assert har["log"]["version"] == "1.2" and len(har["log"]["entries"]) == 2
    assert {e["comment"] for e in iter_entries(tmp_path)} == {"w1-1", "w2-1"}
    assert "POST http://h/a" in as_text(har["log"]["entries"][0]) or "POST http://h/b" in as_text(
        har["log"]["entries"][0]
    )
    assert merge(tmp_path / "nothing", "0.test") is None


def test_an_httpx_exchange_is_recorded_from_the_target() -> None:
    from mmconform.exchanges import from_httpx

    request = httpx.Request("GET", "http://h/api/v4/files/x", headers={"Authorization": "Bearer t"})
    entry = from_httpx(httpx.Response(403, json={"id": "x"}, request=request))
    assert entry["response"]["status"] == 403  # type: ignore[index]
    assert entry["request"]["headers"][-1]["value"] == "[redacted]"  # type: ignore[index]


def test_a_pasted_repro_line_expands_the_token_variable() -> None:
    """Single quotes kept `$MM_TOKEN_…` literal; double quotes let the shell expand it."""
    line = curl_line("GET", "http://h/api/v4/files/x", Actor("guest_in_channel", token="t"))
    assert "export MM_TOKEN_GUEST_IN_CHANNEL=" in line
    command = line.split("  # ", 1)[0].replace("curl", "printf '%s\\n'", 1)
    done = subprocess.run(
        ["bash", "-c", command],
        env={"MM_TOKEN_GUEST_IN_CHANNEL": "tok123", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Authorization: Bearer tok123" in done.stdout.splitlines()
    assert shlex.split(command)[-1] == "http://h/api/v4/files/x"
