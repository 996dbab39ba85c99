"""One thread at a time in CPython's AST object constructor while checks run on threads.

CPython 3.11 keeps the recursion depth of its AST <-> Python object conversion (`ast2obj`,
`obj2ast`) in interpreter-wide module state, not per thread. When two threads convert at once
(a garbage collection inside one conversion runs Python code, and the interpreter switches
threads there), the count one thread checks at the end was moved by the other:
`SystemError: AST constructor recursion depth mismatch (before=15, after=12)`. Hypothesis and
schemathesis build ASTs while running tests (`ast.parse` behind `inspect.getsource`, lambda
descriptions, pretty printing, the stateful machine's class digest), so fuzz tests started
ahead on a pool failed now and then with that error, which names no requirement: a run read NOT
CONFORMANT with nothing failed (`tests/live_target/test_ast_guard.py` reproduces the race).

The guard wraps the builtin `compile` for the calls that convert between ASTs and Python objects
(`PyCF_ONLY_AST` in the flags, as `ast.parse` passes, or an AST as the source) with one
process-wide lock; every other compile, imports included, goes straight through. It is
installed while a pool of checks exists (`overlap.Overlap`) and removed when the last one
closes, so a sequential run (`--concurrency 1`) and the rest of the process are untouched.
"""

from __future__ import annotations

import ast
import builtins
import threading
from typing import Any

_CONVERT = threading.RLock()
_STATE = threading.Lock()
# The builtin as it was when the guard was first installed. Kept after the guard is removed: a
# thread still inside the wrapper when the last pool closes must find a compile to call (it
# found None once: "TypeError: 'NoneType' object is not callable" in a thread).
_original: Any = builtins.compile
_users = 0


def _guarded_compile(source: Any, *args: Any, **kwargs: Any) -> Any:
    flags = args[2] if len(args) > 2 else kwargs.get("flags", 0)
    if isinstance(source, ast.AST) or int(flags) & ast.PyCF_ONLY_AST:
        with _CONVERT:
            return _original(source, *args, **kwargs)
    return _original(source, *args, **kwargs)


def install() -> None:
    """Route AST conversions through the lock (nested installs count)."""
    global _original, _users
    with _STATE:
        if _users == 0 and builtins.compile is not _guarded_compile:
            _original = builtins.compile
            builtins.compile = _guarded_compile
        _users += 1


def uninstall() -> None:
    """Undo one `install`; the last restores the builtin."""
    global _users
    with _STATE:
        if _users == 0:
            return
        _users -= 1
        if _users == 0:
            builtins.compile = _original


def installed() -> bool:
    return builtins.compile is _guarded_compile
