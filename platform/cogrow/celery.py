"""Celery bound to the Flask app: every task runs inside an application context."""
from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_settings(app: Flask) -> dict:
    """Celery settings from the app's configuration, per reliability.md."""
    broker = app.config["CELERY_BROKER_URL"]
    backend = app.config["CELERY_RESULT_BACKEND"]
    on_redis = broker.startswith(("redis://", "rediss://"))
    visibility = {"visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT"]}
    settings = {
        "broker_url": broker,
        "result_backend": backend,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_expires": 24 * 3600,
        "timezone": "UTC",
        "enable_utc": True,
        "broker_connection_retry_on_startup": True,
        "task_always_eager": app.config["CELERY_TASK_ALWAYS_EAGER"],
        "task_eager_propagates": True,
        "imports": ["cogrow.core.tasks", "cogrow.imports.tasks", "cogrow.production.tasks", "cogrow.coverage.tasks", "cogrow.alerts.tasks"],
    }
    if on_redis:
        settings["broker_transport_options"] = dict(visibility)
    else:
        # kombu's SQLAlchemy transport hands its options to create_engine: only engine options here.
        # It has no visibility timeout; a lost message there is caught by the outbox relay instead.
        settings["broker_transport_options"] = {"connect_args": {"timeout": 30}}
    if backend.startswith(("redis://", "rediss://")):
        settings["result_backend_transport_options"] = dict(visibility)
    elif backend.startswith("db+sqlite"):
        settings["database_engine_options"] = {"connect_args": {"timeout": 30}}
    return settings


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
