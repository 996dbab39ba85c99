"""Benchmark the embedded reference server (a script, not a test).

Measures, in one run on loopback:
1. requests/s of GET /api/v4/files/{id}/info (session lookup, permission check, JSON) against a
   bare Starlette JSON endpoint served the same way (uvicorn, one process), and their ratio
   (target >= 0.7, issue 15);
2. upload throughput and the server's peak RSS growth for a 100 MiB upload, raw body and
   multipart (target < 50 MB growth: the upload must stream to disk).

Each server runs in its own subprocess so the load generator (several client processes speaking
raw HTTP/1.1 keep-alive, to keep client overhead small and equal for both) does not share its GIL.

    python benchmarks/reference_server.py [--seconds 5] [--clients 4]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

MIB = 1024 * 1024

BARE_APP = """
import socket, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def info(request):
    return JSONResponse({"id": request.path_params["file_id"], "name": "a.txt", "size": 5})

app = Starlette(routes=[Route("/api/v4/files/{file_id}/info", info)])
sock = socket.socket(); sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sock.bind(("127.0.0.1", 0)); sock.listen(128)
print(f"ready at http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                              lifespan="off")).run(sockets=[sock])
"""


def start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "ready at " not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, line.split("ready at ", 1)[1].strip()


def _client(url: str, path: str, token: str, seconds: float, out: multiprocessing.Queue) -> None:
    host, port = url.split("//", 1)[1].split(":")
    req = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no delayed-ACK stalls
    done = 0
    deadline = time.monotonic() + seconds
    buf = b""
    while time.monotonic() < deadline:
        sock.sendall(req)
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        head, _, buf = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(buf) < length:
            buf += sock.recv(65536)
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"unexpected response: {head[:80]!r}")
        buf = buf[length:]
        done += 1
    sock.close()
    out.put(done)


def requests_per_second(url: str, path: str, token: str, seconds: float, clients: int) -> float:
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_client, args=(url, path, token, seconds, queue))
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak(pid: int) -> None:
    with contextlib.suppress(OSError):  # resets VmHWM (Linux >= 4.0); else growth is an upper bound
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def raw_upload(
    url: str, token: str, query: str, head: bytes, size: int, tail: bytes
) -> tuple[int, int]:
    """(status, stored size) of one upload sent with a plain socket, 1 MiB at a time."""
    host, port = url.split("//", 1)[1].split(":")
    body_len = len(head) + size + len(tail)
    ctype = "multipart/form-data; boundary=BENCHBOUNDARY" if head else "application/octet-stream"
    req = (
        f"POST /api/v4/files?{query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {body_len}\r\n\r\n"
    ).encode()
    chunk = os.urandom(MIB)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(req + head)
        sent = 0
        while sent < size:
            part = chunk[: min(MIB, size - sent)]
            sock.sendall(part)
            sent += len(part)
        sock.sendall(tail)
        reply = b""
        while not reply.endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    status = int(reply.split(b" ", 2)[1])
    body = reply.partition(b"\r\n\r\n")[2]
    stored = json.loads(body)["file_infos"][0]["size"] if status == 201 else -1
    return status, int(stored)


def upload_bench(
    url: str, pid: int, token: str, channel_id: str, multipart: bool
) -> dict[str, float]:
    size = 100 * MIB
    if multipart:
        head = (
            '--BENCHBOUNDARY\r\nContent-Disposition: form-data; name="channel_id"\r\n\r\n'
            f'{channel_id}\r\n--BENCHBOUNDARY\r\nContent-Disposition: form-data; name="files"; '
            'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        tail = b"\r\n--BENCHBOUNDARY--\r\n"
        query = ""
    else:
        head = tail = b""
        query = f"channel_id={channel_id}&filename=big.bin"
    reset_peak(pid)
    before = rss_kib(pid, "VmRSS")
    start_t = time.monotonic()
    status, stored = raw_upload(url, token, query, head, size, tail)
    elapsed = time.monotonic() - start_t
    peak = rss_kib(pid, "VmHWM")
    if status != 201 or stored != size:
        raise SystemExit(f"upload failed with {status} (stored {stored} of {size} bytes)")
    return {
        "seconds": round(elapsed, 2),
        "MiB_per_s": round(size / MIB / elapsed, 1),
        "rss_before_MiB": round(before / 1024, 1),
        "peak_growth_MiB": round(max(0, peak - before) / 1024, 1),
    }


def setup(url: str, data_dir: Path) -> tuple[str, str, str]:
    creds = json.loads((data_dir / "admin-credentials.json").read_text())
    login = httpx.post(
        f"{url}/api/v4/users/login",
        json={"login_id": creds["login"], "password": creds["password"]},
    )
    token = login.headers["Token"]
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    team = api.post("/api/v4/teams", json={"name": "bench", "display_name": "B", "type": "O"})
    channel = api.post(
        "/api/v4/channels",
        json={"team_id": team.json()["id"], "name": "bench", "display_name": "B", "type": "O"},
    )
    channel_id = channel.json()["id"]
    up = api.post(
        "/api/v4/files",
        data={"channel_id": channel_id},
        files={"files": ("a.txt", b"hello", "text/plain")},
    )
    return token, channel_id, up.json()["file_infos"][0]["id"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mmconform-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        ref, ref_url = start(
            [sys.executable, "-m", "mmconform", "serve", "--port", "0", "--data-dir", str(data_dir)]
        )
        bare, bare_url = start([sys.executable, "-c", BARE_APP])
        try:
            token, channel_id, file_id = setup(ref_url, data_dir)
            path = f"/api/v4/files/{file_id}/info"
            ref_rps = requests_per_second(ref_url, path, token, args.seconds, args.clients)
            bare_rps = requests_per_second(bare_url, path, token, args.seconds, args.clients)
            results = {
                "get_file_info_rps": round(ref_rps),
                "bare_starlette_rps": round(bare_rps),
                "ratio": round(ref_rps / bare_rps, 2),
                "upload_raw_100MiB": upload_bench(ref_url, ref.pid, token, channel_id, False),
                "upload_multipart_100MiB": upload_bench(ref_url, ref.pid, token, channel_id, True),
            }
        finally:
            for proc in (ref, bare):
                proc.terminate()
                proc.wait(timeout=20)
    print(json.dumps(results, indent=2))
    ok = results["ratio"] >= 0.7 and all(
        results[k]["peak_growth_MiB"] < 50  # type: ignore[index]
        for k in ("upload_raw_100MiB", "upload_multipart_100MiB")
    )
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
