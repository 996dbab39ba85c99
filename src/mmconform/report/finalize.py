"""The end of a run: results.json in, certificate.json and certificate.md out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mmconform.report.certificate import build_certificate, compute_digest, rederive
from mmconform.report.certificate_md import render
from mmconform.report.model import (
    CERTIFICATE_MD_NAME,
    CERTIFICATE_NAME,
    RESULTS_NAME,
    load_results,
    require_verdict,
    write_json,
)
from mmconform.report.redact import Scrubber
from mmconform.report.scrub_files import scrub_run_dir
from mmconform.report.summary import RunSummary, summarize


def finalize_run(run_dir: Path, *, target_url: str, sign_key: Path | None = None) -> RunSummary:
    """Write the certificate for the run in `run_dir`, signed when `sign_key` is given.

    Also scrubs the other reports in `run_dir` (JUnit XML, allure results) of credentials.

    Raises `UsageError` when results.json is missing or malformed or the key is unusable.
    """
    results_file = run_dir / RESULTS_NAME
    results = require_verdict(load_results(results_file), results_file)
    scrub_run_dir(run_dir)
    results_bytes = results_file.read_bytes()
    private_key = None
    if sign_key is not None:
        from mmconform.report.signing import load_private_key

        private_key = load_private_key(sign_key)
    certificate = Scrubber().tree(build_certificate(results, results_bytes, target_url))
    # Scrubbing could only change text that should never have been there; the digest must cover
    # exactly what is written, so it is taken again afterwards.
    certificate["digest"] = compute_digest(certificate)
    signed_by = None
    if private_key is not None:
        from mmconform.report.signing import sign_digest

        certificate["signature"] = sign_digest(private_key, certificate["digest"])
        signed_by = certificate["signature"]["public_key_fingerprint"]
    cert_path = run_dir / CERTIFICATE_NAME
    write_json(cert_path, certificate)
    (run_dir / CERTIFICATE_MD_NAME).write_text(render(certificate), encoding="utf-8")
    summary = summarize(
        rederive(results), results["tests"], results.get("selection"), results.get("strict")
    )
    return dataclasses.replace(
        summary,
        certificate=cert_path,
        digest=certificate["digest"],
        signed_by=signed_by,
        traffic=results.get("traffic") or None,
    )
