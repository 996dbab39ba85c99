"""What the guides state, checked against the code: commands, the version table, links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_support import DOCS, GUIDES, ROOT, blocks, check_argv, mmconform_argvs

from mmconform.registry import load_registry

TABLE_MARK = "<!-- version-dependent-requirements"
_ROW = re.compile(r"^\|\s*([A-Z]+(?:-[A-Z]+)*-\d{3})\s*\|\s*`([^`]+)`\s*\|")
# A `||` (or) in a range is written `\|\|` inside the table, where a bare pipe splits the cell.
_LINK = re.compile(r"\]\(([^)\s]+)\)")
EXPECTED_GUIDES = {"upgrade-validation.md", "ci-gate.md", "certification.md", "safety.md"}


def test_the_guides_exist() -> None:
    assert {d.name for d in GUIDES} >= EXPECTED_GUIDES


@pytest.mark.parametrize("doc", GUIDES, ids=[d.name for d in GUIDES])
def test_every_mmconform_command_parses(doc: Path) -> None:
    shell = [b for b in blocks(doc) if b.is_shell]
    argvs = [(b, argv) for b in shell for argv in mmconform_argvs(b.text)]
    assert argvs, f"{doc.name}: no mmconform command found"
    problems = [f"{b.where()}: {p}" for b, argv in argvs if (p := check_argv(argv)) is not None]
    assert problems == []


def version_table(text: str) -> dict[str, str]:
    """The rows of the table that follows the marker comment: ID → range."""
    after = text[text.index(TABLE_MARK) :].splitlines()[1:]
    rows: dict[str, str] = {}
    for line in after:
        if not line.startswith("|"):
            if rows:
                break
            continue
        match = _ROW.match(line)
        if match:
            rows[match.group(1)] = match.group(2).replace("\\|", "|")
    return rows


def registry_ranges() -> dict[str, str]:
    return {
        req.id: req.versions.text
        for req in load_registry().requirements.values()
        if req.versions is not None and not req.retired
    }


def test_version_table_matches_the_registry() -> None:
    text = (DOCS / "upgrade-validation.md").read_text(encoding="utf-8")
    assert version_table(text) == registry_ranges()


def test_version_table_check_catches_drift() -> None:
    text = (DOCS / "upgrade-validation.md").read_text(encoding="utf-8")
    some_id = sorted(registry_ranges())[0]
    dropped = "\n".join(line for line in text.splitlines() if not line.startswith(f"| {some_id} "))
    assert version_table(dropped) != registry_ranges()
    shifted = text.replace("`>=9.7`", "`>=9.8`", 1)
    assert version_table(shifted) != registry_ranges()


def _anchor(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {_anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.+)$", text, re.M)}


def link_problems(doc: Path) -> list[str]:
    problems = []
    for target in _LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue
        path_part, _, fragment = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        if not dest.exists():
            problems.append(f"{doc.name}: {target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in _anchors(dest):
            problems.append(f"{doc.name}: {target}: no such heading")
    return problems


@pytest.mark.parametrize("doc", GUIDES, ids=[d.name for d in GUIDES])
def test_links_resolve(doc: Path) -> None:
    assert link_problems(doc) == []


def test_link_check_catches_broken_links(tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text("# Title\n[a](missing.md) [b](#nowhere) [c](#title) [d](https://x.org)\n")
    assert link_problems(doc) == [
        "guide.md: missing.md: no such file",
        "guide.md: #nowhere: no such heading",
    ]


def test_command_checks_catch_bad_lines() -> None:
    script = (
        "export X=1\n"
        "MMCONFORM_TOKEN=t mmconform run --profile ci \\\n  --seed 1 | tee out\n"
        "mmconform verify CERT --public-key KEY && echo ok\n"
        "mmconform run --profile nightly\n"
        "mmconform\n"
    )
    argvs = mmconform_argvs(script)
    assert argvs == [
        ["run", "--profile", "ci", "--seed", "1"],
        ["verify", "CERT", "--public-key", "KEY"],
        ["run", "--profile", "nightly"],
        [],
    ]
    assert [check_argv(a) is None for a in argvs] == [True, True, False, False]


def test_guides_name_no_command_that_does_not_exist() -> None:
    # The CLI's verbs, from the parser itself; a guide may not promise another one.
    from mmconform.commands import COMMAND_MODULES

    verbs = {m.__name__.rsplit(".", 1)[-1] for m in COMMAND_MODULES}
    for doc in GUIDES:
        used = set(re.findall(r"`mmconform ([a-z]+)", doc.read_text(encoding="utf-8")))
        assert used <= verbs, f"{doc.name}: {sorted(used - verbs)}"
    assert (ROOT / "examples" / "ci").is_dir()
