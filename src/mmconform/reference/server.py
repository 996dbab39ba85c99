"""`running_server(**settings)`: the reference server on a free loopback port, in a thread.

The socket is bound before uvicorn starts (port 0 → the kernel picks), so there is no
pick-then-bind race between xdist workers; readiness is `/api/v4/system/ping` answering.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from mmconform.reference.app import admin_password_for, create_app
from mmconform.reference.deployment import link_prefix, wrap
from mmconform.reference.licensing import DAY_MS, PRIVATE_KEY_NAME, mint_license
from mmconform.reference.settings import Settings


@dataclass(frozen=True)
class RunningServer:
    """Where a started server listens and how to log in to it."""

    url: str
    data_dir: Path
    admin_login: str
    admin_password: str
    signing_key_path: Path | None

    def mint_license(self, *, users: int = 1000, days: int = 365, is_trial: bool = False) -> str:
        """A licence this server accepts (needs the data dir's own signing key)."""
        if self.signing_key_path is None:
            raise ValueError("server uses an external licence key; mint with its private key")
        now = int(time.time() * 1000)
        return mint_license(
            self.signing_key_path.read_bytes(),
            users=users,
            starts_at_ms=now,
            expires_at_ms=now + days * DAY_MS,
            is_trial=is_trial,
        )


def bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this on Linux. Go sets TCP_NODELAY on every connection; without
    # it, uvicorn's separate header and body writes meet delayed ACKs (~40 ms per request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


@contextmanager
def running_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    data_dir: Path | str | None = None,
    startup_timeout: float = 20.0,
    sock: socket.socket | None = None,
    as_version: str | None = None,
    **settings: Any,
) -> Iterator[RunningServer]:
    """Start, wait for ping, yield a `RunningServer`, then stop and clean up.

    `as_version` (X.Y.Z) makes the server report that version and follow its rules
    (`versions.yaml`); it is the same setting as `server_version`.
    """
    if as_version is not None:
        settings["server_version"] = as_version
    own_dir = data_dir is None
    root = Path(tempfile.mkdtemp(prefix="mmconform-ref-")) if own_dir else Path(str(data_dir))
    try:
        password = admin_password_for(Settings(data_dir=root, **settings))
        cfg = Settings(data_dir=root, **{**settings, "admin_password": password})
        app = create_app(cfg)
        state = app.state.mm
        served = wrap(
            app,
            state.subpath,
            state.config.values.get("RateLimitSettings"),
            state.config.values["ServiceSettings"].get("TrustedProxyIPHeader"),
            cfg.faults,
        )
        listener = sock if sock is not None else bind_socket(host, port)
        bound_port = listener.getsockname()[1]
        # log_config=None: uvicorn's dictConfig would briefly re-install the access-log handler
        # on the shared logger, so a second server starting in this process (selftest jobs)
        # made the first one log requests.
        server = uvicorn.Server(
            uvicorn.Config(
                served, log_level="warning", access_log=False, lifespan="off", log_config=None
            )
        )
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [listener]},
            daemon=True,
            name=f"mmconform-ref-{bound_port}",
        )
        thread.start()
        # Under a SiteURL subpath the server lives at the subpath (the root only redirects).
        url = f"http://{host}:{bound_port}{link_prefix(state.subpath)}"
        try:
            _wait_ready(url, server, thread, startup_timeout)
            key = None if cfg.license_public_key else root / PRIVATE_KEY_NAME
            yield RunningServer(url, root, cfg.admin_login, password, key)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            listener.close()
            app.state.mm.store.close()
    finally:
        if own_dir:
            shutil.rmtree(root, ignore_errors=True)


def _wait_ready(url: str, server: uvicorn.Server, thread: threading.Thread, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("reference server thread exited during start-up")
        if server.started:
            try:
                if httpx.get(f"{url}/api/v4/system/ping", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.02)
    raise RuntimeError(f"reference server at {url} did not answer ping within {timeout}s")
