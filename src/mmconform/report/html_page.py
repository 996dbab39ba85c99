"""A single-file HTML report rendered from results.json: opens from disk, no Java, no server.

The Allure page needs the Allure CLI (Java or npm) to build and a web server to open (as a file
it shows "500 Failed to fetch"); most people who get a run folder just want to read it. This page
is one self-contained file: inline CSS, no script, no font or image from anywhere, every value
HTML-escaped. results.json is already scrubbed of secrets, so the page is too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from mmconform.report.model import (
    BAD_OUTCOMES,
    CERTIFICATE_NAME,
    CONFORMANT,
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    UNTESTED,
    load_results,
)

PAGE_NAME = "report.html"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d1d1f}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}
.verdict{display:inline-block;padding:.35rem .8rem;border-radius:6px;font-weight:700;color:#fff}
.ok{background:#1a7f37}.bad{background:#cf222e}
table{border-collapse:collapse;width:100%;margin:.3rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.id{white-space:nowrap;font-family:ui-monospace,monospace}
pre{background:#f6f8fa;padding:.5rem;white-space:pre-wrap;word-break:break-word;margin:.3rem 0}
.passed{color:#1a7f37}.failed,.error{color:#cf222e}.not_applicable,.skipped,.untested{color:#6e7781}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem}dt{font-weight:600}
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _table(head: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """`rows` cells are HTML already (escaped by the caller)."""
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _exchange_html(test: Mapping[str, Any], exchanges: Mapping[str, Mapping[str, Any]]) -> str:
    """The failure's request and response from exchanges.har, folded away."""
    ref = (
        (test.get("exchange") or {}).get("entry")
        if isinstance(test.get("exchange"), dict)
        else None
    )
    entry = exchanges.get(str(ref)) if ref else None
    if entry is None:
        return ""
    from mmconform.exchanges import as_text

    return (
        f'<details class="exchange"><summary>exchange (exchanges.har entry {_e(ref)})</summary>'
        f"<pre>{_e(as_text(entry))}</pre></details>"
    )


def _failed_section(
    requirements: Mapping[str, Mapping[str, Any]],
    tests: Mapping[str, Mapping[str, Any]],
    exchanges: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    failed = [(r, e) for r, e in sorted(requirements.items()) if e.get("verdict") == FAILED]
    if not failed:
        return "<h2>Failed requirements</h2><p>None.</p>"
    parts = [f'<h2 id="failed">Failed requirements ({len(failed)})</h2>']
    for req_id, entry in failed:
        parts.append(
            f'<h3 id="{_e(req_id)}"><span class="failed">{_e(req_id)}</span> '
            f"{_e(entry.get('level') or '')} — {_e(entry.get('title'))}</h3>"
        )
        for nodeid in entry.get("tests") or []:
            test = tests.get(nodeid) or {}
            if test.get("outcome") not in BAD_OUTCOMES:
                continue
            parts.append(
                f'<p class="id"><code>{_e(nodeid)}</code> '
                f'<span class="{_e(test.get("outcome"))}">{_e(test.get("outcome"))}</span></p>'
                f"<pre>{_e(test.get('message') or '')}</pre>"
                + _exchange_html(test, exchanges or {})
            )
    return "".join(parts)


def _licence_text(licence: Any) -> str | None:
    if not isinstance(licence, Mapping) or "licensed" not in licence:
        return None
    return f"licensed, SKU {licence.get('sku') or 'unknown'}" if licence["licensed"] else "none"


def _selection_text(selection: Any) -> str | None:
    """What a PARTIAL run selected (None for the whole suite: nothing to say)."""
    from mmconform.selection import describe

    if not isinstance(selection, Mapping) or not selection.get("partial"):
        return None
    return f"PARTIAL: {describe(selection)}; certifies nothing"


def render_page(
    results: Mapping[str, Any],
    specs_digest: str | None = None,
    exchanges: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The whole page for one results.json document (`specs_digest` from its certificate)."""
    summary = results.get("summary") or {}
    verdict = str(summary.get("verdict") or "")
    requirements: Mapping[str, Mapping[str, Any]] = results.get("requirements") or {}
    tests_list: list[Mapping[str, Any]] = list(results.get("tests") or [])
    tests = {str(t.get("nodeid")): t for t in tests_list}
    target = results.get("target") or {}
    suite = results.get("suite") or {}
    counts = summary.get("requirements") or {}
    test_counts = summary.get("tests") or {}
    facts = [
        ("Target", target.get("url")),
        ("Server version", target.get("version")),
        ("Licence (as found)", _licence_text(target.get("licence"))),
        ("Profile", results.get("profile")),
        ("Seed", results.get("seed")),
        ("Suite", f"{suite.get('version') or ''} {suite.get('git_revision') or ''}".strip()),
        ("Specs digest", specs_digest),
        ("Selection", _selection_text(results.get("selection"))),
        ("Started", results.get("started_at")),
        ("Finished", results.get("finished_at")),
    ]
    body = [
        "<h1>mmconform conformance report</h1>",
        f'<p><span class="verdict {"ok" if verdict == CONFORMANT else "bad"}" id="verdict">'
        f"{_e(verdict)}</span></p>",
        "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts if v) + "</dl>",
        "<p>Requirements: "
        + ", ".join(
            f"{int(counts.get(k, 0))} {label}"
            for k, label in (
                (PASSED, "passed"),
                (FAILED, "failed"),
                (NOT_APPLICABLE, "not applicable"),
                (UNTESTED, "untested"),
            )
        )
        + ". Tests: "
        + ", ".join(f"{int(v)} {_e(str(k).replace('_', ' '))}" for k, v in test_counts.items())
        + ".</p>",
    ]
    blockers = summary.get("blockers") or []
    if blockers:
        body.append("<h2>What blocks conformance</h2><ul>")
        for line in blockers:
            req_id = str(line).split()[1] if str(line).startswith(("MUST ", "SHOULD ")) else ""
            title = (requirements.get(req_id) or {}).get("title") if req_id else None
            body.append(f"<li>{_e(line)}" + (f" — {_e(title)}" if title else "") + "</li>")
        body.append("</ul>")
    unattributed = summary.get("unattributed") or []
    if unattributed:
        body.append(
            "<h2>Suite errors</h2><p>These failures name none of their requirements: a bug of "
            "the suite, charged to no requirement. Please report them.</p>"
        )
        body.append(
            _table(
                ("test", "outcome", "message"),
                (
                    (
                        f'<td class="id">{_e(u.get("nodeid"))}</td>',
                        f"<td>{_e(u.get('outcome'))}</td>",
                        f"<td><pre>{_e(u.get('message'))}</pre></td>",
                    )
                    for u in unattributed
                ),
            )
        )
    body.append(_failed_section(requirements, tests, exchanges))
    not_applicable = [
        (r, e) for r, e in sorted(requirements.items()) if e.get("verdict") == NOT_APPLICABLE
    ]
    if not_applicable:
        body.append(f"<h2>Not applicable ({len(not_applicable)})</h2>")
        body.append(
            _table(
                ("requirement", "title", "why"),
                (
                    (
                        f'<td class="id">{_e(r)}</td>',
                        f"<td>{_e(e.get('title'))}</td>",
                        f"<td>{_e('; '.join(str(x) for x in e.get('reasons') or []))}</td>",
                    )
                    for r, e in not_applicable
                ),
            )
        )
    body.append(f"<h2>All requirements ({len(requirements)})</h2>")
    body.append(
        _table(
            ("requirement", "level", "verdict", "title", "tests"),
            (
                (
                    f'<td class="id">{_e(r)}</td>',
                    f"<td>{_e(e.get('level') or '?')}</td>",
                    f'<td class="{_e(e.get("verdict"))}">{_e(e.get("verdict"))}</td>',
                    f"<td>{_e(e.get('title'))}</td>",
                    f"<td>{len(e.get('tests') or [])}</td>",
                )
                for r, e in sorted(requirements.items())
            ),
        )
    )
    body.append(f"<h2>All tests ({len(tests_list)})</h2>")
    body.append(
        _table(
            ("test", "outcome", "requirements", "detail"),
            (
                (
                    f'<td class="id">{_e(t.get("nodeid"))}</td>',
                    f'<td class="{_e(t.get("outcome"))}">{_e(t.get("outcome"))}</td>',
                    f"<td>{_e(', '.join(t.get('requirements') or []))}</td>",
                    f"<td>{_e(t.get('reason') or '')}</td>",
                )
                for t in tests_list
            ),
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>mmconform: {_e(verdict)} — {_e(target.get('url') or '')}</title>"
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_page(run: Path, output: Path | None = None) -> Path:
    """Render RUN/results.json to RUN/report.html (or `output`)."""
    results = load_results(run)
    folder = run if run.is_dir() else run.parent
    digest = None
    certificate = folder / CERTIFICATE_NAME
    if certificate.is_file():
        try:
            digest = (json.loads(certificate.read_text(encoding="utf-8")).get("digests") or {}).get(
                "specs"
            )
        except (ValueError, AttributeError):
            digest = None  # the page does not vouch for the certificate; verify does
    path = output or folder / PAGE_NAME
    from mmconform.exchanges import iter_entries

    try:
        exchanges = {str(e.get("comment")): e for e in iter_entries(folder)}
    except (OSError, ValueError):
        exchanges = {}  # a damaged exchanges.har: the page still shows every verdict
    path.write_text(render_page(results, digest, exchanges), encoding="utf-8")
    return path
