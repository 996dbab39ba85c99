"""What a network between the suite and the target costs a run (issue 15): a script, not a test.

A latency-injecting loopback proxy stands in front of the reference server: every request/
response exchange waits `--latency` ms before the answer starts back (one round trip), and every
new TCP connection waits one round trip too (the handshake), so keep-alive counts as it does on a
real network. The proxy counts the exchanges it relayed, the connections opened and the most
exchanges it saw in flight at once.

For each latency (0 = no proxy) and each --concurrency, the reference server starts licensed
with guests on, and `mmconform run --url` runs the profile against it (through the proxy) in a
child process, with the embedded run's permissions and signing key, so the same rows run as in
`mmconform run` without --url. Printed per run: wall time of `mmconform run`, pytest's own time
(start to verdict), the verdict, requests the suite sent (results.json `traffic`), exchanges and
connections the proxy relayed, max in flight, and the ratio to the local run of the same N.

    python benchmarks/over_the_network.py [--profile ci] [--latency 0 25 100] [--concurrency 1 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mmconform.live_target.client import Target
from mmconform.live_target.probe import logout, probe
from mmconform.reference.server import running_server


@dataclass
class ProxyCounts:
    exchanges: int = 0
    connections: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


class LatencyProxy:
    """TCP relay on 127.0.0.1 adding `latency_s` before each answer and each new connection."""

    def __init__(self, upstream: str, latency_s: float) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path
        self.latency = latency_s
        self.counts = ProxyCounts()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.url = ""

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}{self.path}"
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counts.connections += 1
        await asyncio.sleep(self.latency)  # the TCP handshake's round trip
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        state = {"waiting": False}

        async def upstream() -> None:
            while data := await reader.read(65536):
                if not state["waiting"]:
                    state["waiting"] = True
                    self.counts.exchanges += 1
                    self.counts.in_flight += 1
                    self.counts.max_in_flight = max(
                        self.counts.max_in_flight, self.counts.in_flight
                    )
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if state["waiting"]:
                    state["waiting"] = False
                    self.counts.in_flight -= 1
                    await asyncio.sleep(self.latency)
                writer.write(data)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, OSError):
            pass
        finally:
            if state["waiting"]:
                self.counts.in_flight -= 1
            writer.close()
            up_writer.close()

    @contextmanager
    def running(self) -> Iterator[LatencyProxy]:
        self._thread.start()
        self._ready.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


def one_run(
    profile: str, seed: int, latency_ms: int, concurrency: int, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mmconform-net-") as tmp:
        folder = Path(tmp)
        with running_server() as server:
            assert server.signing_key_path is not None
            licence = server.mint_license(users=100_000).encode()
            licence_path = folder / "bench.mattermost-license"
            licence_path.write_bytes(licence)
            admin = probe(server.url, login=server.admin_login, password=server.admin_password)
            target = Target(server.url)
            try:
                target.api("POST", "/license", admin.admin, files={"license": ("l", licence)})
                target.api(
                    "PUT",
                    "/config/patch",
                    admin.admin,
                    json={"GuestAccountsSettings": {"Enable": True}},
                )
            finally:
                target.close()
                logout(admin)
            proxy = LatencyProxy(server.url, latency_ms / 1000)
            with proxy.running():
                url = proxy.url if latency_ms else server.url
                env = {k: v for k, v in os.environ.items() if not k.startswith("MMCONFORM_")}
                env["MMCONFORM_PASSWORD"] = server.admin_password
                cmd = [
                    sys.executable, "-m", "mmconform", "run", "--url", url,
                    "--login", server.admin_login,
                    "--allow-config-changes", "--allow-license-changes",
                    "--license-file", str(licence_path),
                    "--profile", profile, "--seed", str(seed),
                    "--reports", str(folder / "reports"),
                    "--", "--mm-disposable", "--mm-signing-key", str(server.signing_key_path),
                    "--mm-concurrency", str(concurrency), *extra,
                ]  # fmt: skip
                start = time.monotonic()
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                wall = time.monotonic() - start
        found = re.search(r" in ([0-9.]+)s", proc.stdout)
        latest = folder / "reports" / "latest" / "results.json"
        if not latest.exists():
            raise SystemExit(f"run failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}")
        results = json.loads(latest.read_text())
    if extra:
        print(proc.stdout[-6000:])
    return {
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "pytest_s": float(found.group(1)) if found else float("nan"),
        "verdict": results["summary"]["verdict"],
        "requests": results["traffic"]["requests"],
        "suite_max_in_flight": results["traffic"].get("max_in_flight"),
        "exchanges": proxy.counts.exchanges if latency_ms else None,
        "connections": proxy.counts.connections if latency_ms else None,
        "proxy_max_in_flight": proxy.counts.max_in_flight if latency_ms else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency", type=int, nargs="+", default=[0, 25, 100])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8])
    parser.add_argument(
        "--durations", action="store_true", help="also print pytest's 25 slowest phases"
    )
    args = parser.parse_args()
    print(f"profile {args.profile}, seed {args.seed}")
    print(
        f"{'latency':>7} {'N':>3} {'wall s':>7} {'pytest s':>8} {'ratio':>6} {'requests':>8} "
        f"{'exch':>5} {'conns':>5} {'peak':>4}  verdict"
    )
    ok = True
    for n in args.concurrency:
        local: float | None = None
        for latency in args.latency:
            extra = ("--durations=25",) if args.durations else ()
            row = one_run(args.profile, args.seed, latency, n, extra)
            local = row["wall_s"] if local is None else local
            ratio = row["wall_s"] / local if local else float("nan")
            print(
                f"{latency:>5}ms {n:>3} {row['wall_s']:>7} {row['pytest_s']:>8} {ratio:>6.2f} "
                f"{row['requests']:>8} {row['exchanges'] or '-':>5} {row['connections'] or '-':>5} "
                f"{row['proxy_max_in_flight'] or row['suite_max_in_flight']:>4}  "
                f"{row['verdict']} (exit {row['exit']})",
                flush=True,
            )
            ok = ok and row["exit"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
