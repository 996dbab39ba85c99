"""Allure labels for a test: epic = its area, feature = its own operation, story = its IDs.

Kept free of allure and pytest so the mapping is testable on its own; the plugin applies it.
Families follow the URL space: GetFileLink and the public route both belong to public links.

One epic and one feature per test: labelling a test with every operation its requirements name
put each of 427 tests under up to 27 leaves of Allure's Behaviors tree (licence tests under
files › GetFile). The test's own operation comes from the test (its schemathesis operation or
its matrix row); only when it has none do the requirements decide, and then only if they agree.
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
    "HeadFilePublic": "public-link",
}
SEVERAL = "several operations"
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


# Short paths in requirement sources ("api4/file.go" after "server/channels/api4/post.go") are
# relative to their monorepo folder; the pre-monorepo repositories they once named are gone.
_MONOREPO = (
    ("server/", ""),
    ("webapp/", ""),
    ("public/", "server/"),
    ("platform/", "server/"),
    ("model/", "server/public/"),
    ("api4/", "server/channels/"),
    ("app/", "server/channels/"),
    ("web/", "server/channels/"),
    ("utils/", "server/channels/"),
    ("store/", "server/channels/"),
)
# Our own files (specs/, conformance/, the shared reference pages) are not upstream code.
_OURS = ("specs/", "conformance/", "shared/", "docs/")


def monorepo_path(path: str) -> str | None:
    """The mattermost/mattermost path of an upstream file named in a source, or None."""
    path = path.lstrip("/")
    if path.startswith(_OURS):
        return None
    for prefix, parent in _MONOREPO:
        if path.startswith(prefix):
            return parent + path
    return None


def source_links(source: str) -> list[str]:
    """URLs for the upstream files a requirement's `source` names (paths or URLs)."""
    urls = []
    for token in _PATH_TOKEN.findall(source):
        token = token.rstrip(".,;:)")
        if token.startswith("http"):
            urls.append(token)
        elif (path := monorepo_path(token)) is not None:
            urls.append(UPSTREAM_BLOB + path)
    return list(dict.fromkeys(urls))


def _add(target: list[str], values: Iterable[str]) -> None:
    for value in values:
        if value not in target:
            target.append(value)


def own_operation(
    declared: str | None, requirement_operations: Iterable[tuple[str, ...]]
) -> str | None:
    """The test's operation: the one it declares, else the one all its requirements share."""
    if declared:
        return declared
    shared: set[str] | None = None
    for operations in requirement_operations:
        shared = set(operations) if shared is None else shared & set(operations)
    return next(iter(shared)) if shared is not None and len(shared) == 1 else None


def area(operation: str | None, requirement_ids: Iterable[str]) -> str:
    """The family of the operation; without one, the ID prefix of the first requirement."""
    if operation in FAMILIES:
        return FAMILIES[operation]
    first = next(iter(requirement_ids), "")
    return first.split("-", 1)[0].lower() or "other"


def title_for(function: str, case: str | None, titles: list[tuple[str, str]]) -> str:
    """The requirement's title plus the case; a test of many requirements is named by its
    function instead (`titles`: (id, title), ERR-SHAPE-001 rides along on every error row)."""
    own = [t for i, t in titles if i != "ERR-SHAPE-001"] or [t for _, t in titles]
    if 1 <= len(own) <= 2:
        head = "; ".join(own)
    else:
        head = function.removeprefix("test_").replace("_", " ").capitalize()
    return f"{head} — {case}" if case else head


def labels_for(
    requirements: Iterable[tuple[str, str, tuple[str, ...], str]],
    operation: str | None = None,
) -> Labels:
    """`requirements`: (id, level, operations, source) for each requirement a test verifies;
    `operation`: the test's own operation when it declares one."""
    rows = list(requirements)
    labels = Labels()
    mine = own_operation(operation, (ops for _, _, ops, _ in rows))
    labels.epics = [area(mine, (r[0] for r in rows))] if rows or mine else []
    labels.features = [mine or SEVERAL] if rows or mine else []
    for req_id, level, _operations, source in rows:
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
