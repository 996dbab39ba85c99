"""profiles.yaml validation, seed derivation and failure-text redaction."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mmconform.errors import UsageError
from mmconform.fuzz.profiles import PROFILE_NAMES, load_fuzz_data
from mmconform.fuzz.runner import FuzzContext, derived_seed
from mmconform.live_target.client import Actor, Secrets


def test_shipped_profiles_load_and_grow() -> None:
    data = load_fuzz_data()
    sizes = [data.profile(n).max_examples for n in PROFILE_NAMES]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert "positive_data_acceptance" in data.excluded_checks("GetFile")
    assert "negative_data_rejection" in data.excluded_checks("UploadFile")
    assert "negative_data_rejection" not in data.excluded_checks("GetFileInfo")


def _write(tmp_path: Path, mutate: object) -> Path:
    doc = yaml.safe_load(load_fuzz_data().path.read_text(encoding="utf-8"))
    assert callable(mutate)
    mutate(doc)
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "mutate, message",
    [
        pytest.param(lambda d: d["profiles"].pop("ci"), "missing: ci", id="missing-profile"),
        pytest.param(
            lambda d: d["profiles"]["ci"].update(max_examples=0), "max_examples", id="zero"
        ),
        pytest.param(
            lambda d: d["profiles"]["ci"].update(phases=["fuzzing", "warp"]), "warp", id="phase"
        ),
        pytest.param(
            lambda d: d["profiles"]["ci"].update(refused_actors=["uploader"]),
            "uploader",
            id="allowed-actor-as-refused",
        ),
        pytest.param(
            lambda d: d["profiles"]["full"].update(max_examples=1), "grow", id="shrinking"
        ),
        pytest.param(
            lambda d: d["tuning"].update(GetFile={"no_such_check": "x"}),
            "no_such_check",
            id="unknown-check",
        ),
        pytest.param(
            lambda d: d["tuning"].update(GetFile={"ignored_auth": ""}), "reason", id="no-reason"
        ),
        pytest.param(
            lambda d: d["tuning"].update(DeleteEverything={}), "unknown operation", id="unknown-op"
        ),
        pytest.param(lambda d: d["profiles"]["ci"].pop("stateful"), "stateful", id="no-stateful"),
    ],
)
def test_bad_profiles_are_usage_errors(tmp_path: Path, mutate: object, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        load_fuzz_data(_write(tmp_path, mutate))
    assert "profiles.yaml" in str(info.value)


def test_unknown_profile_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="choose one of quick, ci, full, certify"):
        load_fuzz_data().profile("huge")


def test_derived_seed_is_stable_and_label_specific() -> None:
    assert derived_seed(7, "a") == derived_seed(7, "a")
    assert derived_seed(7, "a") != derived_seed(7, "b")
    assert derived_seed(7, "a") != derived_seed(8, "a")


def test_report_hides_tokens_and_names_a_shell_variable() -> None:
    secrets = Secrets()
    secrets.add("sekrit-token-value-123")
    fuzz = FuzzContext(data=load_fuzz_data(), redact=secrets.redact)
    fuzz.identity.actor = Actor(name="uploader", token="sekrit-token-value-123")
    text = fuzz.report(
        "Reproduce with:\n    curl -X GET -H 'Authorization: [Filtered]' "
        "http://127.0.0.1:1/api/v4/files/x  # body said sekrit-token-value-123"
    )
    assert "sekrit-token-value-123" not in text
    assert "Authorization: Bearer $MM_TOKEN_UPLOADER" in text
