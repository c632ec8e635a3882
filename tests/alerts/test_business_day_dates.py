"""Dates in alert explanations are business days in Seoul, not UTC dates."""
from __future__ import annotations

from flask_babel import force_locale

from cogrow.alerts.explain import explain


def test_a_po_issued_just_after_midnight_in_seoul_is_unacknowledged_since_that_business_day(app):
    # Issued 2027-01-01 00:30 in Seoul, which is still 2026-12-31 in UTC.
    numbers = {"qty": "100", "value": "150000", "lines": 1, "since": "2026-12-31T15:30:00+00:00", "ack_days": 3}
    with app.test_request_context(), force_locale("en"):
        text = explain("po_unacknowledged", numbers, {"po_numbers": ["PO-1"]}, "KRW")
    assert "Jan 1, 2027" in text and "Dec 31" not in text, text
