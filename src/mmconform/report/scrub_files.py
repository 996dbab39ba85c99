"""Scrubbing the reports other tools wrote into a run folder (JUnit XML, allure results).

pytest's JUnit writer and allure-pytest copy whole tracebacks, which can quote tokens and
passwords; `finalize_run` passes them through the same scrubber as results.json. JSON and XML
are parsed and rewritten rather than edited as text, because their escaping (`\\"`, `&quot;`)
would hide a secret from patterns written for plain text.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from mmconform.report.model import CERTIFICATE_MD_NAME, CERTIFICATE_NAME, RESULTS_NAME
from mmconform.report.redact import Scrubber

# Ours (already scrubbed, and the certificate binds their bytes) or not reports at all.
_SKIP = {RESULTS_NAME, CERTIFICATE_NAME, CERTIFICATE_MD_NAME, "ledger.jsonl"}
_TEXT_SUFFIXES = {".txt", ".log", ".html", ".csv", ".md"}


def _scrub_xml(path: Path, scrubber: Scrubber) -> None:
    tree = ET.parse(path)
    for element in tree.iter():
        if element.text:
            element.text = scrubber.text(element.text)
        if element.tail:
            element.tail = scrubber.text(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = scrubber.text(value)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _scrub_json(path: Path, scrubber: Scrubber) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(scrubber.tree(data), ensure_ascii=False), encoding="utf-8")


def _scrub_text(path: Path, scrubber: Scrubber) -> None:
    text = path.read_text(encoding="utf-8")
    cleaned = scrubber.text(text)
    if cleaned != text:
        path.write_text(cleaned, encoding="utf-8")


def scrub_file(path: Path, scrubber: Scrubber) -> bool:
    """Scrub one report file in place; False when it could not be read as text."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xml":
            _scrub_xml(path, scrubber)
        elif suffix == ".json":
            _scrub_json(path, scrubber)
        elif suffix in _TEXT_SUFFIXES:
            _scrub_text(path, scrubber)
        return True
    except (ET.ParseError, ValueError):
        try:  # malformed: still take out what the plain-text patterns can see
            _scrub_text(path, scrubber)
            return True
        except (UnicodeDecodeError, OSError):
            return False
    except OSError:
        return False


def scrub_run_dir(root: Path, scrubber: Scrubber | None = None) -> list[Path]:
    """Scrub every report file below `root` (or `root` itself) in place.

    Returns the files it could not scrub (binary attachments are left alone and not listed).
    """
    scrubber = scrubber or Scrubber()
    if root.is_file():
        return [] if scrub_file(root, scrubber) else [root]
    skipped: list[Path] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name in _SKIP or "allure-report" in path.relative_to(root).parts:
            continue
        if not scrub_file(path, scrubber):
            skipped.append(path)
    return skipped
