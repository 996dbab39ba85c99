"""Allure labels for a test, derived from the requirements it verifies.

Kept free of allure and pytest so the mapping is testable on its own; the plugin applies it.
Families follow the URL space: GetFileLink and the public route both belong to public links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

FAMILIES = {
    "UploadFile": "files",
    "GetFile": "files",
    "GetFileInfo": "files",
    "GetFileInfosForPost": "posts",
    "GetFileLink": "public-link",
    "GetFilePublic": "public-link",
    "UploadLicenseFile": "license",
    "RemoveLicenseFile": "license",
}
SEVERITIES = {"MUST": "critical", "SHOULD": "normal", "MAY": "minor"}
_SEVERITY_ORDER = ("blocker", "critical", "normal", "minor", "trivial")
UPSTREAM_BLOB = "https://github.com/mattermost/mattermost/blob/master/"
_PATH_TOKEN = re.compile(r"(?:https?://\S+|[\w.-]+(?:/[\w.-]+)+\.(?:go|ts|tsx|js|yaml|yml|md))")


@dataclass
class Labels:
    epics: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    stories: list[str] = field(default_factory=list)
    severity: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (url, name)


def source_links(source: str) -> list[str]:
    """URLs for the upstream files a requirement's `source` names (paths or URLs)."""
    urls = []
    for token in _PATH_TOKEN.findall(source):
        token = token.rstrip(".,;:)")
        urls.append(token if token.startswith("http") else UPSTREAM_BLOB + token.lstrip("/"))
    return list(dict.fromkeys(urls))


def _add(target: list[str], values: Iterable[str]) -> None:
    for value in values:
        if value not in target:
            target.append(value)


def labels_for(requirements: Iterable[tuple[str, str, tuple[str, ...], str]]) -> Labels:
    """`requirements`: (id, level, operations, source) for each requirement a test verifies."""
    labels = Labels()
    for req_id, level, operations, source in requirements:
        _add(labels.epics, (FAMILIES.get(op, "other") for op in operations))
        _add(labels.features, operations)
        _add(labels.stories, [req_id])
        severity = SEVERITIES.get(level)
        if severity and (
            labels.severity is None
            or _SEVERITY_ORDER.index(severity) < _SEVERITY_ORDER.index(labels.severity)
        ):
            labels.severity = severity
        for url in source_links(source):
            if url not in (u for u, _ in labels.links):
                labels.links.append((url, f"{req_id} upstream"))
    return labels
