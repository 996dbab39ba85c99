"""The CI recipes in examples/ci: no Docker here, so they are checked for structure.

The YAML parses; the services are a pinned Mattermost image and a pinned PostgreSQL that it is
wired to; the mmconform command lines parse with the real CLI parser; reports are kept even when
the job fails; no secret is written into the file. The bootstrap script runs for real against
the embedded reference server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from docs_support import CI_EXAMPLES, ROOT, check_argv, mmconform_argvs

from mmconform.reference.server import RunningServer, running_server

GITHUB = CI_EXAMPLES / "github-actions.yml"
GITLAB = CI_EXAMPLES / "gitlab-ci.yml"
BOOTSTRAP = CI_EXAMPLES / "mattermost_bootstrap.py"
MATTERMOST_IMAGE = re.compile(
    r"^mattermost/mattermost-(enterprise|team)-edition:(\d+)\.(\d+)\.(\d+)$"
)
POSTGRES_IMAGE = re.compile(r"^postgres:\d+(\.\d+)?(-[a-z0-9]+)?$")
ACTION_REF = re.compile(r"^[\w.-]+/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
# Settings the suite changes through the API; fixing them by environment would block that.
SUITE_OWNED = ("MM_FILESETTINGS_", "MM_COMPLIANCESETTINGS_", "MM_EXPERIMENTALSETTINGS_")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a YAML mapping"
    return data


def image_problem(image: str, pattern: re.Pattern[str]) -> str | None:
    """None for a pinned image of the expected kind; else what is wrong with it."""
    if ":" not in image.rsplit("/", 1)[-1]:
        return f"{image}: no tag; pin one"
    if image.endswith(":latest"):
        return f"{image}: 'latest' is not a pin"
    if not pattern.match(image):
        return f"{image}: not a pinned image of the expected kind"
    return None


def mattermost_version(image: str) -> tuple[int, int, int]:
    match = MATTERMOST_IMAGE.match(image)
    assert match, image
    return int(match.group(2)), int(match.group(3)), int(match.group(4))


def run_commands(scripts: list[str]) -> list[list[str]]:
    return [argv for script in scripts for argv in mmconform_argvs(script)]


def check_gate_command(argvs: list[list[str]]) -> list[str]:
    """Problems with the gate's `mmconform run` lines: they must parse and be deterministic."""
    problems = [p for argv in argvs if (p := check_argv(argv)) is not None]
    runs = [argv for argv in argvs if argv[:1] == ["run"]]
    if len(runs) != 1:
        problems.append(f"expected one 'mmconform run', found {len(runs)}")
    for argv in runs:
        text = " ".join(argv)
        if "--profile ci" not in text:
            problems.append(f"{text}: not the ci profile")
        if not re.search(r"--seed \d+", text):
            problems.append(f"{text}: no fixed --seed")
        if any(secret in text for secret in ("--password", "--token")):
            problems.append(f"{text}: secrets belong in the environment")
    return problems


def postgres_url_problem(url: str, host: str, pg_env: dict[str, str]) -> str | None:
    expected = (
        f"postgres://{pg_env['POSTGRES_USER']}:{pg_env['POSTGRES_PASSWORD']}@{host}:5432/"
        f"{pg_env['POSTGRES_DB']}?"
    )
    return None if url.startswith(expected) else f"{url}: does not match the postgres service"


# --- GitHub Actions -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def github() -> dict[str, Any]:
    return load(GITHUB)


def github_job(workflow: dict[str, Any]) -> dict[str, Any]:
    job = workflow["jobs"]["conformance"]
    assert isinstance(job, dict)
    return job


def test_github_triggers_and_timeout(github: dict[str, Any]) -> None:
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    triggers = github["on"] if "on" in github else github[True]  # type: ignore[index]
    assert {"pull_request", "push"} <= set(triggers)
    assert github_job(github)["timeout-minutes"] <= 60


def test_github_services_are_pinned_and_wired(github: dict[str, Any]) -> None:
    services = github_job(github)["services"]
    postgres, mattermost = services["postgres"], services["mattermost"]
    assert image_problem(postgres["image"], POSTGRES_IMAGE) is None
    assert image_problem(mattermost["image"], MATTERMOST_IMAGE) is None
    assert mattermost_version(mattermost["image"]) >= (10, 0, 0)
    assert "pg_isready" in postgres["options"]
    env = mattermost["env"]
    assert env["MM_SQLSETTINGS_DRIVERNAME"] == "postgres"
    url = env["MM_SQLSETTINGS_DATASOURCE"]
    assert postgres_url_problem(url, "postgres", postgres["env"]) is None
    assert "8065:8065" in mattermost["ports"]
    assert github_job(github)["env"]["MMCONFORM_URL"] == "http://localhost:8065"
    assert not [k for k in env if k.startswith(SUITE_OWNED)]


def test_github_steps(github: dict[str, Any]) -> None:
    steps = github_job(github)["steps"]
    for step in steps:
        if "uses" in step:
            assert ACTION_REF.match(step["uses"]), f"unpinned action {step['uses']}"
    runs = [str(step.get("run", "")) for step in steps]
    bootstrap = next(i for i, r in enumerate(runs) if "mattermost_bootstrap.py" in r)
    suite = next(i for i, r in enumerate(runs) if "mmconform run" in r)
    password = next(i for i, r in enumerate(runs) if "MMCONFORM_PASSWORD=" in r)
    assert password < bootstrap < suite
    assert "::add-mask::" in runs[password]
    assert (ROOT / runs[bootstrap].split()[-1]).is_file()
    assert check_gate_command(run_commands(runs)) == []
    assert not steps[suite].get("continue-on-error"), "a red run must fail the job"
    after = steps[suite + 1 :]
    upload = next(s for s in after if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    junit = next(s for s in after if "junit" in str(s.get("uses", "")))
    # the reports once: reports/latest is a symlink to the run folder
    assert upload["if"] == "always()"
    assert upload["with"]["path"].split() == ["reports/", "!reports/latest"]
    assert junit["with"]["report_paths"] == "reports/[0-9]*/junit.xml"
    # a fork's pull request has a read-only token: publishing is skipped there and can never
    # fail a conformant job
    assert junit["if"].startswith("always() && (github.event_name != 'pull_request' || ")
    assert "github.event.pull_request.head.repo.full_name == github.repository" in junit["if"]
    assert junit["continue-on-error"] is True


def _version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    assert match
    return match.group(1)


def install_problems(lines: list[str], env: dict[str, Any]) -> list[str]:
    """mmconform is on no package index: installed from git at the release tag, or failing in
    one line when the source is not set."""
    text = "\n".join(lines)
    problems = []
    if re.search(r"mmconform\s*==", text) or "MMCONFORM_PIP" in text:
        problems.append("installs mmconform from a package index it is not on")
    if 'pip install "mmconform @ git+${MMCONFORM_GIT}@${MMCONFORM_REF}"' not in text:
        problems.append("does not install from MMCONFORM_GIT at MMCONFORM_REF")
    if env.get("MMCONFORM_REF") != f"v{_version()}":
        problems.append(f"MMCONFORM_REF {env.get('MMCONFORM_REF')!r} is not v{_version()}")
    if "MMCONFORM_GIT" not in text.split("pip install", 1)[0]:
        problems.append("no one-line failure when MMCONFORM_GIT is not set")
    return problems


def test_github_installs_from_a_git_tag_and_waits_for_the_server(github: dict[str, Any]) -> None:
    job = github_job(github)
    runs = [str(step.get("run", "")) for step in job["steps"]]
    install = [r for r in runs if "pip install" in r]
    assert install_problems(install, job["env"]) == []
    assert job["env"]["MMCONFORM_GIT"] == "${{ vars.MMCONFORM_GIT }}"
    options = job["services"]["mattermost"]["options"]
    # server/build/Dockerfile: HEALTHCHECK --interval=30s --timeout=10s, no start period
    assert "--health-start-period" in options and "/api/v4/system/ping" in options


# --- GitLab CI ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gitlab() -> dict[str, Any]:
    return load(GITLAB)


def test_gitlab_services_are_pinned_and_wired(gitlab: dict[str, Any]) -> None:
    job = gitlab["mattermost-conformance"]
    services = {s["alias"]: s["name"] for s in job["services"]}
    assert image_problem(services["postgres"], POSTGRES_IMAGE) is None
    assert image_problem(services["mattermost"], MATTERMOST_IMAGE) is None
    assert mattermost_version(services["mattermost"]) >= (10, 0, 0)
    variables = job["variables"]
    assert variables["FF_NETWORK_PER_BUILD"] == "true"
    assert variables["MM_SQLSETTINGS_DRIVERNAME"] == "postgres"
    url = variables["MM_SQLSETTINGS_DATASOURCE"]
    assert postgres_url_problem(url, "postgres", variables) is None
    assert variables["MMCONFORM_URL"] == "http://mattermost:8065"
    assert not [k for k in variables if k.startswith(SUITE_OWNED)]
    assert "MMCONFORM_PASSWORD" not in variables and "MMCONFORM_TOKEN" not in variables


def test_gitlab_script_and_artifacts(gitlab: dict[str, Any]) -> None:
    job = gitlab["mattermost-conformance"]
    assert job["stage"] in gitlab["stages"]
    script = [str(line) for line in job["script"]]
    assert check_gate_command(run_commands(script)) == []
    bootstrap = next(line for line in script if "mattermost_bootstrap.py" in line)
    assert (ROOT / bootstrap.split()[-1]).is_file()
    assert job.get("allow_failure") is not True, "a red run must fail the job"
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert "reports/" in artifacts["paths"] and artifacts["exclude"] == ["reports/latest"]
    assert install_problems(script, job["variables"]) == []
    assert any("install" in line and " git" in line for line in job["before_script"])
    ports = {
        s["alias"]: (s.get("variables") or {}).get("HEALTHCHECK_TCP_PORT") for s in job["services"]
    }
    # the image EXPOSEs 8065 8067 8074 8075 (server/build/Dockerfile); only 8065 answers
    assert ports == {"postgres": "5432", "mattermost": "8065"}
    assert artifacts["reports"]["junit"] == "reports/[0-9]*/junit.xml"


def test_recipes_gate_on_the_same_server() -> None:
    hub = github_job(load(GITHUB))["services"]["mattermost"]["image"]
    lab = {s["alias"]: s["name"] for s in load(GITLAB)["mattermost-conformance"]["services"]}
    assert hub == lab["mattermost"]


# --- the checks above catch what they claim to ------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        "mattermost/mattermost-enterprise-edition",
        "mattermost/mattermost-enterprise-edition:latest",
        "mattermost/mattermost-enterprise-edition:11",
        "mattermost/mattermost-preview:11.5.1",
    ],
)
def test_unpinned_or_wrong_images_are_caught(image: str) -> None:
    assert image_problem(image, MATTERMOST_IMAGE) is not None


def test_bad_gate_commands_are_caught() -> None:
    bad = [
        "mmconform run --profile ci --seed 1 --no-such-flag",
        "mmconform run --profile nightly --seed 1",
        "mmconform run --profile quick",
        'mmconform run --profile ci --seed 1 --password "$PW"',
    ]
    for script in bad:
        assert check_gate_command(run_commands([script])), script


def test_mismatched_database_url_is_caught() -> None:
    env = {"POSTGRES_USER": "mmuser", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "mattermost"}
    assert postgres_url_problem("postgres://mmuser:pw@postgres:5432/other?x=1", "postgres", env)
    assert postgres_url_problem("postgres://mmuser:pw@localhost:5432/mattermost?", "postgres", env)


# --- the bootstrap script, for real -------------------------------------------------------------

LOGIN, PASSWORD = "ciadmin", "Mm1-not-a-real-secret"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server(admin_login=LOGIN, admin_password=PASSWORD) as srv:
        yield srv


def bootstrap(url: str, password: str, wait: str = "20") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMCONFORM_")}
    env |= {
        "MMCONFORM_URL": url,
        "MMCONFORM_LOGIN": LOGIN,
        "MMCONFORM_PASSWORD": password,
        "MM_WAIT_SECONDS": wait,
    }
    return subprocess.run(
        [sys.executable, str(BOOTSTRAP)], env=env, capture_output=True, text=True, timeout=120
    )


def test_bootstrap_accepts_an_existing_admin(server: RunningServer) -> None:
    done = bootstrap(server.url, PASSWORD)
    assert done.returncode == 0, done.stderr
    assert f"is up and '{LOGIN}' is a system admin" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr


def test_bootstrap_refuses_a_wrong_password(server: RunningServer) -> None:
    done = bootstrap(server.url, "Mm1-wrong-password")
    assert done.returncode == 1
    assert done.stderr.strip() == f"bootstrap: login as '{LOGIN}' failed (401); check the password"


def test_bootstrap_gives_up_on_a_silent_server(unused_port: int) -> None:
    done = bootstrap(f"http://127.0.0.1:{unused_port}", PASSWORD, wait="0")
    assert done.returncode == 1
    assert "did not answer 200 in 0s" in done.stderr


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
