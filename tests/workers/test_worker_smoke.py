"""A real `celery worker` process runs our tasks, inside the Flask app context, on both brokers."""
from __future__ import annotations

import contextlib
import secrets
import sqlite3
import subprocess
from collections.abc import Callable

import pytest

from tests.services import require_redis
from tests.workers.conftest import WorkerEnv, wait_for

pytestmark = pytest.mark.worker

READY_TIMEOUT = 45
RESULT_TIMEOUT = 60
HEARTBEAT_TIMEOUT = 30


def _wait_until_ready(process: subprocess.Popen, worker_env: WorkerEnv) -> None:
    """Fail fast, with the worker's log, if it dies or never says it is ready."""
    ready = wait_for(lambda: process.poll() is not None or " ready." in worker_env.log(), READY_TIMEOUT)
    if process.poll() is not None:
        pytest.fail(f"the worker exited with {process.returncode}:\n{worker_env.log()}")
    if not ready:
        pytest.fail(f"the worker was not ready after {READY_TIMEOUT}s:\n{worker_env.log()}")


def _heartbeat_names(worker_env: WorkerEnv) -> set[str]:
    with contextlib.closing(sqlite3.connect(worker_env.database_path, timeout=5)) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM heartbeat")}


def _close_celery(celery_app) -> None:
    """Release what the client side holds: result consumers, the backend's engines, the broker pool."""
    backend = celery_app.backend
    consumer = getattr(backend, "result_consumer", None)
    if consumer is not None:
        with contextlib.suppress(Exception):
            consumer.stop()
    client = getattr(backend, "client", None)
    if client is not None and hasattr(client, "close"):
        client.close()
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            pool.disconnect()
    session_manager = getattr(backend, "session_manager", None)
    if session_manager is not None:
        session_manager.invalidate(backend.url)
    celery_app.close()


def _exercise_worker(worker_env: WorkerEnv, start_worker: Callable[[WorkerEnv], subprocess.Popen]) -> None:
    from cogrow import create_app
    from cogrow.extensions import db

    process = start_worker(worker_env)
    _wait_until_ready(process, worker_env)

    app = create_app()
    celery_app = app.extensions["celery"]
    try:
        token = f"hello-{secrets.token_hex(8)}"
        result = celery_app.send_task("cogrow.smoke", args=[token])
        try:
            try:
                answer = result.get(timeout=RESULT_TIMEOUT)
            except Exception as exc:  # show the worker's side of the story
                pytest.fail(f"cogrow.smoke failed: {exc!r}\n{worker_env.log()}")
        finally:
            result.forget()
        assert answer == {"token": token, "organisations": worker_env.organisations, "dialect": "sqlite"}

        beat = celery_app.send_task("cogrow.heartbeat", args=["worker-test"])
        beat.forget()
        seen = wait_for(lambda: "worker-test" in _heartbeat_names(worker_env), HEARTBEAT_TIMEOUT)
        assert seen, f"no heartbeat row after {HEARTBEAT_TIMEOUT}s:\n{worker_env.log()}"
        assert process.poll() is None, worker_env.log()
    finally:
        _close_celery(celery_app)
        with app.app_context():
            db.engine.dispose()


def test_worker_runs_smoke_task_on_embedded_sqlite_broker(embedded_env: WorkerEnv, start_worker) -> None:
    _exercise_worker(embedded_env, start_worker)


@pytest.mark.redis
def test_worker_runs_smoke_task_on_redis_broker(request: pytest.FixtureRequest, start_worker) -> None:
    require_redis()
    _exercise_worker(request.getfixturevalue("redis_env"), start_worker)


def test_beat_schedule_names_registered_tasks(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cogrow import create_app
    from workers.schedule import beat_schedule

    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))  # keep the development secret out of the repository
    monkeypatch.setenv("COGROW_DATABASE_URL", f"sqlite:///{tmp_path / 'app.sqlite'}")
    monkeypatch.setenv("COGROW_BROKER_URL", f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}")
    monkeypatch.delenv("COGROW_RESULT_BACKEND", raising=False)
    celery_app = create_app().extensions["celery"]
    celery_app.loader.import_default_modules()
    registered = set(celery_app.tasks.keys())
    schedule = beat_schedule()
    assert schedule, "the beat schedule is empty"
    missing = {name: entry["task"] for name, entry in schedule.items() if entry["task"] not in registered}
    assert not missing, f"scheduled tasks that no worker knows: {missing}"
