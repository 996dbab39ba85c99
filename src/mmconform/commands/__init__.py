"""One module per CLI verb; each exposes `register(subparsers)`.

Command modules import their room lazily inside the handler so `mmconform --help` stays fast.
"""

from types import ModuleType

from mmconform.commands import spec

COMMAND_MODULES: list[ModuleType] = [spec]
