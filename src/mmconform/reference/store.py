"""SQLite metadata store (WAL). Rows are plain dicts; JSON shaping lives in `models.py`.

Every statement runs on the event-loop thread of the one server process, so a single connection
is enough; WAL keeps readers (a second process inspecting the data dir) from blocking it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, username TEXT UNIQUE NOT NULL, email TEXT UNIQUE NOT NULL,
  password_hash TEXT NOT NULL, roles TEXT NOT NULL, create_at INTEGER, update_at INTEGER,
  delete_at INTEGER DEFAULT 0, first_name TEXT DEFAULT '', last_name TEXT DEFAULT '',
  nickname TEXT DEFAULT '');
CREATE TABLE IF NOT EXISTS sessions (
  token TEXT PRIMARY KEY, id TEXT, user_id TEXT NOT NULL, create_at INTEGER,
  is_pat INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS access_tokens (
  id TEXT PRIMARY KEY, token TEXT UNIQUE, user_id TEXT, description TEXT, is_active INTEGER);
CREATE TABLE IF NOT EXISTS teams (
  id TEXT PRIMARY KEY, name TEXT UNIQUE, display_name TEXT, type TEXT, create_at INTEGER,
  update_at INTEGER, delete_at INTEGER DEFAULT 0, allow_open_invite INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS team_members (
  team_id TEXT, user_id TEXT, roles TEXT, delete_at INTEGER DEFAULT 0,
  PRIMARY KEY (team_id, user_id));
CREATE TABLE IF NOT EXISTS channels (
  id TEXT PRIMARY KEY, team_id TEXT, type TEXT, name TEXT, display_name TEXT, creator_id TEXT,
  create_at INTEGER, update_at INTEGER, delete_at INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS channel_members (
  channel_id TEXT, user_id TEXT, roles TEXT, PRIMARY KEY (channel_id, user_id));
CREATE TABLE IF NOT EXISTS posts (
  id TEXT PRIMARY KEY, channel_id TEXT, user_id TEXT, root_id TEXT, message TEXT,
  create_at INTEGER, update_at INTEGER, delete_at INTEGER DEFAULT 0, file_ids TEXT DEFAULT '[]');
CREATE TABLE IF NOT EXISTS file_infos (
  id TEXT PRIMARY KEY, creator_id TEXT, post_id TEXT DEFAULT '', channel_id TEXT,
  create_at INTEGER, update_at INTEGER, delete_at INTEGER DEFAULT 0, path TEXT, name TEXT,
  extension TEXT, size INTEGER, mime_type TEXT, width INTEGER DEFAULT 0, height INTEGER DEFAULT 0,
  has_preview_image INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS file_infos_post ON file_infos (post_id);
CREATE TABLE IF NOT EXISTS system (name TEXT PRIMARY KEY, value TEXT);
"""


class Store:
    """Thin typed wrapper; callers write SQL for their own table to keep this module small."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)

    def one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        row = self.conn.execute(sql, args).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(sql, args).fetchall()]

    def run(self, sql: str, *args: Any) -> int:
        return self.conn.execute(sql, args).rowcount

    def insert(self, table: str, row: dict[str, Any]) -> None:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))

    def get_system(self, name: str) -> str | None:
        row = self.one("SELECT value FROM system WHERE name = ?", name)
        return None if row is None else str(row["value"])

    def set_system(self, name: str, value: str) -> None:
        self.run("INSERT OR REPLACE INTO system (name, value) VALUES (?, ?)", name, value)

    def close(self) -> None:
        self.conn.close()
