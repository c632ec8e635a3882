"""A database stopped at an older migration and filled with rows as they were then, for the data-migration tests."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from cogrow import config, create_app


def database_url(tmp_path, name: str | None) -> str:
    """SQLite in tmp; on a PostgreSQL run (and with a name) a database of its own beside the suite's, created afresh."""
    base = os.environ.get("COGROW_TEST_DATABASE_URL") or ""
    if name is None or not base.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'old.sqlite'}"
    url = make_url(base)
    database = f"{url.database}_{name}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return url.set(database=database).render_as_string(hide_password=False)


@contextmanager
def database_at(tmp_path, monkeypatch: pytest.MonkeyPatch, revision: str, fill: Callable[[Connection], None],
                name: str | None = None) -> Iterator[tuple]:
    """(app, engine) of a database migrated up to `revision` and filled by `fill`; disposed of afterwards."""
    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    url = database_url(tmp_path, name)
    app = create_app(config.TestingConfig(url))
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision=revision)
    engine: Engine = create_engine(url)
    with engine.begin() as conn:
        fill(conn)
    try:
        yield app, engine
    finally:
        engine.dispose()
        with app.app_context():
            from cogrow.extensions import db

            db.engine.dispose()
