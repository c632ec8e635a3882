"""Engine settings: SQLite in WAL mode with a busy timeout, so web, worker and beat can all write."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from cogrow.extensions import db


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control from pysqlite so that BEGIN and SAVEPOINT behave as documented.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE takes the write lock up front: a reader never has to upgrade to a writer
        # mid-transaction, which is what makes SQLite answer "database is locked" at once.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def init_db(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
