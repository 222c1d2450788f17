"""Results in one SQLite file: a row per cell keyed by the hash of its canonical config.

Only the driver writes, one transaction per result, so a run killed mid-way keeps every finished
cell and never leaves a partial row; rerunning the grid skips the keys already stored.

Beside ``results`` the file holds:

* ``failures``: cells that raised (configuration, error message, code version), shown by
  ``results`` and ``report``; a rerun retries them and a success removes the record;
* ``claims``: the cells a run is computing now. A run claims a cell in one transaction before it
  starts it, so two runs on one file split the cells instead of computing each twice. A claim
  whose process is gone (same machine) or whose heartbeat is older than ``CLAIM_TTL_S`` (another
  machine) has expired, so a run killed with ``kill -9`` blocks nothing.

``Store(path, readonly=True)`` opens with SQLite's ``mode=ro`` and never writes: the read-only
commands (``results``, ``report``, ``export``) refuse a file that is not a results database and
leave its bytes unchanged.
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
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
CREATE TABLE IF NOT EXISTS failures (
    key     TEXT PRIMARY KEY,
    stream  TEXT NOT NULL,
    method  TEXT NOT NULL,
    seed    INTEGER NOT NULL,
    config  TEXT NOT NULL,
    error   TEXT NOT NULL,
    env     TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    key       TEXT PRIMARY KEY,
    host      TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    heartbeat REAL NOT NULL
);
"""
#: a claim from another machine expires when its run has not refreshed it for this long
CLAIM_TTL_S = 900.0
HEARTBEAT_S = 60.0


class StoreError(RuntimeError):
    pass


def _pid_alive(pid: int) -> bool:
    import psutil

    return psutil.pid_exists(pid)


class Store:
    def __init__(self, path: str | Path = "results.db", *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        #: rows whose stored JSON could not be read: (key, reason)
        self.damaged: list[tuple[str, str]] = []
        self._host, self._pid = socket.gethostname(), os.getpid()
        self._beat: threading.Event | None = None
        if readonly:
            self._open_readonly()
        else:
            self._open_writable()

    def _open_readonly(self) -> None:
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory; give the results file that `neuroplastic run --out` wrote.")
        if not self.path.is_file():
            raise StoreError(f"{self.path} does not exist; run `neuroplastic run --out {self.path}` first.")
        try:
            self.conn = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True, timeout=30)
            tables = self._tables()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path} is not a neuroplastic results database ({e}).") from e
        if "results" not in tables:
            self.conn.close()
            raise StoreError(f"{self.path} is not a neuroplastic results database (it has no results table); "
                             "give the file that `neuroplastic run --out` wrote.")

    def _open_writable(self) -> None:
        existed = self.path.exists()
        try:
            self.conn = sqlite3.connect(self.path, timeout=30)
        except sqlite3.OperationalError as e:
            raise StoreError(f"cannot open {self.path} for writing ({e}); check that its folder exists and is "
                             "writable, or choose another --out file.") from e
        try:
            tables = self._tables()
        except sqlite3.DatabaseError as e:
            self.conn.close()
            raise StoreError(f"{self.path} is not a neuroplastic results database ({e}); "
                             "choose another --out file or move this one away.") from e
        if existed and tables and "results" not in tables:
            self.conn.close()
            raise StoreError(f"{self.path} is an SQLite file of something else (tables: {', '.join(sorted(tables))}); "
                             "choose another --out file.")
        try:
            with self.conn:
                self.conn.executescript(SCHEMA)
            with self.conn:   # a write probe: a file we may read but not write fails here, before any cell
                self.conn.execute("INSERT OR REPLACE INTO claims VALUES ('probe', '', 0, 0)")
                self.conn.execute("DELETE FROM claims WHERE key = 'probe'")
        except sqlite3.OperationalError as e:
            self.conn.close()
            raise StoreError(f"cannot write to {self.path} ({e}); fix its permissions or choose another --out file.") from e

    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._beat is not None:
            self._beat.set()
        if not self.readonly:
            self.release_claims()
        self.conn.close()

    # ------------------------------------------------------------------ results
    def done(self) -> set[str]:
        """Keys of the stored results that can be read (a damaged row is recomputed)."""
        return {r.key for r in self.results()}

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
            self.conn.execute("DELETE FROM failures WHERE key = ?", (result.key,))
            self.conn.execute("DELETE FROM claims WHERE key = ?", (result.key,))

    def results(self) -> list[Result]:
        """Every readable result; rows that cannot be read are listed in ``self.damaged``."""
        self.damaged = []
        out = []
        for key, text in self.conn.execute("SELECT key, result FROM results ORDER BY stream, method, seed"):
            try:
                out.append(Result.from_json(text))
            except (ValueError, TypeError, KeyError) as e:
                self.damaged.append((key, f"{type(e).__name__}: {str(e)[:120]}"))
        return out

    def __len__(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    # ------------------------------------------------------------------ failures
    def put_failure(self, cell, error: str, env: dict) -> None:
        s, m = cell.labels
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO failures (key, stream, method, seed, config, error, env, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cell.key, s, m, cell.seed, json.dumps(cell.config(), sort_keys=True, default=str), error,
                 json.dumps(env, default=str), time.time()))
            self.conn.execute("DELETE FROM claims WHERE key = ?", (cell.key,))

    def failures(self) -> list[dict]:
        """The failed cells: key, stream, method, seed, error, config, env, created."""
        if "failures" not in self._tables():       # a file from before failures were stored
            return []
        rows = self.conn.execute("SELECT key, stream, method, seed, error, config, env, created FROM failures "
                                 "ORDER BY stream, method, seed")
        out = []
        for key, stream, method, seed, error, config, env, created in rows:
            try:
                config, env = json.loads(config), json.loads(env)
            except ValueError:
                config, env = {}, {}
            out.append({"key": key, "stream": stream, "method": method, "seed": seed, "error": error,
                        "config": config, "env": env, "created": created})
        return out

    # ------------------------------------------------------------------ claims
    def claim(self, key: str, *, replace_result: bool = False) -> bool:
        """Claim ``key`` for this process in one transaction; False when a result is already stored
        (unless ``replace_result``) or a live claim of another run holds it."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            if not replace_result and self.conn.execute("SELECT 1 FROM results WHERE key = ?", (key,)).fetchone():
                return False
            row = self.conn.execute("SELECT host, pid, heartbeat FROM claims WHERE key = ?", (key,)).fetchone()
            if row and (row[0], row[1]) != (self._host, self._pid) and self._live(*row):
                return False
            self.conn.execute("INSERT OR REPLACE INTO claims (key, host, pid, heartbeat) VALUES (?, ?, ?, ?)",
                              (key, self._host, self._pid, time.time()))
            return True

    def _live(self, host: str, pid: int, heartbeat: float) -> bool:
        if host == self._host:
            return _pid_alive(pid)
        return time.time() - heartbeat < CLAIM_TTL_S

    def claimed_by_others(self) -> int:
        rows = self.conn.execute("SELECT host, pid, heartbeat FROM claims").fetchall()
        return sum(1 for h, p, b in rows if (h, p) != (self._host, self._pid) and self._live(h, p, b))

    def release_claims(self) -> None:
        try:
            with self.conn:
                self.conn.execute("DELETE FROM claims WHERE host = ? AND pid = ?", (self._host, self._pid))
        except sqlite3.Error:
            pass            # closing after a failure: the claim expires with the process anyway

    def start_heartbeat(self) -> None:
        """Refresh this run's claims every HEARTBEAT_S seconds from a daemon thread (its own
        connection), so runs on other machines see them as alive."""
        if self._beat is not None:
            return
        self._beat = stop = threading.Event()
        path, host, pid = self.path, self._host, self._pid

        def beat() -> None:
            conn = sqlite3.connect(path, timeout=30)
            try:
                while not stop.wait(HEARTBEAT_S):
                    with conn:
                        conn.execute("UPDATE claims SET heartbeat = ? WHERE host = ? AND pid = ?",
                                     (time.time(), host, pid))
            except sqlite3.Error:
                pass
            finally:
                conn.close()

        threading.Thread(target=beat, daemon=True, name="neuroplastic-claims").start()
