"""No secret reaches any file a run writes, whatever the failing test printed."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from report_support import ISOLATE, OPTIONS_CONFTEST, write_registry

from mmconform.cli import main
from mmconform.report import finalize_run
from mmconform.report.redact import scrub
from mmconform.report.signing import generate

pytest_plugins = ["pytester"]

TOKEN = "fk7h2nq9x3plainvalue8z"  # the run's own token, printed bare: only exact matching helps
BEARER = "bearerpart55aa66bb77"
PASSWORD = "Sup3rS3cret-pw"
HEADER_TOKEN = "tokhdr998877xx"
URL_PASSWORD = "urlpassword77"
LICENCE = base64.b64encode(bytes(range(256)) * 2).decode()
SECRETS = (TOKEN, BEARER, PASSWORD, HEADER_TOKEN, URL_PASSWORD, LICENCE[:40])

LEAKY_SUITE = f"""
import pytest

@pytest.mark.requirement("FILES-GET-001")
def test_leaks_in_assertion():
    sent = {{"Authorization": "Bearer {BEARER}", "Token": "{HEADER_TOKEN}"}}
    body = {{"login_id": "admin", "password": "{PASSWORD}"}}
    assert False, f"403 expected; sent {{sent}} {{body}} token was {TOKEN}"

@pytest.mark.requirement("LICENSE-UPLOAD-001")
def test_leaks_licence():
    raise AssertionError("licence upload refused: {LICENCE}")

@pytest.mark.requirement("FILES-GET-002")
def test_leaks_in_skip():
    pytest.skip("not applicable: server rejected Authorization: Bearer {BEARER}")

@pytest.mark.requirement("POSTS-INFO-001")
@pytest.mark.parametrize("header", ["Bearer {BEARER}"])
def test_leaks_in_id(header):
    assert False
"""


@pytest.mark.parametrize("token_via", ["argv", "env"])
def test_no_secret_in_any_written_file(
    pytester: pytest.Pytester,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    token_via: str,
) -> None:
    token_args = ["--mm-token", TOKEN] if token_via == "argv" else []
    if token_via == "env":
        monkeypatch.setenv("MMCONFORM_TOKEN", TOKEN)
    pytester.makeconftest(OPTIONS_CONFTEST)
    pytester.makepyfile(test_leaky=LEAKY_SUITE)
    run_dir = pytester.path / "run"
    pytester.runpytest(
        *ISOLATE,
        "--mm-registry",
        str(write_registry(pytester.path)),
        "--mm-reports",
        str(run_dir),
        "--mm-url",
        f"http://admin:{URL_PASSWORD}@127.0.0.1:8065",
        *token_args,
        "--junitxml",
        str(run_dir / "junit.xml"),
        "--alluredir",
        str(run_dir / "allure-results"),
    )
    capsys.readouterr()  # the inner run's own terminal output is pytest's, not ours
    key = pytester.path / "key"
    generate(key)
    finalize_run(run_dir, target_url=f"http://admin:{URL_PASSWORD}@127.0.0.1:8065", sign_key=key)
    assert main(["report", str(run_dir)]) == 0
    assert main(["diff", str(run_dir), str(run_dir), "--format", "markdown"]) == 0
    written = sorted(p for p in run_dir.rglob("*") if p.is_file())
    # pytest's JUnit writer and allure-pytest copy the raw traceback; the plugin scrubs both.
    names = {p.name for p in written}
    assert {"results.json", "certificate.json", "certificate.md", "junit.xml"} <= names
    assert any(name.endswith("-result.json") for name in names)
    texts = [p.read_text() for p in written] + [capsys.readouterr().out]
    for secret in SECRETS:
        for text in texts:
            assert secret not in text
    results = (run_dir / "results.json").read_text()
    assert "[REDACTED]" in results and "[REDACTED base64, " in results


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("Authorization: Bearer abc.def-123", "abc.def-123", id="auth-header"),
        pytest.param("{'authorization': 'Token xyz987'}", "xyz987", id="auth-dict"),
        pytest.param("curl -H 'Authorization: Bearer q1w2e3r4'", "q1w2e3r4", id="curl"),
        pytest.param('{"password": "two words"}', "two words", id="password-json"),
        pytest.param("password=hunter2&x=1", "hunter2", id="password-form"),
        pytest.param("Token: s3cr3t-token", "s3cr3t-token", id="token-header"),
        pytest.param("Cookie: MMAUTHTOKEN=cookie123", "cookie123", id="session-cookie"),
        pytest.param("GET /x?access_token=qq11ww22", "qq11ww22", id="query-token"),
        pytest.param("http://user:pw9876@host/", "pw9876", id="url-userinfo"),
        pytest.param("x " + "QUJD" * 51 + "==", "QUJD" * 10, id="base64-blob"),
    ],
)
def test_scrub_patterns(text: str, secret: str) -> None:
    assert secret not in scrub(text)


@pytest.mark.parametrize(
    "text",
    [
        "expected 403, got 200 for GET /api/v4/files/8x5gq3b1ztfd7pj1ua4w9ebqcy",
        "test_matrix[get_file-invalid_token-401]",
        "not applicable: guests need a licence",
    ],
)
def test_scrub_leaves_ordinary_text(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.parametrize(
    "line",
    [
        'curl -i -X GET -H "Authorization: Bearer $MM_TOKEN_UPLOADER" "http://h/api/v4/files/x"',
        'curl -i -X GET -H "Cookie: MMAUTHTOKEN=$MM_COOKIE_UPLOADER" "http://h/api/v4/files/x"',
        'curl -i "http://h/api/v4/files/x?access_token=$MM_TOKEN_UPLOADER" -o out',
        "curl -H 'X-CSRF-Token: $MM_CSRF_UPLOADER' http://h/api/v4/files",
    ],
)
def test_scrub_keeps_the_shell_variables_of_repro_lines(line: str) -> None:
    """A repro line names the variable to export, not the secret: redacting it (and, unquoted,
    the closing quote with it) left a line that could not be run."""
    assert scrub(line) == line


def test_scrub_stops_an_unquoted_secret_at_its_closing_quote() -> None:
    assert scrub('"http://h/x?access_token=qq11ww22" -o out') == (
        '"http://h/x?access_token=[REDACTED]" -o out'
    )


def test_finalize_scrubs_other_reports_in_the_run_dir(tmp_path: Path) -> None:
    """Escaped quotes (`&quot;` in XML, `\\"` in JSON) must not hide a secret from the scrubber."""
    from report_support import ALL_PASS, make_run, write_registry

    run = tmp_path / "run"
    make_run(run, write_registry(tmp_path), ALL_PASS)
    (run / "junit.xml").write_text(
        '<?xml version="1.0"?><testsuite><testcase name="t">'
        f'<failure message="{{&quot;password&quot;: &quot;{PASSWORD}&quot;}}">'
        f"Authorization: Bearer {BEARER}</failure></testcase></testsuite>"
    )
    allure = run / "allure-results"
    allure.mkdir()
    (allure / "x-result.json").write_text(
        '{"statusDetails": {"message": "{\\"password\\": \\"' + PASSWORD + '\\"}"}}'
    )
    (allure / "y-attachment.txt").write_text(f"Token: {HEADER_TOKEN}\n")
    finalize_run(run, target_url="")
    for path in (run / "junit.xml", allure / "x-result.json", allure / "y-attachment.txt"):
        text = path.read_text()
        assert "[REDACTED]" in text
        for secret in (PASSWORD, BEARER, HEADER_TOKEN):
            assert secret not in text


def test_a_secret_that_looks_like_a_variable_is_still_redacted() -> None:
    assert "$ecret99" not in scrub("password=$ecret99")
    assert "$token_abc" not in scrub('"Authorization: Bearer $token_abc"')
