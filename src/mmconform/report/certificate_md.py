"""certificate.md: the certificate for people. The JSON is the one that gets verified."""

from __future__ import annotations

from typing import Any

from mmconform.report.model import CONFORMANT, PARTIAL

_MARK = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "not_applicable": "➖ N/A",
    "untested": "⚠️ untested",
    "not_selected": "· not selected",
}


def _cell(value: Any) -> str:
    return str(value if value is not None else "—").replace("|", "\\|").replace("\n", " ")


def render(cert: dict[str, Any]) -> str:
    verdict = cert["verdict"]
    suite, target, digests = cert.get("suite") or {}, cert["target"], cert["digests"]
    lines = [
        "# Mattermost file and licence API conformance certificate",
        "",
        f"**Verdict: {verdict}**" + ("" if verdict == CONFORMANT else " (see blockers below)"),
        "",
    ]
    if verdict == PARTIAL:
        from mmconform.selection import describe

        lines += [
            f"This run selected {_cell(describe(cert.get('selection')))}: it certifies nothing, "
            "and says nothing of the requirements it did not select.",
            "",
        ]
    strict = cert.get("strict") or {}
    if strict.get("on"):
        declared = ", ".join(strict.get("declared") or []) or "none"
        lines += [
            f"Strict certification: only version ranges and the declared capability profiles "
            f"({_cell(declared)}) may be not applicable.",
            "",
        ]
    lines += [
        "| | |",
        "|---|---|",
        f"| Target | {_cell(target.get('url'))} (server version {_cell(target.get('version'))}) |",
        f"| Suite | mmconform {_cell(suite.get('version'))}, "
        f"git {_cell(suite.get('git_revision'))} |",
        f"| Profile / seed | {_cell(cert.get('profile'))} / {_cell(cert.get('seed'))} |",
        f"| Run | {_cell(cert.get('started_at'))} → {_cell(cert.get('finished_at'))} |",
    ]
    for name in ("specs", "permissions", "registry", "results"):
        lines.append(f"| sha256 {name} | `{_cell(digests.get(name))}` |")
    lines.append(f"| Digest | `{cert['digest']}` |")
    signature = cert.get("signature")
    signer = signature["public_key_fingerprint"] if signature else "not signed"
    lines += [f"| Signed by | {_cell(signer)} |", ""]
    counts = cert["counts"]
    lines.append(
        f"Requirements: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['not_applicable']} not applicable, {counts['untested']} untested"
        + (f", {counts.get('not_selected', 0)} not selected." if verdict == PARTIAL else ".")
    )
    if cert["blockers"]:
        lines += ["", "## Blockers", ""] + [f"- {_cell(b)}" for b in cert["blockers"]]
    lines += ["", "## Requirements", "", "| ID | Level | Verdict | Title |", "|---|---|---|---|"]
    for req_id, entry in cert["requirements"].items():
        mark = _MARK.get(entry["verdict"], entry["verdict"])
        lines.append(f"| {req_id} | {_cell(entry['level'])} | {mark} | {_cell(entry['title'])} |")
    if cert["not_applicable"]:
        lines += ["", "## Not applicable", ""]
        for entry in cert["not_applicable"]:
            lines.append(f"- **{entry['id']}**: {_cell('; '.join(entry['reasons']))}")
    lines += [
        "",
        "## Checking this certificate",
        "",
        "`mmconform verify certificate.json --public-key ISSUER_KEY.pub` recomputes the digest, "
        "checks the signature and re-derives every verdict from the results.json next to it.",
        "",
    ]
    return "\n".join(lines)
