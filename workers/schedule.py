"""The beat schedule, in one place."""
from __future__ import annotations

from datetime import timedelta


def beat_schedule() -> dict:
    return {
        "heartbeat": {
            "task": "cogrow.heartbeat",
            "schedule": timedelta(seconds=60),
            "args": ("worker",),
            "options": {"expires": 55},
        },
    }
