"""Helpers for production tests: token headers, URLs and report bodies."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest


def headers(tenant, key="supplier:production", **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def reports_url(tenant, suffix=""):
    return f"/api/v1/relationships/{tenant.relationship.id}/production-reports{suffix}"


def position_url(tenant, item_id=None):
    return f"/api/v1/relationships/{tenant.relationship.id}/items/{item_id or tenant.item.id}/position"


def at(minutes_ago: float = 60) -> str:
    """An ISO time with an offset, `minutes_ago` minutes before now."""
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat()


def report_body(tenant, **overrides):
    body = {"item_id": tenant.item.id, "as_of": at(), "good_qty": "120", "scrap_qty": "3", "wip_qty": "40",
            "fg_on_hand": "500"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.fixture
def supplier_token(tenant_a):
    return headers(tenant_a)
