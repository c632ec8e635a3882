"""Fixtures for the worker tests: an isolated var/ directory, a migrated database and a real worker process."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")
REDIS_TEST_URL = "redis://127.0.0.1:6379/14"
ORGANISATIONS = (("Worker Prime", "prime"), ("Worker Supplier", "supplier"), ("Worker Supplier Two", "supplier"))

_INSERT_ORGANISATIONS = """
import json, sys
from cogrow import create_app
from cogrow.accounts.services import create_organisation
from cogrow.extensions import db

app = create_app()
with app.app_context():
    for name, kind in json.loads(sys.argv[1]):
        create_organisation(name, kind)
    db.session.commit()
    db.engine.dispose()
"""


@dataclass
class WorkerEnv:
    """What a worker test needs to know about its environment."""

    root: Path
    env: dict[str, str]
    organisations: int
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.root / "worker.log"

    @property
    def database_path(self) -> Path:
        return self.root / "app.sqlite"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _run(args: list[str], env: dict[str, str]) -> None:
    completed = subprocess.run(
        args, cwd=REPO_ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"{' '.join(args[:4])}... failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")


def _prepare(root: Path, broker: str, backend: str, monkeypatch: pytest.MonkeyPatch) -> WorkerEnv:
    env = {
        "COGROW_VAR_DIR": str(root),
        "COGROW_DATABASE_URL": f"sqlite:///{root / 'app.sqlite'}",
        "COGROW_BROKER_URL": broker,
        "COGROW_RESULT_BACKEND": backend,
        "COGROW_CELERY_EAGER": "false",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _run([str(FLASK), "--app", "cogrow", "db", "upgrade"], env)
    _run([sys.executable, "-c", _INSERT_ORGANISATIONS, json.dumps(ORGANISATIONS)], env)
    return WorkerEnv(root=root, env=env, organisations=len(ORGANISATIONS))


@pytest.fixture(autouse=True)
def _restore_celery_default_app() -> Iterator[None]:
    """create_app() makes its Celery app the process default; put the previous one back so that later
    tests do not send their tasks to this test's temporary broker."""
    from celery import _state

    default, current = _state.default_app, _state._tls.current_app
    yield
    _state.set_default_app(default)
    _state._set_current_app(current)


@pytest.fixture
def embedded_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WorkerEnv:
    """SQLite everywhere: the kombu SQLAlchemy broker and the database result backend."""
    return _prepare(
        tmp_path,
        broker=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        backend=f"db+sqlite:///{tmp_path / 'results.sqlite'}",
        monkeypatch=monkeypatch,
    )


@pytest.fixture
def redis_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerEnv]:
    """Redis database 14 as broker and result backend, flushed before and after."""
    import redis

    def flush() -> None:
        client = redis.Redis.from_url(REDIS_TEST_URL)
        try:
            client.flushdb()
        finally:
            client.close()

    flush()
    try:
        yield _prepare(tmp_path, broker=REDIS_TEST_URL, backend=REDIS_TEST_URL, monkeypatch=monkeypatch)
    finally:
        flush()


@pytest.fixture
def start_worker() -> Iterator[Callable[[WorkerEnv], subprocess.Popen]]:
    """Start `celery -A workers.celery_app worker` for an environment; always stopped at teardown."""
    started: list[tuple[subprocess.Popen, object]] = []

    def start(worker_env: WorkerEnv) -> subprocess.Popen:
        log = open(worker_env.log_path, "wb")  # noqa: SIM115 - closed at teardown
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
                 "--pool", "solo", "--loglevel", "INFO",
                 "--without-heartbeat", "--without-mingle", "--without-gossip"],
                cwd=REPO_ROOT,
                env={**os.environ, **worker_env.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            log.close()
            raise
        started.append((process, log))
        return process

    yield start

    for process, log in started:
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        finally:
            with contextlib.suppress(Exception):
                log.close()  # type: ignore[attr-defined]


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.25) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
