"""A stable digest over specs/, printed by `--version` and bound into certificates."""

import hashlib
from pathlib import Path

from mmconform.resources import specs_dir


def tree_digest(root: Path) -> str:
    """sha256 over every file below `root`, by relative path then content, so renames count too."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if "__pycache__" in rel:
            continue
        h.update(rel.encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def specs_digest() -> str:
    return tree_digest(specs_dir())
