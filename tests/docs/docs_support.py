"""Reading the guides the way a user does: their shell blocks and the mmconform commands in them.

A fenced block with the info string `sh runnable` is run as written against the embedded server.
Other blocks are parsed only, because they need a real server. A runnable block may declare
`# expect-exit: N`; the default is 0.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mmconform.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CI_EXAMPLES = ROOT / "examples" / "ci"
GUIDES = sorted(DOCS.glob("*.md"))

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
_EXPECT = re.compile(r"^#\s*expect-exit:\s*(\d+)\s*$", re.M)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_COMMAND_START = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*=\S*\s+)*mmconform(\s|$)")
BLOCK_TIMEOUT = 300


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    info: str
    text: str

    @property
    def runnable(self) -> bool:
        return self.info.split()[:2] == ["sh", "runnable"]

    @property
    def is_shell(self) -> bool:
        return self.info.split()[:1] in (["sh"], ["bash"], ["shell"])

    @property
    def expected_exit(self) -> int:
        found = _EXPECT.search(self.text)
        return int(found.group(1)) if found else 0

    def where(self) -> str:
        doc = self.doc.relative_to(ROOT) if self.doc.is_relative_to(ROOT) else self.doc
        return f"{doc}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text(encoding="utf-8")
    return [
        Block(doc, text.count("\n", 0, m.start()) + 1, m.group(1).strip(), m.group(2))
        for m in _FENCE.finditer(text)
    ]


def logical_lines(script: str) -> Iterator[str]:
    """Shell lines with backslash continuations joined and comments dropped."""
    pending = ""
    for raw in script.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.strip() and not line.lstrip().startswith("#"):
            yield line.strip()


def mmconform_argvs(script: str) -> list[list[str]]:
    """The argument lists of every `mmconform ...` command in a shell script.

    Leading `VAR=value` assignments are dropped; the command ends at the first shell operator.
    """
    found = []
    for line in logical_lines(script):
        if not _COMMAND_START.match(line):
            continue  # other programs' lines may span several (a python -c "..." script)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        try:
            words = list(lexer)
        except ValueError as exc:
            raise AssertionError(f"unparsable shell line {line!r}: {exc}") from None
        while words and _ASSIGNMENT.match(words[0]):
            words.pop(0)
        if not words or words[0] != "mmconform":
            continue
        argv = []
        for word in words[1:]:
            if word and set(word) <= set(";&|<>()"):
                break
            argv.append(word)
        found.append(argv)
    return found


def check_argv(argv: list[str]) -> str | None:
    """None when the real CLI parser accepts `argv` and it names a verb; else the problem."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return f"mmconform {shlex.join(argv)}: rejected by the CLI parser (exit {exc.code})"
    if not args.version and getattr(args, "func", None) is None:
        return f"mmconform {shlex.join(argv)}: names no command"
    return None


def doc_env(home: Path) -> dict[str, str]:
    """The environment of a reader who has just installed mmconform: its venv first on PATH."""
    dropped = ("MMCONFORM_", "PYTEST_", "COV_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)
    return env


@dataclass(frozen=True)
class BlockResult:
    block: Block
    code: int
    output: str


def run_blocks(doc_blocks: list[Block], workdir: Path) -> list[BlockResult]:
    """Run the blocks in order in `workdir`, each with `set -e -o pipefail`.

    Exported variables carry over from one block to the next, as in one terminal. Each block
    gets its own process group, and every group is killed at the end, so a server a block left
    running in the background does not outlive the test.
    """
    state = workdir / ".doc-state"
    env = doc_env(workdir)
    env["DOC_STATE"] = str(state)
    results, groups = [], []
    try:
        for index, block in enumerate(doc_blocks):
            script = workdir / f".block-{index}.sh"
            script.write_text(
                '[ -f "$DOC_STATE" ] && . "$DOC_STATE"\n'
                "trap 'export -p > \"$DOC_STATE\"' EXIT\n"
                "set -e -o pipefail\n" + block.text,
                encoding="utf-8",
            )
            log = workdir / f".block-{index}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    ["bash", "--noprofile", "--norc", str(script)],
                    cwd=workdir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                groups.append(proc.pid)
                try:
                    code = proc.wait(timeout=BLOCK_TIMEOUT)
                except subprocess.TimeoutExpired:
                    code = -1
            result = BlockResult(block, code, log.read_text(encoding="utf-8", errors="replace"))
            results.append(result)
            if code != block.expected_exit:
                break
    finally:
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
    return results


def assert_ran_as_documented(results: list[BlockResult], expected_blocks: int) -> None:
    for result in results:
        if result.code != result.block.expected_exit:
            pytest.fail(
                f"{result.block.where()}: exit {result.code}, the doc expects "
                f"{result.block.expected_exit}\n--- block ---\n{result.block.text}"
                f"--- output (last 4000 chars) ---\n{result.output[-4000:]}"
            )
    assert len(results) == expected_blocks
