"""The fault catalogue: enough faults, every class covered, IDs that exist, names the CLI knows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mmconform.cli import main
from mmconform.errors import UsageError
from mmconform.reference.faults import CLASSES, FaultError, _fault, check_names, load_catalogue
from mmconform.registry import load_registry
from mmconform.selftest import load_faults


def test_catalogue_has_30_plus_faults_and_several_per_class() -> None:
    faults = load_catalogue()
    assert len(faults) >= 30
    per_class = Counter(f.cls for f in faults.values())
    assert set(per_class) == CLASSES
    assert all(n >= 2 for n in per_class.values()), per_class


def test_every_declared_requirement_exists_and_descriptions_are_one_line() -> None:
    registry = load_registry()
    for fault in load_faults(registry=registry):
        assert all(r in registry for r in fault.requirements), fault.name
        assert "\n" not in fault.description and fault.description.endswith(".")


def test_unknown_requirement_id_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = load_registry()
    registry.requirements.pop("FILES-READ-004")
    with pytest.raises(UsageError, match="FILES-READ-004"):
        load_faults(registry=registry)


def test_unknown_fault_names() -> None:
    with pytest.raises(UsageError, match=r"unknown fault.*no-such"):
        load_faults(["no-such"])
    with pytest.raises(FaultError, match="no-such"):
        check_names(["bola-get-file", "no-such"])
    assert check_names(["bola-get-file"]) == frozenset({"bola-get-file"})


def test_malformed_rows_name_the_row() -> None:
    with pytest.raises(FaultError, match=r"#3.*missing"):
        _fault({"name": "x"}, 2)
    row = {"name": "x", "class": "nope", "description": "d.", "requirements": ["A"]}
    with pytest.raises(FaultError, match="class 'nope'"):
        _fault(row, 0)
    with pytest.raises(FaultError, match="non-empty list"):
        _fault({**row, "class": "limits", "requirements": []}, 0)
    with pytest.raises(FaultError, match=r"\(x\): server_config must map config sections"):
        _fault({**row, "class": "limits", "server_config": {"RestrictSystemAdmin": True}}, 0)
    with pytest.raises(FaultError, match=r"\['A'\] in both requirements and also_breaks"):
        _fault({**row, "class": "limits", "also_breaks": ["A"]}, 0)
    with pytest.raises(FaultError, match="also_breaks must be a list of IDs"):
        _fault({**row, "class": "limits", "also_breaks": "B"}, 0)


def test_a_fault_may_declare_the_config_file_its_server_needs() -> None:
    from mmconform.selftest.runner import restricts_admin, server_config

    assert load_catalogue()["bola-get-file"].server_config == {}
    assert server_config(("bola-get-file",)) == {}
    config = server_config(("bola-get-file", "license-restricted-admin-allowed"))
    assert config == {"ExperimentalSettings": {"RestrictSystemAdmin": True}}
    assert restricts_admin(config) and not restricts_admin({})


def test_serve_rejects_an_unknown_fault_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--fault", "no-such-fault"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-fault" in err[0] and "--list-faults" in err[0]


def test_serve_lists_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--list-faults"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in load_catalogue())


def test_selftest_bad_input_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--fault", "no-such", "--reports", str(tmp_path)]) == 2
    assert main(["selftest", "--jobs", "0", "--reports", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err
