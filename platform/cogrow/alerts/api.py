"""JSON API for alerts: routes attach to the shared /api/v1 blueprint."""
from __future__ import annotations

from cogrow.core.api import bp  # noqa: F401
