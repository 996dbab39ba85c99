"""Applying requirement labels to the running test through `allure.dynamic`.

Imported only when allure-pytest is recording (`--alluredir`), so a run without allure never
pays for it.
"""

from __future__ import annotations

from typing import Any

import allure

from mmconform.report.labels import labels_for, title_for


class Shown:
    """A parameter value Allure shows as its text, not as a Python repr."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def apply_labels(registry: Any, requirement_ids: list[str], operation: str | None = None) -> None:
    """`registry` is a `mmconform.registry.Registry`; unknown IDs are left to the main plugin."""
    dynamic: Any = allure.dynamic  # untyped upstream
    known = [registry[i] for i in requirement_ids if i in registry]
    labels = labels_for(((r.id, r.level, r.operations, r.source) for r in known), operation)
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


def apply_title(
    registry: Any,
    requirement_ids: list[str],
    function: str,
    case: str | None,
    params: dict[str, Any],
) -> None:
    """After setup (allure-pytest names the test then): title and readable parameters."""
    dynamic: Any = allure.dynamic
    titles = [(i, registry[i].title) for i in requirement_ids if i in registry]
    dynamic.title(title_for(function.split("[", 1)[0], case, titles))
    for name, value in params.items():
        if isinstance(value, str):  # Allure would show 'text' with quotes
            dynamic.parameter(name, Shown(value))
            continue
        shown = getattr(value, "id", None) if not isinstance(value, int | float) else None
        if isinstance(shown, str):
            dynamic.parameter(name, Shown(shown))


def attach_exchange(run_dir: Any, message: str) -> None:
    """The failure's exchange (its exchanges.har entry) as an attachment of the running test."""
    import json
    from pathlib import Path

    from mmconform.exchanges import as_text, read_part_entry, reference_in

    ref = reference_in(message)
    entry = read_part_entry(Path(run_dir), ref) if ref else None
    if entry is None:
        return
    allure.attach(
        as_text(entry), name=f"exchange {ref}", attachment_type=allure.attachment_type.TEXT
    )
    allure.attach(
        json.dumps(entry, indent=1),
        name=f"exchange {ref} (HAR entry)",
        attachment_type=allure.attachment_type.JSON,
    )
