"""Every bad input is clean (issue 14): one line naming the problem and the fix, exit 2.

No traceback, nothing created on the target, no run folder left and `reports/latest` still
naming the last real run. Each case runs the CLI in-process from a workspace holding one earlier
run, against the servers it needs: a licensed reference server, and stand-ins that answer ping
like Mattermost but `/users/me` with something that is no user.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from suite_support import Licensed, license_server, live_objects, serve_app

from mmconform.cli import main
from mmconform.reference.server import running_server


def _fake(me: Response | None) -> Starlette:
    """Ping like Mattermost; `/users/me` answers `me` (None: an HTML 404 for everything)."""

    async def ping(request: Request) -> Response:
        if me is None:
            return PlainTextResponse("<html>nothing here</html>", 404, media_type="text/html")
        return JSONResponse({"status": "OK"}, headers={"X-Version-Id": "11.5.0.1.abc.false"})

    async def users_me(request: Request) -> Response:
        assert me is not None
        return me

    return Starlette(
        routes=[
            Route("/api/v4/system/ping", ping),
            Route("/api/v4/users/me", users_me),
        ]
    )


@dataclass
class Servers:
    ref: Licensed
    not_json: str
    no_id: str
    not_mattermost: str
    taken_port: int


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("licence")
    fakes = (
        _fake(PlainTextResponse("certainly not JSON")),
        _fake(JSONResponse({"username": "admin", "roles": "system_admin"})),
        _fake(None),
    )
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    with (
        running_server() as srv,
        serve_app(fakes[0]) as not_json,
        serve_app(fakes[1]) as no_id,
        serve_app(fakes[2]) as not_mm,
    ):
        licensed = license_server(srv, folder, now_ms=int(time.time() * 1000))
        yield Servers(licensed, not_json, no_id, not_mm, busy.getsockname()[1])
    busy.close()


def _licence_shaped(payload: dict[str, Any]) -> str:
    """Base64 of JSON plus 256 signature bytes: a licence in shape, signed by nobody."""
    return base64.b64encode(json.dumps(payload).encode() + b"\x01" * 256).decode()


def _workspace(root: Path) -> None:
    """An earlier real run the pointer names, and the files the cases refer to."""
    (root / "reports" / "20260101-000000-mmcearly").mkdir(parents=True)
    (root / "reports" / "latest").symlink_to("20260101-000000-mmcearly")
    (root / "empty.lic").write_text("")
    (root / "garbage.lic").write_text("this is not a licence at all!")
    (root / "short.lic").write_text(base64.b64encode(b"too short").decode())
    (root / "other.lic").write_text(_licence_shaped({"id": "notthelicenceinstalled01"}))
    (root / "noid.lic").write_text(_licence_shaped({"name": "x"}))
    (root / "a-file").write_text("x")
    (root / "not.json").write_text("{ not json")
    (root / "array.json").write_text("[1, 2]")
    (root / "key.pem").write_text("-----BEGIN NOTHING-----\n")
    (root / "damaged.jsonl").write_text('{"t": "intent"\n{"t": "target", "key": "target"}\n')
    (root / "unbound.jsonl").write_text(
        json.dumps({"t": "intent", "key": "w:1", "kind": "user", "name": "mmcx-u"}) + "\n"
    )
    (root / "foreign.jsonl").write_text(
        json.dumps(
            {
                "t": "target",
                "key": "target",
                "url": "http://elsewhere",
                "admin_user_id": "a" * 26,
                "admin_username": "someone",
            }
        )
        + "\n"
    )
    broken = root / "broken-run"
    broken.mkdir()
    (broken / "results.json").write_text('{"schema": 1}')
    interrupted = root / "interrupted-run"
    interrupted.mkdir()
    (interrupted / "results.json").write_text(
        json.dumps(
            {
                "schema": "mmconform-results/1",
                "tests": [],
                "requirements": {},
                "interrupted": "interrupted (Ctrl-C)",
                "summary": {"verdict": "INTERRUPTED"},
            }
        )
    )
    (root / "not-a-cert.json").write_text('{"hello": 1}')


# (id, argv, environment, a word the one line must contain). {ref}, {not_json}, {no_id},
# {not_mm}, {taken} are filled in from the servers; every path is relative to the workspace.
CASES: list[tuple[str, list[str], dict[str, str], str]] = [
    ("run-ipv6-unclosed", ["run", "--url", "http://[::1", "--token", "t"], {}, "not a valid URL"),
    ("run-ftp", ["run", "--url", "ftp://x", "--token", "t"], {}, "http(s)"),
    ("run-port-range", ["run", "--url", "http://127.0.0.1:99999", "--token", "t"], {}, "range"),
    ("run-port-text", ["run", "--url", "http://127.0.0.1:ab", "--token", "t"], {}, "valid URL"),
    ("run-query", ["run", "--url", "http://127.0.0.1/?q=1", "--token", "t"], {}, "query"),
    ("run-no-host", ["run", "--url", "http://:80", "--token", "t"], {}, "http(s)"),
    ("run-unreachable", ["run", "--url", "http://127.0.0.1:9", "--token", "t"], {}, "reach"),
    ("run-not-mattermost", ["run", "--url", "{not_mm}", "--token", "t"], {}, "Mattermost"),
    ("run-me-not-json", ["run", "--url", "{not_json}", "--token", "t"], {}, "/users/me"),
    ("run-me-no-id", ["run", "--url", "{no_id}", "--token", "t"], {}, "/users/me"),
    ("run-no-credentials", ["run", "--url", "{ref}"], {}, "credentials"),
    (
        "run-token-and-login",
        ["run", "--url", "{ref}", "--token", "t", "--login", "a"],
        {},
        "either",
    ),
    ("run-creds-no-url", ["run", "--token", "t"], {}, "--url"),
    ("run-bad-token", ["run", "--url", "{ref}", "--token", "not-a-token"], {}, "token"),
    ("run-bad-password", ["run", "--url", "{ref}", "--login", "admin"], {"P": "wrong"}, "login"),
    ("run-profile", ["run", "--profile", "bogus"], {}, "profile"),
    ("run-profile-env", ["run"], {"MMCONFORM_PROFILE": "bogus"}, "MMCONFORM_PROFILE"),
    ("run-workers-env", ["run"], {"MMCONFORM_WORKERS": "two"}, "MMCONFORM_WORKERS"),
    ("run-workers-env-0", ["run"], {"MMCONFORM_WORKERS": "0"}, "1 or more"),
    ("run-workers-0", ["run", "-n", "0"], {}, "1 or more"),
    ("run-concurrency-0", ["run", "--concurrency", "0"], {}, "give 1 (sequential) or more"),
    ("run-concurrency-env", ["run"], {"MMCONFORM_CONCURRENCY": "many"}, "MMCONFORM_CONCURRENCY"),
    ("run-workers-text", ["run", "-n", "two"], {}, "invalid int"),
    ("run-seed-env", ["run"], {"MMCONFORM_SEED": "abc"}, "MMCONFORM_SEED"),
    ("run-seed-text", ["run", "--seed", "abc"], {}, "invalid int"),
    ("run-flag-env", ["run"], {"MMCONFORM_ALLOW_CONFIG_CHANGES": "maybe"}, "yes/no"),
    ("run-licence-flag-env", ["run"], {"MMCONFORM_ALLOW_LICENSE_CHANGES": "perhaps"}, "yes/no"),
    ("run-licence-flag-no-file", ["run", "--allow-license-changes"], {}, "--license-file"),
    ("run-licence-missing", ["run", "--license-file", "nope.lic"], {}, "nope.lic"),
    ("run-licence-empty", ["run", "--license-file", "empty.lic"], {}, "empty"),
    ("run-licence-garbage", ["run", "--license-file", "garbage.lic"], {}, "not a Mattermost"),
    ("run-licence-short", ["run", "--license-file", "short.lic"], {}, "not a Mattermost"),
    ("run-licence-no-id", ["run", "--license-file", "noid.lic"], {}, "not a Mattermost"),
    ("run-licence-dir", ["run", "--license-file", "reports"], {}, "reports"),
    (
        "run-licence-not-installed",
        [
            "run",
            "--url",
            "{ref}",
            "--login",
            "admin",
            "--allow-license-changes",
            "--license-file",
            "other.lic",
        ],
        {"P": ""},
        "not the one installed",
    ),
    (
        "run-licence-empty-remote",
        [
            "run",
            "--url",
            "{ref}",
            "--login",
            "admin",
            "--allow-license-changes",
            "--license-file",
            "empty.lic",
        ],
        {"P": ""},
        "empty",
    ),
    ("run-licence-env", ["run"], {"MMCONFORM_LICENSE_FILE": "garbage.lic"}, "not a Mattermost"),
    ("run-sign-key-missing", ["run", "--sign-key", "nope.pem"], {}, "nope.pem"),
    ("run-sign-key-garbage", ["run", "--sign-key", "key.pem"], {}, "key.pem"),
    ("run-server-version", ["run", "--server-version", "banana"], {}, "version"),
    ("run-server-version-env", ["run"], {"MMCONFORM_SERVER_VERSION": "banana"}, "version"),
    ("run-reports-file", ["run", "--reports", "a-file"], {}, "not a directory"),
    ("run-reports-env-file", ["run"], {"MMCONFORM_REPORTS": "a-file"}, "not a directory"),
    ("run-url-env", ["run", "--token", "t"], {"MMCONFORM_URL": "http://[::1"}, "valid URL"),
    ("run-url-env-ftp", ["run", "--token", "t"], {"MMCONFORM_URL": "ftp://x"}, "http(s)"),
    (
        "run-bogus-pytest-flag",
        ["run", "--url", "{ref}", "--login", "admin", "--", "--bogus-pytest-flag"],
        {"P": ""},
        "bogus-pytest-flag",
    ),
    ("run-unknown-option", ["run", "--bogus"], {}, "unrecognized"),
    ("cleanup-no-ledger", ["cleanup", "--url", "{ref}"], {}, "--ledger"),
    ("cleanup-ledger-missing", ["cleanup", "--ledger", "nope.jsonl", "--url", "{ref}"], {}, "nope"),
    ("cleanup-ledger-dir", ["cleanup", "--ledger", "reports", "--url", "{ref}"], {}, "reports"),
    ("cleanup-no-url", ["cleanup", "--ledger", "unbound.jsonl"], {}, "--url"),
    (
        "cleanup-bad-url",
        ["cleanup", "--ledger", "unbound.jsonl", "--url", "http://[::1", "--token", "t"],
        {},
        "valid URL",
    ),
    (
        "cleanup-damaged",
        ["cleanup", "--ledger", "damaged.jsonl", "--url", "{ref}", "--login", "admin"],
        {"P": ""},
        "damaged",
    ),
    (
        "cleanup-unbound",
        ["cleanup", "--ledger", "unbound.jsonl", "--url", "{ref}", "--login", "admin"],
        {"P": ""},
        "does not name the server",
    ),
    (
        "cleanup-other-server",
        ["cleanup", "--ledger", "foreign.jsonl", "--url", "{ref}", "--login", "admin"],
        {"P": ""},
        "is not the server",
    ),
    (
        "cleanup-licence-empty",
        ["cleanup", "--ledger", "foreign.jsonl", "--url", "{ref}", "--license-file", "empty.lic"],
        {},
        "empty",
    ),
    ("serve-port-high", ["serve", "--port", "70000"], {}, "out of range"),
    ("serve-port-negative", ["serve", "--port", "-1"], {}, "out of range"),
    ("serve-port-text", ["serve", "--port", "abc"], {}, "invalid int"),
    (
        "serve-port-taken",
        ["serve", "--port", "{taken}", "--data-dir", "new-data"],
        {},
        "cannot listen",
    ),
    (
        "serve-port-high-data-dir",
        ["serve", "--port", "70000", "--data-dir", "new-data"],
        {},
        "out of range",
    ),
    (
        "serve-config-not-json",
        ["serve", "--port", "0", "--config", "not.json", "--data-dir", "new-data"],
        {},
        "not a JSON",
    ),
    ("serve-config-array", ["serve", "--port", "0", "--config", "array.json"], {}, "JSON object"),
    ("serve-config-missing", ["serve", "--port", "0", "--config", "nope.json"], {}, "nope.json"),
    ("serve-fault", ["serve", "--port", "0", "--fault", "no-such-fault"], {}, "no-such-fault"),
    (
        "serve-public-key-missing",
        ["serve", "--port", "0", "--license-public-key", "nope.pem"],
        {},
        "nope.pem",
    ),
    ("serve-data-dir-file", ["serve", "--port", "0", "--data-dir", "a-file"], {}, "a-file"),
    ("license-no-action", ["license"], {}, "mint"),
    ("license-mint-no-dir", ["license", "mint"], {}, "--data-dir"),
    ("license-mint-users", ["license", "mint", "--data-dir", "d", "--users", "x"], {}, "int"),
    ("selftest-fault", ["selftest", "--fault", "no-such-fault"], {}, "no-such-fault"),
    ("selftest-profile", ["selftest", "--profile", "bogus"], {}, "profile"),
    ("selftest-shard", ["selftest", "--shard", "3/2"], {}, "shard"),
    ("spec-no-subcommand", ["spec"], {}, "spec"),
    ("report-missing", ["report", "nope-run"], {}, "nope-run"),
    ("report-broken", ["report", "broken-run"], {}, "results"),
    ("verify-missing", ["verify", "nope.json"], {}, "nope.json"),
    ("verify-not-cert", ["verify", "not-a-cert.json"], {}, "certificate"),
    ("diff-missing", ["diff", "nope-a", "nope-b"], {}, "nope-a"),
    ("diff-interrupted", ["diff", "interrupted-run", "interrupted-run"], {}, "interrupted"),
    ("diff-format", ["diff", "--format", "xml", "a", "b"], {}, "format"),
    ("unknown-verb", ["bogusverb"], {}, "bogusverb"),
]


def _fill(value: str, servers: Servers) -> str:
    return value.format(
        ref=servers.ref.server.url,
        not_json=servers.not_json,
        no_id=servers.no_id,
        not_mm=servers.not_mattermost,
        taken=servers.taken_port,
    )


def _snapshot(root: Path) -> tuple[list[str], str]:
    reports = root / "reports"
    return sorted(p.name for p in reports.iterdir()), os.readlink(reports / "latest")


def test_there_are_at_least_sixty_cases_across_the_verbs() -> None:
    assert len(CASES) >= 60
    verbs = {argv[0] for _, argv, _, _ in CASES}
    assert {"run", "cleanup", "serve", "license", "selftest", "spec", "report", "verify"} <= verbs
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("argv", "env", "word"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str],
    env: dict[str, str],
    word: str,
    servers: Servers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("MMCONFORM_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name == "P":  # the admin password, right or deliberately wrong
            monkeypatch.setenv("MMCONFORM_PASSWORD", value or servers.ref.server.admin_password)
        else:
            monkeypatch.setenv(name, value)
    before = _snapshot(tmp_path)
    objects = live_objects(servers.ref.server, str(servers.ref.admin.user_id))
    try:
        code = main([_fill(a, servers) for a in argv])
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert word.lower() in lines[0].lower(), lines[0]
    assert servers.ref.server.admin_password not in err
    assert _snapshot(tmp_path) == before, "a run folder was left or reports/latest moved"
    assert not (tmp_path / "new-data").exists(), "serve left its data dir behind"
    assert live_objects(servers.ref.server, str(servers.ref.admin.user_id)) == objects
