"""One module per CLI verb; each exposes `register(subparsers)`.

Command modules import their room lazily inside the handler so `mmconform --help` stays fast.
"""

from types import ModuleType

from mmconform.commands import (
    cleanup,
    diff,
    license,
    list_tests,
    merge,
    report,
    run,
    selftest,
    serve,
    spec,
    verify,
)

COMMAND_MODULES: list[ModuleType] = [
    run,
    list_tests,
    serve,
    spec,
    license,
    cleanup,
    verify,
    merge,
    diff,
    report,
    selftest,
]
