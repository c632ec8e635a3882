"""The beat schedule, in one place."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from celery.schedules import crontab


def beat_schedule(config: Mapping[str, Any] | None = None) -> dict:
    """The periodic tasks; `config` is the Flask app's configuration (read from the environment when None)."""
    if config is None:
        from cogrow.config import Config

        config = vars(Config())
    relay_seconds = int(config.get("OUTBOX_RELAY_SECONDS", 2))
    sweep_minutes = int(config.get("COVERAGE_SWEEP_MINUTES", 15))
    return {
        "heartbeat": {
            "task": "cogrow.heartbeat",
            "schedule": timedelta(seconds=60),
            "args": ("worker",),
            "options": {"expires": 55},
        },
        # No expiry (reliability.md): a relay message that waited is still run. A relay that finds nothing to do
        # costs one indexed query, and messages that piled up behind a stopped worker are skipped (coverage.tasks).
        "outbox-relay": {
            "task": "cogrow.coverage.relay",
            "schedule": timedelta(seconds=relay_seconds),
        },
        # Two beats may both send it: the task's (job, period) lock row lets one of them run; a late one finds
        # its period done, so it needs no expiry either.
        "coverage-sweep": {
            "task": "cogrow.coverage.sweep",
            "schedule": timedelta(minutes=sweep_minutes),
        },
        # Notification deliveries whose task was lost are re-queued; their senders' claims make repeats harmless.
        "alert-retries": {
            "task": "cogrow.alerts.retry_due",
            "schedule": timedelta(seconds=60),
            "options": {"expires": 55},
        },
        # Forecast notices (firm cuts, commits below forecast) whose e-mail failed are sent again.
        "forecast-notices": {
            "task": "cogrow.forecasts.send_notices",
            "schedule": timedelta(minutes=1),
            "options": {"expires": 55},
        },
        # Finished Idempotency-Key records older than a day are forgotten.
        "idempotency-purge": {
            "task": "cogrow.production.purge_idempotency",
            "schedule": crontab(minute=17),
            "options": {"expires": 3000},
        },
        # Monthly partitions of production reports and machine readings (PostgreSQL): the next three months made
        # ahead, months past the retention dropped when the ledger no longer needs them. Daily at 03:40 in Seoul
        # (18:40 UTC); the task's (job, day) row lets one of two beats run it, a late copy finds the day done.
        "production-partitions": {
            "task": "cogrow.production.maintain_partitions",
            "schedule": crontab(hour=18, minute=40),
            "options": {"expires": 3600},
        },
        # The forecast reliability of the weeks that ended: daily at 00:20 in Seoul (15:20 UTC), so a week is stored
        # the Monday after it; the task's (job, day) row lets one of two beats run it.
        "reliability-nightly": {
            "task": "cogrow.reliability.nightly",
            "schedule": crontab(hour=15, minute=20),
            "options": {"expires": 3600},
        },
        # 08:00 in Asia/Seoul (UTC+9, no daylight saving time) is 23:00 UTC; the beat runs in UTC.
        "alert-digests": {
            "task": "cogrow.alerts.send_digests",
            "schedule": crontab(hour=23, minute=0),
            "options": {"expires": 3600},
        },
    }
