"""The certificate: what was judged, by which suite and data, with which verdicts, and a digest.

The digest is sha256 over the canonical JSON (sorted keys, no whitespace) of every field except
`digest` and `signature`, so any hand edit is detectable, and a signature over the digest binds
the whole certificate to a key. The certificate also binds the sha256 of the results.json it was
derived from, so the evidence cannot be swapped either. It holds no issue time: the same
results.json and suite give the same certificate byte for byte (Ed25519 signatures are
deterministic too), so anyone holding the evidence can reproduce it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mmconform.report.model import NOT_APPLICABLE, SCHEMA, canonical_json, is_partial
from mmconform.report.provenance import clean_url
from mmconform.report.shard import slice_blockers
from mmconform.report.verdicts import (
    count_verdicts,
    derive_requirements,
    metas_from_results,
    overall_verdict,
    unattributed,
)

KIND = "mmconform conformance certificate"
UNSIGNED_FIELDS = ("digest", "signature")


def compute_digest(certificate: dict[str, Any]) -> str:
    body = {k: v for k, v in certificate.items() if k not in UNSIGNED_FIELDS}
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


def suite_digests(registry_sha256: str | None, results_bytes: bytes) -> dict[str, str | None]:
    """Hashes of the data that decided the verdicts, as installed where the run happened."""
    from mmconform.resources import conformance_dir
    from mmconform.spec.digest import specs_digest, tree_digest

    def safe(compute: Any) -> str | None:
        try:
            return str(compute())
        except OSError:
            return None

    permissions = conformance_dir() / "permissions"
    return {
        "specs": safe(specs_digest),
        "permissions": safe(lambda: tree_digest(permissions)) if permissions.is_dir() else None,
        "registry": registry_sha256,
        "results": hashlib.sha256(results_bytes).hexdigest(),
    }


def rederive(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Requirement verdicts recomputed from the tests in results.json, never copied from it."""
    return derive_requirements(
        metas_from_results(results["requirements"]),
        results["tests"],
        (results.get("target") or {}).get("version"),
        partial=is_partial(results),
    )


def build_certificate(
    results: dict[str, Any], results_bytes: bytes, target_url: str | None
) -> dict[str, Any]:
    requirements = rederive(results)
    verdict, blockers = overall_verdict(
        requirements, results["tests"], partial=is_partial(results), strict=results.get("strict")
    )
    blockers = blockers + slice_blockers(results)  # a slice is PARTIAL (report/shard.py)
    target = results.get("target") or {}
    certificate: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": KIND,
        "suite": results.get("suite"),
        "digests": suite_digests((results.get("registry") or {}).get("sha256"), results_bytes),
        "target": {
            "url": clean_url(target_url) or target.get("url"),
            "version": target.get("version"),
        },
        "profile": results.get("profile"),
        "seed": results.get("seed"),
        # A PARTIAL certificate says what was selected; the verdict covers nothing else.
        "selection": results.get("selection") or {"partial": False},
        # A strict certificate was judged by these accepted N/A reasons and declarations.
        "strict": results.get("strict") or {"on": False},
        "started_at": results.get("started_at"),
        "finished_at": results.get("finished_at"),
        "requirements": {
            req_id: {"verdict": e["verdict"], "level": e["level"], "title": e["title"]}
            for req_id, e in requirements.items()
        },
        "not_applicable": [
            {"id": req_id, "level": e["level"], "reasons": e["reasons"]}
            for req_id, e in requirements.items()
            if e["verdict"] == NOT_APPLICABLE
        ],
        "counts": count_verdicts(requirements),
        "verdict": verdict,
        "blockers": blockers,
        "suite_errors": [e["nodeid"] for e in unattributed(results["tests"], requirements)],
    }
    for key in ("shard", "merged"):  # a slice, or the slices a merged run was joined from
        if key in results:
            certificate[key] = results[key]
    certificate["digest"] = compute_digest(certificate)
    return certificate
