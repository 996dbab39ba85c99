"""Where a run came from: the suite's version and revision, the target without credentials.

A certificate names the suite that judged a server; the git revision pins it when the suite runs
from a checkout. The target URL is recorded without user info, query or fragment, since those are
where credentials hide.
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mmconform import __version__

_REPO_ROOT = Path(__file__).resolve().parents[3]


def git_revision() -> str:
    """HEAD of the checkout mmconform runs from, or "unknown" for an installed wheel."""
    if not (_REPO_ROOT / ".git").exists() or not (_REPO_ROOT / "pyproject.toml").is_file():
        return "unknown"
    try:
        done = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and revision else "unknown"


def suite_info() -> dict[str, str]:
    return {"version": __version__, "git_revision": git_revision()}


def clean_url(url: str | None) -> str | None:
    """`https://user:pw@host/x?token=t#f` → `https://host/x`."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return None
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # "host:notaport": keep the host, drop the junk
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
