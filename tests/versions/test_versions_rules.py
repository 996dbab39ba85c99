"""Version emulation without a suite run: the reference server's rule table, the range syntax,
the `unknown` rows, the command-line checks, and one answer per boundary from a running server.

The boundaries and their evidence are in docs/facts/versions.md; these tests pin the table to
them so a typo in a range cannot silently move a boundary.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from mmconform.cli import main
from mmconform.errors import UsageError
from mmconform.matrix import load_matrix
from mmconform.reference import versions as ref_versions
from mmconform.reference.server import running_server
from mmconform.reference.settings import Settings
from mmconform.versions import VersionRange

SRC = Path(ref_versions.__file__).parent


@pytest.mark.parametrize(
    ("version", "has", "lacks"),
    [
        ("7.2.0", set(), {"disabled-is-403", "include-deleted", "head-public-file"}),
        ("7.3.0", {"disabled-is-403", "include-deleted"}, {"head-public-file"}),
        ("9.5.0", {"disabled-is-403"}, {"head-public-file", "file-read-by-channel"}),
        ("9.5.9", {"disabled-is-403"}, {"file-read-by-channel", "file-read-public-channel"}),
        ("9.6.0", {"head-public-file"}, {"file-read-by-channel"}),
        ("9.7.0", {"file-read-by-channel"}, {"file-read-public-channel"}),
        ("9.9.2", {"file-read-by-channel"}, {"file-read-public-channel"}),
        ("9.9.3", {"file-read-public-channel"}, set()),
        ("9.10.0", {"file-read-by-channel"}, {"file-read-public-channel"}),
        ("9.10.2", {"file-read-by-channel"}, {"file-read-public-channel"}),
        ("9.11.0", {"file-read-public-channel"}, {"post-infos-public-channel"}),
        ("10.11.10", set(), {"post-infos-public-channel"}),
        ("10.11.11", {"post-infos-public-channel"}, {"head-api-file"}),
        ("10.12.0", set(), {"post-infos-public-channel"}),
        ("11.5.0", {"post-infos-public-channel", "head-api-file"}, set()),
    ],
)
def test_rule_table_boundaries(version: str, has: set[str], lacks: set[str]) -> None:
    rules = ref_versions.rules_for(version)
    assert has <= rules and not (lacks & rules)


def test_every_rule_asked_for_is_in_the_table_and_every_rule_is_asked_for() -> None:
    """`has_rule` with a name the table lacks raises at the question; this finds it earlier."""
    asked = set()
    for path in SRC.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        asked |= set(re.findall(r'has_rule\("([a-z0-9-]+)"\)', text))
        asked |= set(re.findall(r'head="([a-z0-9-]+)"', text))
    assert asked == set(ref_versions.load_rules())


@pytest.mark.parametrize("bad", ["banana", "9.5", "9.5.0.1", "", "v9.5.0"])
def test_a_malformed_version_is_refused_everywhere(bad: str) -> None:
    with pytest.raises(ref_versions.VersionError, match=r"X\.Y\.Z"):
        Settings(data_dir=Path("/nonexistent"), server_version=bad)


def test_serve_run_and_selftest_refuse_bad_versions_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--as-version", "banana"]) == 2
    assert main(["run", "--url", "http://127.0.0.1:9", "--as-version", "9.5.0"]) == 2
    assert main(["selftest", "--as-version", "9.5", "--fault", "bola-get-file"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert "X.Y.Z" in lines[0] and "embedded server" in lines[1] and "X.Y.Z" in lines[2]


def test_the_cli_exits_2_on_a_bad_version() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "mmconform", "serve", "--as-version", "banana"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "X.Y.Z" in out.stderr


def test_ranges_take_alternatives() -> None:
    r = VersionRange.parse(">=9.9.3,<9.10 || >=9.11", "t")
    assert [r.contains(v) for v in ("9.9.2", "9.9.3", "9.10.5", "9.11.0", "11.5.0")] == [
        False,
        True,
        False,
        True,
        True,
    ]
    with pytest.raises(UsageError, match="'\\|\\|'"):
        VersionRange.parse(">=9.9.3 |", "t")


def test_unknown_rows_are_not_applicable_only_where_unknown() -> None:
    rows = [r for r in load_matrix() if r.unknown is not None]
    assert rows, "the matrix marks 9.5.9+, 9.10.2+ and 10.11.11+ as unknown"
    for version in ("9.5.9", "9.10.2", "10.11.11"):
        assert any(r.unknown_at(version) for r in rows)
        assert all(r.unknown_reason for r in rows if r.unknown_at(version))
    # At these releases every row that applies is judged; a row may still be unknown where it
    # does not apply (LICENSE-TRIAL-002: the release of the nil-manager check is not known).
    for version in ("7.2.0", "9.5.0", "9.10.0", "10.11.0", "11.5.0"):
        assert not any(r.unknown_at(version) and r.applies_to(version) for r in rows)


def _public_head(version: str) -> tuple[int, int, int]:
    """(HEAD /files/x/public, HEAD /api/v4/files/x, GetFileLink with links off) statuses."""
    with running_server(as_version=version) as srv:
        login = httpx.post(
            f"{srv.url}/api/v4/users/login",
            json={"login_id": srv.admin_login, "password": srv.admin_password},
        )
        auth = {"Authorization": f"Bearer {login.headers['Token']}"}
        fid = "a" * 26
        httpx.put(
            f"{srv.url}/api/v4/config/patch",
            json={"FileSettings": {"EnablePublicLink": False}},
            headers=auth,
        ).raise_for_status()
        public = httpx.head(f"{srv.url}/files/{fid}/public").status_code
        # No token: the routed handler says 401, the catch-all 404 (HEAD carries no body).
        api = httpx.head(f"{srv.url}/api/v4/files/{fid}").status_code
        link = httpx.get(f"{srv.url}/api/v4/files/{fid}/link", headers=auth)
        assert link.json()["id"] == "api.file.get_public_link.disabled.app_error"
        version_id = httpx.get(f"{srv.url}/api/v4/system/ping").headers["X-Version-Id"]
        assert version_id.startswith(f"{version}.")
        return public, api, link.status_code


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        # HEAD public: 405 before 9.6; with links off 403 after (the route exists, the check
        # runs). HEAD /api/v4/files without a token: the catch-all 404 before 11.5 (low
        # confidence), else the handler's 401. GetFileLink with links off: 501 before 7.3.
        ("7.2.0", (405, 404, 501)),
        ("9.6.0", (403, 404, 403)),
        ("11.5.0", (403, 401, 403)),
    ],
)
def test_a_running_server_follows_its_version(version: str, expected: tuple[int, int, int]) -> None:
    assert _public_head(version) == expected
