"""The HTML page shows a failure's kept exchange (exchanges.har) under its message."""

from __future__ import annotations

import json
from pathlib import Path

from report_support import ALL_PASS, make_run, write_registry

from mmconform.exchanges import ExchangeLog, Message, har_entry, merge
from mmconform.report.html_page import write_page
from mmconform.report.results import TestRecord as Record


def test_the_page_shows_the_exchange_of_a_failure(tmp_path: Path) -> None:
    run = tmp_path / "run"
    line = ExchangeLog(run, "w").record(
        har_entry(
            method="GET",
            url="http://h/api/v4/files/abc",
            request=Message([("Authorization", "Bearer x")], b""),
            status=200,
            reason="OK",
            response=Message([("Content-Type", "text/plain")], b"truncated bod"),
        )
    )
    merge(run, "0.test")
    outcomes = {**ALL_PASS, "t.py::test_read": ("failed", ["FILES-GET-001"])}
    make_run(run, write_registry(tmp_path), outcomes)
    results = json.loads((run / "results.json").read_text())
    for test in results["tests"]:
        if test["nodeid"] == "t.py::test_read":
            test["exchange"] = Record("x", exchange="w-1").as_json()["exchange"]
            test["message"] += "\n" + line
    (run / "results.json").write_text(json.dumps(results))
    page = write_page(run).read_text(encoding="utf-8")
    assert "exchange (exchanges.har entry w-1)" in page
    assert "GET http://h/api/v4/files/abc" in page and "truncated bod" in page
    assert "Bearer x" not in page
