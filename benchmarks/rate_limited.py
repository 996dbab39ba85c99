"""What Mattermost's rate limiter costs a run: the ci profile against the reference server with
`RateLimitSettings` at Mattermost's defaults (PerSec 10, MaxBurst 100) and without it.

For each shape the reference server starts from a config file (as an admin would configure the
real server), is licensed with guests enabled, and `mmconform run --url` runs the profile
against it in a child process. Printed per shape: wall time of the run, the verdict, the requests
the suite sent (every attempt, from results.json `traffic`), the 429s it met and the seconds it
waited them out.
Usage: python benchmarks/rate_limited.py [--profile ci] [--seed 7] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mmconform.live_target.client import Target
from mmconform.live_target.probe import probe
from mmconform.reference.server import running_server

SHAPES: dict[str, dict[str, Any]] = {
    "unlimited": {},
    "rate limited 10/s burst 100": {
        "RateLimitSettings": {"Enable": True, "PerSec": 10, "MaxBurst": 100}
    },
}


def one_run(config: dict[str, Any], profile: str, seed: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mmconform-bench-") as tmp:
        folder = Path(tmp)
        (folder / "config.json").write_text(json.dumps(config))
        with running_server(config_file=folder / "config.json") as server:
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
            env = {k: v for k, v in os.environ.items() if not k.startswith("MMCONFORM_")}
            env["MMCONFORM_PASSWORD"] = server.admin_password
            cmd = [
                sys.executable,
                "-m",
                "mmconform",
                "run",
                "--url",
                server.url,
                "--login",
                server.admin_login,
                "--allow-config-changes",
                "--allow-license-changes",
                "--license-file",
                str(licence_path),
                "--profile",
                profile,
                "--seed",
                str(seed),
                "--workers",
                str(workers),
                "--reports",
                str(folder / "reports"),
            ]
            start = time.monotonic()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            wall = time.monotonic() - start
        results = json.loads((folder / "reports" / "latest" / "results.json").read_text())
    return {
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "verdict": results["summary"]["verdict"],
        **results["traffic"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    rows = {
        name: one_run(cfg, args.profile, args.seed, args.workers) for name, cfg in SHAPES.items()
    }
    print(f"profile {args.profile}, seed {args.seed}, {args.workers} worker(s)")
    print(f"{'shape':30} {'wall s':>7} {'requests':>9} {'429s':>6} {'waited s':>9}  verdict")
    for name, row in rows.items():
        print(
            f"{name:30} {row['wall_s']:>7} {row['requests']:>9} {row['rate_limited']:>6} "
            f"{row['rate_limit_wait_s']:>9}  {row['verdict']} (exit {row['exit']})"
        )
    return 0 if all(r["exit"] == 0 for r in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
