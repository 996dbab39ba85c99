"""Build and start the Go oracle (tests/oracle/*.go) for the differential tests.

The oracle is built against Debian's `golang-go` and `golang-github-gorilla-mux-dev` (the
libraries upstream Mattermost runs on), offline: GOPATH mode over /usr/share/gocode, no module
download. Without `go` or the gorilla sources the tests skip with the reason; `.ci/run`
installs both, so CI always runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOCODE = Path("/usr/share/gocode")
GORILLA = GOCODE / "src/github.com/gorilla/mux"
# GOPATH mode gives a newer Go the GODEBUG defaults of go1.20; production servers are module
# builds with a current go directive. These restore those defaults where they matter to us
# (ServeContent errors drop Cache-Control/Last-Modified since 1.23; up to 200 ranges since 1.26).
# Go 1.19 ignores unknown keys.
PRODUCTION_GODEBUG = "httpservecontentkeepheaders=0,httpservecontentmaxranges=200"


def missing_reason() -> str | None:
    """Why the oracle cannot be built here, or None when it can."""
    if shutil.which("go") is None:
        return "go is not installed (apt-get install golang-go golang-github-gorilla-mux-dev)"
    if not GORILLA.is_dir():
        return f"no gorilla/mux at {GORILLA} (apt-get install golang-github-gorilla-mux-dev)"
    return None


def build(out_dir: Path) -> Path:
    """Compile the oracle into out_dir and return the binary's path."""
    binary = out_dir / "oracle"
    gopath = out_dir / "gopath"
    src = gopath / "src" / "oracle"
    src.mkdir(parents=True)
    for go_file in HERE.glob("*.go"):
        shutil.copy(go_file, src / go_file.name)
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": f"{gopath}:{GOCODE}",
        "GOCACHE": str(out_dir / "gocache"),
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
    }
    subprocess.run(
        ["go", "build", "-o", str(binary), "."],
        cwd=src,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return binary


@contextmanager
def running_oracle() -> Iterator[str]:
    """Build the oracle, start it on a free loopback port, yield its base URL, stop it."""
    with tempfile.TemporaryDirectory(prefix="mmconform-oracle-") as tmp:
        binary = build(Path(tmp))
        proc = subprocess.Popen(
            [str(binary), "-addr", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "GODEBUG": PRODUCTION_GODEBUG},
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if not line.startswith("LISTENING "):
                raise RuntimeError(f"oracle did not start: {line!r}")
            yield "http://" + line.split(" ", 1)[1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
