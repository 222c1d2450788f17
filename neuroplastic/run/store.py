"""Results in one SQLite file: a row per cell keyed by the hash of its canonical config.

Only the driver writes, one transaction per result, so a run killed mid-way keeps every finished
cell and never leaves a partial row; rerunning the grid skips the keys already stored.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from .cell import Result

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key     TEXT PRIMARY KEY,
    stream  TEXT NOT NULL,
    method  TEXT NOT NULL,
    seed    INTEGER NOT NULL,
    config  TEXT NOT NULL,
    result  TEXT NOT NULL,
    created REAL NOT NULL
);
"""


class StoreError(RuntimeError):
    pass


class Store:
    def __init__(self, path: str | Path = "results.db"):
        self.path = Path(path)
        try:
            self.conn = sqlite3.connect(self.path, timeout=30)
            with self.conn:
                self.conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path} is not a neuroplastic results database ({e}); "
                             "choose another --out file or move this one away.") from e

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def done(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT key FROM results")}

    def put(self, result: Result) -> None:
        stream, method = result.cell.get("stream_label") or result.cell["stream"], \
            result.cell.get("method_label") or result.cell["method"]
        with self.conn:   # one transaction: the row is there whole or not at all
            self.conn.execute(
                "INSERT OR REPLACE INTO results (key, stream, method, seed, config, result, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (result.key, stream, method, result.cell["seed"], json.dumps(result.cell, sort_keys=True),
                 result.to_json(), time.time()),
            )

    def results(self) -> list[Result]:
        rows = self.conn.execute("SELECT result FROM results ORDER BY stream, method, seed")
        return [Result.from_json(r[0]) for r in rows]

    def __len__(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
