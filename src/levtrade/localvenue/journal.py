"""The venue's state on disk: an append-only journal of accepted commands in SQLite.

The engine is deterministic, so the state is the commands: every accepted command (an order, a
cancel, a leverage / margin type / position mode change, a margin transfer, a clock advance, an
injected liquidation or ADL) is committed here, with the bar it applied at, before the venue
answers it; a restarted venue replays them through fresh engines to the same state. SQLite in
WAL mode with ``synchronous=FULL``: a commit survives ``kill -9`` and a power cut (LIVE.md §3).
The file remembers the venue it belongs to (settings and data) and refuses another one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from levtrade.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    bar INTEGER NOT NULL
);
"""


class Journal:
    """Commands of one venue, in the order they were accepted."""

    def __init__(self, path: str | Path, identity: str) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'venue'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta (key, value) VALUES ('venue', ?)", (identity,))
        elif row[0] != identity:
            self._db.close()
            raise ConfigError(
                f"state: {self.path} belongs to a venue with other settings or data "
                f"({row[0][:200]}...); start it with those, or use another state file"
            )

    def setting(self, name: str, default: int) -> int:
        """A number the venue keeps for the life of the file (stored on first use)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        if row is not None:
            return int(row[0])
        self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (name, str(default)))
        return default

    def commands(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self._db.execute("SELECT kind, payload FROM commands ORDER BY seq").fetchall()
        return [(kind, json.loads(payload)) for kind, payload in rows]

    def append(self, kind: str, payload: Mapping[str, Any], bar: int) -> None:
        """Commit one command (it returns once the commit is on disk)."""
        self._db.execute(
            "INSERT INTO commands (kind, payload, bar) VALUES (?, ?, ?)",
            (kind, json.dumps(dict(payload), sort_keys=True), bar),
        )

    def close(self) -> None:
        self._db.close()
