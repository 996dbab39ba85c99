"""Applying requirement labels to the running test through `allure.dynamic`.

Imported only when allure-pytest is recording (`--alluredir`), so a run without allure never
pays for it.
"""

from __future__ import annotations

from typing import Any

import allure

from mmconform.report.labels import labels_for


def apply_labels(registry: Any, requirement_ids: list[str]) -> None:
    """`registry` is a `mmconform.registry.Registry`; unknown IDs are left to the main plugin."""
    dynamic: Any = allure.dynamic  # untyped upstream
    known = [registry[i] for i in requirement_ids if i in registry]
    labels = labels_for((r.id, r.level, r.operations, r.source) for r in known)
    if labels.epics:
        dynamic.epic(*labels.epics)
    if labels.features:
        dynamic.feature(*labels.features)
    if labels.stories:
        dynamic.story(*labels.stories)
    if labels.severity:
        dynamic.severity(allure.severity_level(labels.severity))
    for url, name in labels.links:
        dynamic.link(url, name=name)
