"""Content-Disposition escaping: the suite's `path_escape` against Go's `url.PathEscape`.

FILES-GET-HEADERS-002 demands `filename="E"; filename*=UTF-8''E` with E = url.PathEscape(name)
(server/platform/shared/web/files.go setHeaders); the suite and the reference server both compute
E in Python, so Go decides, for every byte class a name can hold.
"""

from __future__ import annotations

import httpx
import pytest

from mmconform.live_target.headers import CASES, path_escape
from mmconform.reference.files import path_escape as reference_path_escape

NAMES = [
    *(c.filename for c in CASES),
    'quote"semi;comma,slash/question?hash#percent%',
    "reserved $&+:=@ kept, !*'() and [] escaped",
    "tab\tnewline\nnul\x00del\x7f",
    "non-ASCII \u00e9\u00df \u65e5\u672c \U0001f600",
    "unreserved-_.~AZaz09",
    "back\\slash",
]


@pytest.mark.parametrize("name", NAMES)
def test_path_escape_matches_go(oracle_url: str, name: str) -> None:
    go = httpx.post(f"{oracle_url}/lib/url/pathescape", content=name.encode()).text
    assert path_escape(name) == go
    assert reference_path_escape(name) == go
