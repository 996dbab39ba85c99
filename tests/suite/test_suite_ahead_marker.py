"""The `plugin.ahead` mark is found on every item made from a marked test: a schemathesis test
parametrized again (test_fuzz_refused's actors) names its operation in `originalname`, and
without cutting it no refused fuzz item was found marked, so none ever started ahead."""

from __future__ import annotations

import types
from typing import Any

from mmconform import plugin


def _marked() -> None:
    """Stands in for the module-level test function that carries the mark."""


def _item(originalname: str) -> Any:
    module = types.SimpleNamespace(test_fuzz_refused=_marked)
    # schemathesis' per-operation function: a fresh function without the mark
    return types.SimpleNamespace(function=lambda: None, module=module, originalname=originalname)


def test_mark_found_through_a_reparametrized_schemathesis_name() -> None:
    def build(session: Any, item: Any) -> Any:
        return None

    setattr(_marked, plugin._AHEAD, build)
    try:
        for name in ("test_fuzz_refused", "test_fuzz_refused[POST /api/v4/files]"):
            assert plugin._marker(_item(name), plugin._AHEAD) is build, name
        assert plugin._marker(_item("test_other[POST /api/v4/files]"), plugin._AHEAD) is None
    finally:
        delattr(_marked, plugin._AHEAD)
