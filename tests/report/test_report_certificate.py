"""finalize_run, the certificate digest and signature, and `mmconform verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from report_support import ALL_PASS, NA_REASON, make_run, write_registry

from mmconform.cli import main
from mmconform.report import RunSummary, finalize_run
from mmconform.report.certificate import compute_digest
from mmconform.report.signing import generate
from mmconform.report.verify import verify_certificate


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return write_registry(tmp_path)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private = tmp_path / "keys" / "issuer"
    public, _ = generate(private)
    return private, public


def _cert(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "certificate.json").read_text())
    return data


def _edit(run_dir: Path, change: Any) -> None:
    cert = _cert(run_dir)
    change(cert)
    (run_dir / "certificate.json").write_text(json.dumps(cert, indent=2))


def test_conformant_run(tmp_path: Path, registry: Path) -> None:
    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS, version="9.4.0", reasons=NA_REASON)
    summary = finalize_run(run, target_url="http://u:pw@127.0.0.1:8065")
    assert isinstance(summary, RunSummary)
    assert (summary.passed, summary.failed, summary.not_applicable, summary.untested) == (
        4,
        0,
        1,
        0,
    )
    assert summary.conformant
    assert "Verdict: CONFORMANT" in summary.lines()
    cert = _cert(run)
    assert cert["verdict"] == "CONFORMANT"
    assert cert["target"] == {"url": "http://127.0.0.1:8065", "version": "9.4.0"}
    assert cert["not_applicable"] == [
        {
            "id": "LICENSE-UPLOAD-001",
            "level": "MUST",
            "reasons": ["not applicable: guests need a licence"],
        }
    ]
    assert set(cert["digests"]) == {"specs", "permissions", "registry", "results"}
    md = (run / "certificate.md").read_text()
    assert "**Verdict: CONFORMANT**" in md and "LICENSE-UPLOAD-001" in md


@pytest.mark.parametrize(
    ("outcomes", "blocker"),
    [
        pytest.param(
            {**ALL_PASS, "t.py::test_read": ("failed", ["FILES-GET-001"])},
            "MUST FILES-GET-001 failed",
            id="failed-must",
        ),
        pytest.param(
            {k: v for k, v in ALL_PASS.items() if k != "t.py::test_refuse"},
            "MUST FILES-GET-002 untested",
            id="untested-must",
        ),
        pytest.param(
            {**ALL_PASS, "t.py::test_public": ("passed", ["PUBLIC-LINK-001"])},
            None,
            id="na-by-version-is-not-a-failure",
        ),
    ],
)
def test_overall_verdict(
    tmp_path: Path, registry: Path, outcomes: Any, blocker: str | None
) -> None:
    run = tmp_path / "run"
    make_run(run, registry, outcomes, version="10.11.0", reasons=NA_REASON)
    summary = finalize_run(run, target_url="http://127.0.0.1:8065")
    assert summary.conformant is (blocker is None)
    if blocker:
        assert blocker in _cert(run)["blockers"]
    else:
        assert _cert(run)["requirements"]["PUBLIC-LINK-001"]["verdict"] == "not_applicable"


def test_should_failure_does_not_block(tmp_path: Path, registry: Path) -> None:
    run = tmp_path / "run"
    outcomes = {**ALL_PASS, "t.py::test_infos": ("failed", ["POSTS-INFO-001"])}
    make_run(run, registry, outcomes, version="9.4.0")
    assert finalize_run(run, target_url="").conformant


def test_digest_is_canonical_and_stable(tmp_path: Path, registry: Path) -> None:
    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS, version="9.4.0")
    finalize_run(run, target_url="http://127.0.0.1:8065")
    cert = _cert(run)
    reordered = dict(reversed(list(cert.items())))
    assert compute_digest(reordered) == compute_digest(cert) == cert["digest"]
    cert["seed"] = 43
    assert compute_digest(cert) != cert["digest"]


def test_certificate_is_reproducible(
    tmp_path: Path, registry: Path, keys: tuple[Path, Path]
) -> None:
    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS, version="9.4.0")
    first = finalize_run(run, target_url="http://127.0.0.1:8065", sign_key=keys[0])
    before = (run / "certificate.json").read_bytes()
    second = finalize_run(run, target_url="http://127.0.0.1:8065", sign_key=keys[0])
    assert first.digest == second.digest
    assert (run / "certificate.json").read_bytes() == before


def test_verify_accepts_untouched_signed_certificate(
    tmp_path: Path, registry: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS, version="9.4.0")
    summary = finalize_run(run, target_url="http://127.0.0.1:8065", sign_key=keys[0])
    assert summary.signed_by and summary.signed_by.startswith("sha256:")
    cert = str(run / "certificate.json")
    assert main(["verify", cert, "--public-key", str(keys[1])]) == 0
    assert "signature valid, made by the trusted key" in capsys.readouterr().out
    assert main(["verify", cert]) == 0
    assert "signature present but not checked against a trusted key" in capsys.readouterr().out


def test_verify_rejects_hand_edit(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    outcomes = {**ALL_PASS, "t.py::test_read": ("failed", ["FILES-GET-001"])}
    make_run(run, registry, outcomes, version="9.4.0")
    finalize_run(run, target_url="http://127.0.0.1:8065")

    def promote(cert: dict[str, Any]) -> None:
        cert["verdict"] = "CONFORMANT"
        cert["requirements"]["FILES-GET-001"]["verdict"] = "passed"

    _edit(run, promote)
    assert main(["verify", str(run / "certificate.json")]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH digest:" in out
    assert "MISMATCH FILES-GET-001: certificate says passed, results.json gives failed" in out
    assert "MISMATCH verdict: certificate says CONFORMANT, evidence gives NOT CONFORMANT" in out


def test_verify_rejects_edit_with_recomputed_digest(tmp_path: Path, registry: Path) -> None:
    """A forger who also fixes the digest is still caught by re-deriving the verdicts."""
    run = tmp_path / "run"
    outcomes = {**ALL_PASS, "t.py::test_read": ("failed", ["FILES-GET-001"])}
    make_run(run, registry, outcomes, version="9.4.0")
    finalize_run(run, target_url="")

    def forge(cert: dict[str, Any]) -> None:
        cert["requirements"]["FILES-GET-001"]["verdict"] = "passed"
        cert["verdict"], cert["blockers"] = "CONFORMANT", []
        cert["digest"] = compute_digest(cert)

    _edit(run, forge)
    outcome = verify_certificate(run / "certificate.json")
    assert not outcome.ok
    assert not any(m.startswith("digest") for m in outcome.mismatches)
    assert any(m.startswith("FILES-GET-001") for m in outcome.mismatches)


def test_verify_rejects_edited_results(tmp_path: Path, registry: Path) -> None:
    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS, version="9.4.0")
    finalize_run(run, target_url="")
    results = json.loads((run / "results.json").read_text())
    (read,) = [t for t in results["tests"] if t["nodeid"] == "t.py::test_read"]
    read["outcome"] = "failed"
    (run / "results.json").write_text(json.dumps(results))
    mismatches = verify_certificate(run / "certificate.json").mismatches
    assert any("is not the results.json this certificate binds" in m for m in mismatches)
    assert "FILES-GET-001: results.json states passed, its tests give failed" in mismatches
    assert "FILES-GET-001: certificate says passed, results.json gives failed" in mismatches


def test_verify_rejects_bad_signature(
    tmp_path: Path, registry: Path, keys: tuple[Path, Path]
) -> None:
    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS, version="9.4.0")
    finalize_run(run, target_url="", sign_key=keys[0])

    def tamper(cert: dict[str, Any]) -> None:
        value = cert["signature"]["value"]
        cert["signature"]["value"] = ("B" if value[0] == "A" else "A") + value[1:]

    _edit(run, tamper)
    cert = str(run / "certificate.json")
    assert main(["verify", cert, "--public-key", str(keys[1])]) == 1
    assert main(["verify", cert]) == 1


def test_verify_rejects_other_signer(
    tmp_path: Path, registry: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS, version="9.4.0")
    finalize_run(run, target_url="", sign_key=keys[0])
    other_public, _ = generate(tmp_path / "keys" / "other")
    assert main(["verify", str(run / "certificate.json"), "--public-key", str(other_public)]) == 1
    assert "not by the trusted key" in capsys.readouterr().out


def test_verify_unsigned_with_key_is_a_mismatch(
    tmp_path: Path, registry: Path, keys: tuple[Path, Path]
) -> None:
    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS, version="9.4.0")
    finalize_run(run, target_url="")
    assert main(["verify", str(run / "certificate.json"), "--public-key", str(keys[1])]) == 1


@pytest.mark.parametrize("what", ["missing", "not-json", "not-a-certificate", "bad-key"])
def test_verify_bad_input_exits_2(
    tmp_path: Path, registry: Path, what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS, version="9.4.0")
    finalize_run(run, target_url="")
    cert = run / "certificate.json"
    args = ["verify", str(cert)]
    if what == "missing":
        args = ["verify", str(tmp_path / "nope.json")]
    elif what == "not-json":
        cert.write_text("{")
    elif what == "not-a-certificate":
        cert.write_text("{}")
    else:
        (tmp_path / "key.pub").write_text("not a key")
        args += ["--public-key", str(tmp_path / "key.pub")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("mmconform: error: ") and err.count("\n") == 1


def test_finalize_with_unusable_key_is_usage_error(tmp_path: Path, registry: Path) -> None:
    from mmconform.errors import UsageError

    run = tmp_path / "run"
    make_run(run, registry, ALL_PASS)
    (tmp_path / "key").write_text("-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n")
    with pytest.raises(UsageError, match="not a PEM private key"):
        finalize_run(run, target_url="", sign_key=tmp_path / "key")


def test_a_suite_error_blocks_the_certificate_and_verifies(tmp_path: Path, registry: Path) -> None:
    """A failure naming none of its two requirements charges neither; the run is not
    conformant because of it, and verify agrees with the certificate."""
    run = tmp_path / "run"
    outcomes = {**ALL_PASS, "t.py::test_two": ("failed", ["FILES-GET-001", "FILES-GET-002"])}
    make_run(run, registry, outcomes, version="9.4.0", reasons=NA_REASON)
    summary = finalize_run(run, target_url="")
    assert summary.suite_errors == ("t.py::test_two",) and not summary.conformant
    assert summary.failed == 0  # nothing charged
    cert = _cert(run)
    assert cert["verdict"] == "NOT CONFORMANT" and cert["suite_errors"] == ["t.py::test_two"]
    assert cert["blockers"][0].startswith("suite error: t.py::test_two failed naming none")
    outcome = verify_certificate(run / "certificate.json")
    assert outcome.ok, outcome.mismatches


def test_mmconform_run_exits_4_on_a_suite_error(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mmconform.commands.run import _verdict
    from mmconform.errors import EXIT_SUITE_ERROR

    run = tmp_path / "run"
    outcomes = {**ALL_PASS, "t.py::test_two": ("failed", ["FILES-GET-001", "FILES-GET-002"])}
    make_run(run, registry, outcomes, version="9.4.0", reasons=NA_REASON)
    assert _verdict(run, "", 1, None) == EXIT_SUITE_ERROR == 4
    assert "Suite errors: 1 failure(s) name none of their requirements" in capsys.readouterr().out
