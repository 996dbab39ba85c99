"""How much our fuzzing costs over the plain schemathesis CLI, on the same server and spec.

One invocation starts the embedded reference server (with a request counter in front of it),
writes the assembled fragments to a temp file, and runs, one after the other:

  ours   pytest conformance/test_fuzz.py, the positive and negative tests of the seven
         operations (public route excluded), profile P: world provisioning, world-aware inputs,
         the Mattermost checks, the tuned built-in checks, failure redaction;
  plain  `st run` on the assembled spec, --mode positive then --mode negative, the same phases
         and --max-examples as the profile, the same seed, the admin token, default checks.

It prints both wall times, the ratio, and the requests each sent (ours includes provisioning).
Usage: python benchmarks/fuzz_overhead.py [--profile ci] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from mmconform.fuzz.profiles import load_fuzz_data
from mmconform.reference.app import admin_password_for, create_app
from mmconform.reference.server import bind_socket
from mmconform.reference.settings import Settings
from mmconform.resources import conformance_dir
from mmconform.spec.loader import load_fragments


class Counter:
    """ASGI wrapper counting HTTP requests, so both runs can be compared per request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


@contextmanager
def server() -> Iterator[tuple[str, str, Counter]]:
    root = Path(tempfile.mkdtemp(prefix="mmconform-bench-"))
    password = admin_password_for(Settings(data_dir=root))
    app = create_app(Settings(data_dir=root, admin_password=password))
    counter = Counter(app)
    sock = bind_socket("127.0.0.1", 0)
    srv = uvicorn.Server(uvicorn.Config(counter, log_level="error", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for _ in range(500):
        try:
            if httpx.get(url + "/api/v4/system/ping", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.02)
    try:
        yield url, password, counter
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.mm.store.close()
        shutil.rmtree(root, ignore_errors=True)


def timed(cmd: list[str], env: dict[str, str], counter: Counter) -> tuple[float, int, int]:
    before = counter.requests
    start = time.perf_counter()
    rc = subprocess.call(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, counter.requests - before, rc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profile", default="ci", choices=("quick", "ci", "full", "certify"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each side, alternated; medians reported"
    )
    args = parser.parse_args()
    data = load_fuzz_data()
    profile = data.profile(args.profile)
    bin_dir = Path(sys.executable).parent
    with (
        tempfile.TemporaryDirectory(prefix="mmconform-bench-") as tmp,
        server() as (
            url,
            password,
            counter,
        ),
    ):
        spec = Path(tmp) / "openapi.json"
        spec.write_text(json.dumps(load_fragments()), encoding="utf-8")
        login = httpx.post(
            url + "/api/v4/users/login", json={"login_id": "admin", "password": password}
        )
        token = login.headers["token"]
        env = {**os.environ, "MMCONFORM_LOGIN": "admin", "MMCONFORM_PASSWORD": password}
        env.pop("CI", None)  # Hypothesis' CI profile would change the example counts
        ours = [
            sys.executable,
            "-m",
            "pytest",
            str(conformance_dir() / "test_fuzz.py"),
            "--rootdir",
            str(conformance_dir()),
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            "-q",
            "-k",
            "(test_fuzz_positive or test_fuzz_negative) and not public",
            "--mm-url",
            url,
            "--mm-profile",
            args.profile,
            "--mm-seed",
            str(args.seed),
            "--mm-reports",
            str(Path(tmp) / "run-{i}"),
            "--mm-allow-config-changes",
            "--junitxml",
            str(Path(tmp) / "junit-{i}.xml"),
            "-o",
            "junit_duration_report=call",
        ]
        plain = [
            str(bin_dir / "st"),
            "run",
            str(spec),
            "--url",
            url,
            "-H",
            f"Authorization: Bearer {token}",
            "--phases",
            ",".join(profile.phases),
            "--max-examples",
            str(profile.max_examples),
            "--seed",
            str(args.seed),
            "--exclude-path-regex",
            "^/files/",
            "--generation-database",
            "none",
            "--no-color",
            # Keep generating after a failure, as a pytest run does for every other test, and
            # skip the checks our suite switches off for every operation (profiles.yaml).
            "--continue-on-failure",
            "--exclude-checks",
            ",".join(data.excluded_checks("all")),
        ]
        ours_runs: list[tuple[float, int, int, float]] = []
        plain_runs: list[tuple[float, int]] = []
        for i in range(args.repeat):  # alternate, so drift in machine load hits both sides
            cmd = [arg.replace("{i}", str(i)) for arg in ours]  # a fresh run folder each time
            t, n, rc = timed(cmd, env, counter)
            ours_runs.append((t, n, rc, _call_seconds(Path(tmp) / f"junit-{i}.xml")))
            plain_time, plain_requests = 0.0, 0
            for mode in ("positive", "negative"):
                t, n, _ = timed([*plain, "--mode", mode], env, counter)
                plain_time += t
                plain_requests += n
            plain_runs.append((plain_time, plain_requests))
    our_time = statistics.median(r[0] for r in ours_runs)
    our_calls = statistics.median(r[3] for r in ours_runs)
    our_requests, our_rc = ours_runs[-1][1], max(r[2] for r in ours_runs)
    plain_time = statistics.median(r[0] for r in plain_runs)
    plain_requests = plain_runs[-1][1]
    print(
        f"runs per side: {args.repeat} (medians); ours {[round(r[0], 2) for r in ours_runs]}, "
        f"plain {[round(r[0], 2) for r in plain_runs]}"
    )
    print(f"profile {args.profile}, seed {args.seed}, max examples {profile.max_examples}")
    print(f"ours : {our_time:6.2f} s wall, {our_requests} requests (pytest exit {our_rc})")
    print(f"       {our_calls:6.2f} s in the fuzz test bodies (JUnit call times)")
    print(f"plain: {plain_time:6.2f} s wall, {plain_requests} requests (st run, two modes)")
    print(
        f"ratio, wall: {our_time / plain_time:.2f} (target <= 1.0, issue 15); fuzz bodies vs "
        f"plain wall: {our_calls / plain_time:.2f} (with --concurrency above 1 the bodies run "
        "ahead in threads, so JUnit's call times undercount them: read the wall ratio)"
    )
    return 0


def _call_seconds(junit: Path) -> float:
    """Sum of the test bodies' times: ours without pytest start-up and world provisioning."""
    import xml.etree.ElementTree as ET

    if not junit.exists():
        return 0.0
    return sum(float(c.get("time") or 0) for c in ET.parse(junit).iter("testcase"))


if __name__ == "__main__":
    raise SystemExit(main())
