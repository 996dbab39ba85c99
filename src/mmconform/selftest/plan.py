"""Which faults a selftest runs: the catalogue, checked against the requirements registry.

The reference server cannot validate requirement IDs (it never imports the suite), so the check
that every declared ID exists happens here, before any server starts.
"""

from __future__ import annotations

from collections.abc import Sequence

from mmconform.errors import UsageError
from mmconform.reference.faults import Fault, FaultError, load_catalogue
from mmconform.registry import Registry, load_registry


def load_faults(names: Sequence[str] = (), registry: Registry | None = None) -> list[Fault]:
    """The named faults (all of them when none is named), IDs checked against the registry."""
    try:
        catalogue = load_catalogue()
    except FaultError as exc:
        raise UsageError(f"{exc}; fix src/mmconform/reference/faults.yaml") from None
    registry = registry or load_registry()
    for fault in catalogue.values():
        registry.check_ids(
            [*fault.requirements, *fault.also_breaks], f"faults.yaml fault {fault.name}"
        )
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        raise UsageError(
            f"unknown fault(s) {', '.join(unknown)}; list them with 'mmconform serve --list-faults'"
        )
    if not names:
        return list(catalogue.values())
    return [catalogue[n] for n in dict.fromkeys(names)]
