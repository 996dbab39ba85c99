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

Under each run, its critical path by phase (benchmarks/phase_probe.py marks the phases inside
the run's pytest): wall time, exchanges and connections started in the phase, and `serial RTs`,
the seconds at least one exchange was in flight divided by the latency (the round trips the
phase cost in sequence; N exchanges in flight at once count once, and the server's own time
counts too, so it is an upper bound); then the slowest tests that ran alone or inline (in
pytest's thread, nothing overlapped with them).

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
from dataclasses import dataclass, field
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
    # (start, end, request line) of every exchange, and when each connection was opened:
    # the per-phase breakdown (phases()) is read from these against the run's phase record.
    timeline: list[tuple[float, float, str]] = field(default_factory=list)
    opened: list[float] = field(default_factory=list)


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
        self.counts.opened.append(time.monotonic())
        await asyncio.sleep(self.latency)  # the TCP handshake's round trip
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        state: dict[str, Any] = {"waiting": False, "start": 0.0, "line": ""}

        async def upstream() -> None:
            while data := await reader.read(65536):
                if not state["waiting"]:
                    state["waiting"] = True
                    state["start"] = time.monotonic()
                    state["line"] = data.split(b"\r\n", 1)[0][:120].decode("latin-1")
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
                    self.counts.timeline.append((state["start"], time.monotonic(), state["line"]))
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
                phase_file = folder / "phases.json"
                env["BENCH_PHASES_FILE"] = str(phase_file)
                env["PYTHONPATH"] = os.pathsep.join(
                    [str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")]
                ).rstrip(os.pathsep)
                cmd += ["-p", "phase_probe"]
                start = time.monotonic()
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                end = time.monotonic()
                wall = end - start
        record = json.loads(phase_file.read_text()) if phase_file.exists() else None
        breakdown = (
            phases(record, start, end, proxy.counts if latency_ms else None, latency_ms / 1000)
            if record
            else []
        )
        found = re.search(r" in ([0-9.]+)s", proc.stdout)
        latest = folder / "reports" / "latest" / "results.json"
        if not latest.exists():
            raise SystemExit(f"run failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}")
        results = json.loads(latest.read_text())
        if results["summary"]["verdict"] != "CONFORMANT":
            print(f"run not CONFORMANT (exit {proc.returncode}); its last output:")
            print(proc.stdout[-4000:])
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
        "phases": breakdown,
        "timeline": sorted(proxy.counts.timeline) if latency_ms else [],
        "alone": by_test(record, "alone") if record else {},
        "inline": by_test(record, "inline") if record else {},
    }


@dataclass
class Phase:
    """One stretch of a run's timeline: its wall time, what pytest's thread did in it, and what
    crossed the proxy while it lasted (exchanges and connections started in it; `serial`: the
    time at least one exchange was in flight, in round trips: the round trips on its critical
    path, since N exchanges in flight at once cost one)."""

    name: str
    start: float
    end: float
    exchanges: int = 0
    connections: int = 0
    serial: float = 0.0
    detail: str = ""

    @property
    def wall(self) -> float:
        return max(0.0, self.end - self.start)


def _busy(intervals: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of [start, end] in which at least one interval was open."""
    total, reach = 0.0, start
    for a, b in sorted(intervals):
        a, b = max(a, reach), min(b, end)
        if b > a:
            total += b - a
            reach = b
    return total


def phases(
    record: dict[str, Any],
    t0: float,
    t1: float,
    counts: ProxyCounts | None,
    latency_s: float,
) -> list[Phase]:
    """The run cut at the phase probe's marks (benchmarks/phase_probe.py): the CLI and its probe,
    collection, the first item's setup (the world is provisioned there), the items started ahead
    and run beside them, the items that must run alone (last when N > 1), the cleanup sweep with
    config and licence restore (pytest's unconfigure), and the certificate and report after it."""
    items = record["items"]
    cuts: list[tuple[str, float]] = [("cli+probe", t0), ("collect", record["session_start"])]
    if items:
        cuts.append(("provision", items[0]["start"]))
        cuts.append(("items", items[0].get("setup_end", items[0]["start"])))
        alone = [i for i in items if i["kind"] == "alone"]
        if alone:
            cuts.append(("alone items", alone[0]["start"]))
        cuts.append(("teardown", items[-1]["end"]))
    cuts.append(("cleanup+restore", record.get("unconfigure_start", t1)))
    cuts.append(("results+cert", record.get("unconfigure_end", t1)))
    out = [
        Phase(name, begin, cuts[k + 1][1] if k + 1 < len(cuts) else t1)
        for k, (name, begin) in enumerate(cuts)
    ]
    for phase in out:
        inside = [i for i in items if phase.start <= i["start"] < phase.end]
        kinds: dict[str, float] = {}
        for item in inside:
            kinds[item["kind"]] = kinds.get(item["kind"], 0.0) + item["end"] - item["start"]
        if inside:
            phase.detail = ", ".join(
                f"{k} {sum(1 for i in inside if i['kind'] == k)} items {v:.1f}s"
                for k, v in sorted(kinds.items())
            )
        if counts is None or not latency_s:
            continue
        spans = [(a, b) for a, b, _line in counts.timeline if phase.start <= a < phase.end]
        phase.exchanges = len(spans)
        phase.connections = sum(1 for t in counts.opened if phase.start <= t < phase.end)
        phase.serial = _busy(spans, phase.start, phase.end) / latency_s
    return out


def by_test(record: dict[str, Any], kind: str) -> dict[str, tuple[int, float]]:
    """pytest-thread seconds of the items of `kind` (`alone` or `inline`), by test function and,
    for the matrix rows and fuzz items, the operation (the first part of the parameter id)."""
    groups: dict[str, tuple[int, float]] = {}
    for item in record["items"]:
        if item["kind"] != kind:
            continue
        module, _sep, rest = item["id"].partition("::")
        function, _sep, param = rest.partition("[")
        key = module.rsplit("/", 1)[-1] + "::" + function
        if param:
            key += "[" + re.split(r"[\[\]-]", param, maxsplit=1)[0] + "]"
        n, t = groups.get(key, (0, 0.0))
        groups[key] = (n + 1, t + item["end"] - item["start"])
    return groups


def print_requests(phase: Phase, timeline: list[tuple[float, float, str]]) -> None:
    """The phase's exchanges in start order: overlapping ones share a round trip."""
    print(f"        requests of {phase.name}:")
    for a, b, line in timeline:
        if phase.start <= a < phase.end:
            shown = re.sub(r"[a-z0-9]{26}", "{id}", line.rsplit(" ", 1)[0])
            start, end = (a - phase.start) * 1000, (b - phase.start) * 1000
            print(f"          {start:>7.0f} {end:>7.0f}  {shown}")


# How many of the slowest tests (by function and operation) to name under each kind.
TOP = 8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency", type=int, nargs="+", default=[0, 25, 100])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8])
    parser.add_argument(
        "--durations", action="store_true", help="also print pytest's 25 slowest phases"
    )
    parser.add_argument(
        "--requests",
        metavar="PHASE",
        action="append",
        default=[],
        help="also print the requests of this phase (e.g. provision, cleanup+restore) in the "
        "order they started, ids shortened, with each one's start and end in ms from the phase's",
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
            for phase in row["phases"]:
                net = (
                    f"  {phase.exchanges:>5} exch {phase.connections:>4} conns "
                    f"{phase.serial:>6.0f} serial RTs"
                    if latency
                    else ""
                )
                print(f"        {phase.name:<16} {phase.wall:>6.1f}s{net}  {phase.detail}")
            for phase in row["phases"]:
                if phase.name in args.requests:
                    print_requests(phase, row["timeline"])
            for kind in ("alone", "inline"):
                slowest = sorted(row[kind].items(), key=lambda kv: -kv[1][1])[:TOP]
                for key, (count, seconds) in slowest:
                    print(f"          {kind:<6} {key:<56} {count:>3} items {seconds:>5.1f}s")
            ok = ok and row["exit"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
