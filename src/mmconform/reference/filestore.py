"""File bytes on local disk, laid out as upstream's local driver does.

Stored path: `{YYYYMMDD}/teams/noteam/channels/{channel_id}/users/{creator_id}/{file_id}/{name}`
(bookmarks: `bookmark/teams/noteam/channels/{channel_id}/{file_id}/{name}`), relative to
`<data>/files`. Bytes are streamed to `<data>/tmp/<id>.part` first and renamed into place only
when complete; the FileInfo row is committed after the rename, so a row never points at a
half-written file. Names are reduced to one safe path segment and every resolved path is checked
to stay under the files root, so no client-supplied name can escape the data dir.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import BinaryIO

from mmconform.reference.ids import new_id

_UNSAFE = {"/", "\\", "\x00"}


def base_name(name: str) -> str:
    """Go's `filepath.Base` on Linux: the last "/"-separated element."""
    stripped = name.rstrip("/")
    if not stripped:
        return "/" if name else "."
    return stripped.rsplit("/", 1)[-1]


def safe_segment(name: str) -> str:
    """A single path segment for storage that cannot be '.', '..' or contain separators."""
    cleaned = "".join("_" if ch in _UNSAFE or ord(ch) < 32 else ch for ch in name)
    cleaned = cleaned[:200]
    if cleaned in ("", ".", ".."):
        return "file"
    return cleaned


def relative_path(channel_id: str, creator_id: str, file_id: str, name: str, bookmark: bool) -> str:
    segment = safe_segment(name)
    if bookmark:
        return f"bookmark/teams/noteam/channels/{channel_id}/{file_id}/{segment}"
    day = time.strftime("%Y%m%d", time.gmtime())
    return f"{day}/teams/noteam/channels/{channel_id}/users/{creator_id}/{file_id}/{segment}"


def resolve(files_dir: Path, relative: str) -> Path:
    """The absolute path of a stored file; refuses anything outside `files_dir`."""
    root = files_dir.resolve()
    target = (root / relative).resolve()
    if root not in target.parents:
        raise ValueError(f"stored path escapes the files root: {relative!r}")
    return target


class TempFile:
    """A `.part` file under the data dir's tmp/, removed unless committed."""

    def __init__(self, tmp_dir: Path) -> None:
        self.path = tmp_dir / f"{new_id()}.part"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.fh: BinaryIO | None = os.fdopen(fd, "wb")
        self.size = 0

    def write(self, data: bytes) -> None:
        if self.fh is not None:
            self.fh.write(data)
            self.size += len(data)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    def commit(self, files_dir: Path, relative: str) -> None:
        self.close()
        target = resolve(files_dir, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
