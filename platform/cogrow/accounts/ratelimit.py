"""Rate-limit counters that every process of one machine shares: a `limits` storage on a SQLite file in var/.

Flask-Limiter's memory storage counts in each process on its own, so N web processes allowed N times the limit.
Production uses Redis; the embedded default uses this, registered for `sqlite:///<path>` URIs.
"""
from __future__ import annotations

import hashlib
import math
import sqlite3
import time
from contextlib import contextmanager
from typing import Iterator

from flask import Flask, Response, current_app, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import Storage

_SCHEMA = "CREATE TABLE IF NOT EXISTS rate_counter (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL)"


class SQLiteStorage(Storage):
    """Fixed-window counters in one SQLite table; each increment is one short write transaction."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        path = (uri or "")[len("sqlite://"):]
        if not path or path == "/:memory:":
            raise ValueError("the sqlite rate-limit storage needs a file shared by the processes: sqlite:///path")
        self.path = path
        self.timeout = float(options.get("timeout", 10))
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: cheap for SQLite, and safe across forks and threads.
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock first, so two processes never lose a count
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._write() as conn:
            conn.execute("DELETE FROM rate_counter WHERE key = ? AND expires_at <= ?", (key, now))
            conn.execute("INSERT INTO rate_counter (key, value, expires_at) VALUES (?, ?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value", (key, amount, now + expiry))
            return int(conn.execute("SELECT value FROM rate_counter WHERE key = ?", (key,)).fetchone()[0])

    def get(self, key: str) -> int:
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM rate_counter WHERE key = ? AND expires_at > ?",
                               (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self._connect() as conn:
            row = conn.execute("SELECT expires_at FROM rate_counter WHERE key = ? AND expires_at > ?",
                               (key, now)).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            with self._connect() as conn:
                conn.execute("SELECT 1 FROM rate_counter LIMIT 1").fetchall()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._write() as conn:
            return conn.execute("DELETE FROM rate_counter").rowcount

    def clear(self, key: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM rate_counter WHERE key = ?", (key,))


def login_rate_limit() -> str:
    """Sign-in and invitation attempts per address (read per request, so tests and operators can change it)."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def api_rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def api_rate_key() -> str:
    """Whom an API request is counted against: its token, else its signed-in user, else its address.

    The limiter runs before the actor is loaded, so the token is keyed by a hash of the header itself.
    """
    header = request.headers.get("Authorization")
    if header:
        return "token:" + hashlib.sha256(header.strip().encode("utf-8")).hexdigest()[:32]
    user = session.get("_user_id")
    if isinstance(user, str) and user:
        return "user:" + user.partition(":")[0]
    return "ip:" + get_remote_address()


def init_rate_limits(app: Flask, limiter: Limiter) -> None:
    """A 429 says when to come back. Only a 429: Flask-Limiter's own headers would overwrite the Retry-After
    of other answers (an idempotent request still running) on every limited route.

    The limiter is passed in: cogrow.extensions imports this module (for its storage), so this module imports
    nothing of cogrow."""

    @app.after_request
    def _retry_after(response: Response) -> Response:
        if response.status_code == 429 and "Retry-After" not in response.headers:
            breached = limiter.current_limit
            if breached is not None:
                response.headers["Retry-After"] = str(max(1, math.ceil(breached.reset_at - time.time())))
        return response
