"""Checking a certificate: its digest, its signature, and its verdicts against the evidence.

Every problem found is reported (not just the first), so a reviewer sees the full extent of an
edit. Notes are facts that are not failures, such as a signature that was not checked against a
trusted key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmconform.errors import UsageError
from mmconform.report.certificate import KIND, compute_digest, rederive
from mmconform.report.model import (
    NOT_CONFORMANT,
    RESULTS_NAME,
    SCHEMA,
    is_partial,
    load_results,
    read_json,
    require_verdict,
)
from mmconform.report.shard import merged_problems
from mmconform.report.verdicts import overall_verdict

# Run facts the certificate copies from results.json; they must agree.
_COPIED = ("suite", "profile", "seed", "started_at", "finished_at")


@dataclass
class Verification:
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def load_certificate(path: Path) -> dict[str, Any]:
    fix = "pass the certificate.json an mmconform run wrote"
    data = read_json(path, "certificate", fix)
    if not isinstance(data, dict) or data.get("kind") != KIND or "digest" not in data:
        raise UsageError(f"{path}: not an mmconform certificate; {fix}")
    if data.get("schema") != SCHEMA:
        raise UsageError(
            f"{path}: certificate schema {data.get('schema')!r} is not supported "
            f"(expected {SCHEMA}); use the mmconform version that issued it"
        )
    return data


def _check_signature(cert: dict[str, Any], trusted_key: Path | None, out: Verification) -> None:
    from mmconform.report import signing

    block = cert.get("signature")
    trusted = signing.load_public_key(trusted_key) if trusted_key is not None else None
    if block is None:
        if trusted is not None:
            out.mismatches.append("signature: the certificate is not signed, but a key was given")
        else:
            out.notes.append("certificate is not signed")
        return
    if not isinstance(block, dict):
        out.mismatches.append("signature: malformed signature block")
        return
    try:
        embedded = signing.embedded_public_key(block)
    except ValueError as exc:
        out.mismatches.append(f"signature: {exc}")
        return
    if signing.fingerprint(embedded) != block.get("public_key_fingerprint"):
        out.mismatches.append("signature: key fingerprint does not match the embedded key")
    if not signing.signature_valid(embedded, block, str(cert.get("digest"))):
        out.mismatches.append("signature: does not match the certificate digest (bad signature)")
        return
    if trusted is None:
        out.notes.append(
            "signature present but not checked against a trusted key "
            f"(signed by {signing.fingerprint(embedded)}; pass --public-key to trust it)"
        )
    elif signing.fingerprint(trusted) != signing.fingerprint(embedded):
        out.mismatches.append(
            f"signature: made by {signing.fingerprint(embedded)}, "
            f"not by the trusted key {signing.fingerprint(trusted)}"
        )
    else:
        out.notes.append(f"signature valid, made by the trusted key {signing.fingerprint(trusted)}")


def _check_verdicts(cert: dict[str, Any], results: dict[str, Any], out: Verification) -> None:
    derived = rederive(results)
    stated = cert.get("requirements") or {}
    for req_id in sorted(set(derived) | set(stated)):
        want = derived.get(req_id, {}).get("verdict", "absent")
        have = (stated.get(req_id) or {}).get("verdict", "absent")
        if want != have:
            out.mismatches.append(f"{req_id}: certificate says {have}, results.json gives {want}")
        recorded = (results["requirements"].get(req_id) or {}).get("verdict", "absent")
        if recorded != want:
            out.mismatches.append(
                f"{req_id}: results.json states {recorded}, its tests give {want}"
            )
    partial = is_partial(results)
    if is_partial(cert) != partial:
        out.mismatches.append(
            f"selection: certificate says {'PARTIAL' if is_partial(cert) else 'whole suite'}, "
            f"results.json {'PARTIAL' if partial else 'whole suite'}"
        )
    elif (cert.get("selection") or {"partial": False}) != (
        results.get("selection") or {"partial": False}
    ):
        out.mismatches.append("selection: certificate and results.json select differently")
    strict = results.get("strict")
    if (cert.get("strict") or {"on": False}) != (strict or {"on": False}):
        out.mismatches.append("strict: certificate and results.json state different policies")
    overall, _ = overall_verdict(derived, results["tests"], partial=partial, strict=strict)
    out.mismatches.extend(merged_problems(results))
    for key in ("shard", "merged"):
        if cert.get(key) != results.get(key):
            out.mismatches.append(f"{key}: certificate and results.json disagree")
    if cert.get("verdict") != overall:
        out.mismatches.append(
            f"verdict: certificate says {cert.get('verdict')}, evidence gives {overall}"
        )
    # The certificate keeps N/A reasons in its not_applicable list, not per requirement.
    na_reasons = {
        str(e.get("id")): list(e.get("reasons") or [])
        for e in cert.get("not_applicable") or []
        if isinstance(e, dict)
    }
    stated_full = {
        k: {**v, "reasons": na_reasons.get(k, [])} for k, v in stated.items() if isinstance(v, dict)
    }
    own, _ = (
        overall_verdict(stated_full, partial=partial, strict=cert.get("strict"))
        if stated
        else ("absent", [])
    )
    if cert.get("suite_errors") and not partial:  # unattributed failures block on their own
        own = NOT_CONFORMANT
    if stated and cert.get("verdict") != own:
        out.mismatches.append(
            f"verdict: {cert.get('verdict')} contradicts the certificate's own verdicts"
        )
    for key in _COPIED:
        if cert.get(key) != results.get(key):
            out.mismatches.append(
                f"{key}: certificate says {cert.get(key)!r}, results.json {results.get(key)!r}"
            )
    cert_version = (cert.get("target") or {}).get("version")
    results_version = (results.get("target") or {}).get("version")
    if cert_version != results_version:
        out.mismatches.append(
            f"target version: certificate {cert_version!r}, results.json {results_version!r}"
        )


def verify_certificate(
    cert_path: Path, *, public_key: Path | None = None, results_path: Path | None = None
) -> Verification:
    out = Verification()
    cert = load_certificate(cert_path)
    actual = compute_digest(cert)
    if actual != cert.get("digest"):
        out.mismatches.append(
            f"digest: certificate states {cert.get('digest')}, its content hashes to {actual} "
            "(edited after it was issued)"
        )
    _check_signature(cert, public_key, out)
    results_file = results_path or cert_path.parent / RESULTS_NAME
    results = require_verdict(load_results(results_file), results_file)
    results_sha = hashlib.sha256(results_file.read_bytes()).hexdigest()
    bound = (cert.get("digests") or {}).get("results")
    if bound != results_sha:
        out.mismatches.append(
            f"results: {results_file} is not the results.json this certificate binds"
        )
    _check_verdicts(cert, results, out)
    _note_local_specs(cert, out)
    return out


def _note_local_specs(cert: dict[str, Any], out: Verification) -> None:
    from mmconform.spec.digest import specs_digest

    try:
        local = specs_digest()
    except OSError:
        return
    same = local == (cert.get("digests") or {}).get("specs")
    out.notes.append(
        "specs digest matches this mmconform installation"
        if same
        else "specs digest differs from this mmconform installation (another suite version)"
    )
