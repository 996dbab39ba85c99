"""The cleanup ledger: `<run dir>/ledger.jsonl`.

Every object is recorded as an *intent* (kind and unique name) before the request that creates it
is sent, and completed with its id afterwards; each line is flushed and fsynced, so after a crash
at any point `mmconform cleanup` can find everything the run may have created (intents without an
id are looked up by name). Config and licence changes are recorded with what to restore. Several
pytest workers append to one ledger, so writes take an exclusive file lock. No secret is written:
config values are recorded as the target returned them (secrets come back sanitised).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmconform.errors import UsageError

# Object kinds in the order cleanup must remove them (children before parents).
KINDS = ("post", "file", "channel", "team", "user")


@dataclass
class LedgerObject:
    key: str
    kind: str
    name: str
    parent: str | None = None
    id: str | None = None
    removed: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConfigChange:
    key: str
    setting: str
    old: Any
    new: Any = None
    restored: bool = False


@dataclass
class LicenseChange:
    key: str
    action: str
    was_licensed: bool
    restored: bool = False


@dataclass
class LedgerState:
    objects: dict[str, LedgerObject] = field(default_factory=dict)
    target: dict[str, Any] | None = None
    config: list[ConfigChange] = field(default_factory=list)
    licence: list[LicenseChange] = field(default_factory=list)

    def owned_by(self, owner: str) -> LedgerState:
        """The part of the ledger one writer (a pytest process) is responsible for."""
        mine = f"{owner}:"
        return LedgerState(
            objects={k: o for k, o in self.objects.items() if k.startswith(mine)},
            config=[c for c in self.config if c.key.startswith(mine)],
            licence=[c for c in self.licence if c.key.startswith(mine)],
            target=self.target,
        )

    def pending_objects(self) -> list[LedgerObject]:
        order = {kind: i for i, kind in enumerate(KINDS)}
        todo = [o for o in self.objects.values() if o.removed is None]
        return sorted(todo, key=lambda o: order.get(o.kind, len(order)))

    def pending_config(self) -> list[ConfigChange]:
        """Newest first, so the oldest recorded value of a setting is restored last and wins."""
        return [c for c in reversed(self.config) if not c.restored]

    def pending_licence(self) -> list[LicenseChange]:
        return [c for c in reversed(self.licence) if not c.restored]


class Ledger:
    """Append-only writer; `owner` keeps keys unique across workers sharing one file."""

    def __init__(self, path: Path, owner: str) -> None:
        self.path = path
        self.owner = owner
        self._seq = 0
        self._seq_lock = threading.Lock()
        # Two writers with the same owner (a rerun of cleanup, say) must not reuse keys.
        self._nonce = secrets.token_hex(3)
        path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _next_key(self) -> str:
        with self._seq_lock:  # threads of one process share the writer (overlap.py)
            self._seq += 1
            return f"{self.owner}:{self._nonce}-{self._seq}"

    def bind(self, identity: dict[str, Any]) -> None:
        """The first record: which server this ledger's objects live on (see identity.py)."""
        self._append({"t": "target", "key": "target", **identity})

    def intent(self, kind: str, name: str, parent: str | None = None, **extra: Any) -> str:
        """Record that `kind` named `name` is about to be created; returns its ledger key."""
        if kind not in KINDS:
            raise ValueError(f"unknown ledger kind {kind!r}")
        key = self._next_key()
        record: dict[str, Any] = {"t": "intent", "key": key, "kind": kind, "name": name}
        if parent is not None:
            record["parent"] = parent
        if extra:
            record["extra"] = extra
        self._append(record)
        return key

    def created(self, key: str, object_id: str) -> None:
        self._append({"t": "created", "key": key, "id": object_id})

    def removed(self, key: str, how: str, object_id: str | None = None) -> None:
        record: dict[str, Any] = {"t": "removed", "key": key, "how": how}
        if object_id is not None:  # found by name after a crash: keep the id for the record
            record["id"] = object_id
        self._append(record)

    def config_change(self, setting: str, old: Any, new: Any = None) -> str:
        """Record the value to restore (and the one about to be set) before `setting` changes."""
        key = self._next_key()
        record = {"t": "config", "key": key, "setting": setting, "old": old}
        if new is not None:
            record["new"] = new
        self._append(record)
        return key

    def config_restored(self, key: str) -> None:
        self._append({"t": "config_restored", "key": key})

    def licence_change(self, action: str, was_licensed: bool, licence_id: str = "") -> str:
        key = self._next_key()
        record: dict[str, Any] = {"t": "license", "key": key, "action": action}
        record.update(was_licensed=was_licensed, licence_id=licence_id)
        self._append(record)
        return key

    def licence_restored(self, key: str) -> None:
        self._append({"t": "license_restored", "key": key})


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(f"{path}: ledger not found; give the ledger.jsonl of the run") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            # A crash can leave a torn last line; anything else is corruption.
            if number == len(lines):
                continue
            raise UsageError(f"{path}: line {number} is not JSON; the ledger is damaged") from None
        if not isinstance(record, dict) or "t" not in record or "key" not in record:
            raise UsageError(f"{path}: line {number} is not a ledger record")
        yield number, record


def read_ledger(path: Path) -> LedgerState:
    state = LedgerState()
    config_by_key: dict[str, ConfigChange] = {}
    licence_by_key: dict[str, LicenseChange] = {}
    for number, rec in _records(path):
        key = str(rec["key"])
        kind = rec["t"]
        if kind == "target":
            if state.target is None:  # the first binding wins; a later one changes nothing
                state.target = {k: v for k, v in rec.items() if k not in ("t", "key")}
        elif kind == "intent":
            state.objects[key] = LedgerObject(
                key=key,
                kind=str(rec["kind"]),
                name=str(rec["name"]),
                parent=rec.get("parent"),
                extra=dict(rec.get("extra") or {}),
            )
        elif kind in ("created", "removed"):
            obj = state.objects.get(key)
            if obj is None:
                raise UsageError(f"{path}: line {number} completes unknown key {key}")
            if kind == "created":
                obj.id = str(rec["id"])
            else:
                obj.removed = str(rec.get("how", "removed"))
                if rec.get("id") and obj.id is None:
                    obj.id = str(rec["id"])
        elif kind == "config":
            change = ConfigChange(
                key=key, setting=str(rec["setting"]), old=rec.get("old"), new=rec.get("new")
            )
            config_by_key[key] = change
            state.config.append(change)
        elif kind == "config_restored" and key in config_by_key:
            config_by_key[key].restored = True
        elif kind == "license":
            lic = LicenseChange(
                key=key, action=str(rec["action"]), was_licensed=bool(rec["was_licensed"])
            )
            licence_by_key[key] = lic
            state.licence.append(lic)
        elif kind == "license_restored" and key in licence_by_key:
            licence_by_key[key].restored = True
    return state
