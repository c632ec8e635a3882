"""Every alert says why it fired, with its numbers, in the reader's language."""
from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from cogrow.alerts.explain import explain

EXCESS = {"fg_on_hand": "1540", "wip": "200", "guaranteed": "1200", "open_po": "800", "firm_uncovered": "400",
          "fab_authorized": "0", "cum_shipped": "0", "excess": "540", "exposure_amount": "8100000", "material_cover": "0"}


def _numbers(text: str) -> list[str]:
    return [n.rstrip(",") for n in re.findall(r"\d[\d,]*", text)]


def test_excess_explanation_in_english_reads_like_the_domain_example(app):
    with app.test_request_context(), force_locale("en"):
        text = explain("excess_inventory", EXCESS, {}, "KRW")
    assert text == ("FG 1,540 + WIP 200 against guaranteed 1,200 (open PO 800 + firm forecast 400); "
                    "540 units, ₩8,100,000 uncovered")


def test_excess_explanation_in_korean_carries_the_same_numbers(app):
    with app.test_request_context(), force_locale("ko"):
        text = explain("excess_inventory", EXCESS, {}, "KRW")
    # Korean word order differs from English: the same numbers, in the order the sentence needs them.
    assert sorted(_numbers(text)) == sorted(["1,540", "200", "1,200", "800", "400", "540", "8,100,000"])
    assert "₩" in text


def test_excess_explained_by_an_authorization_names_it(app):
    numbers = {**EXCESS, "open_po": "100", "firm_uncovered": "0", "fab_authorized": "1500", "cum_shipped": "300"}
    with app.test_request_context(), force_locale("en"):
        text = explain("excess_inventory", numbers, {}, "KRW")
    assert "FAB authorization 1,500 − shipped 300" in text


@pytest.mark.parametrize("alert_type, numbers, context, expected", [
    ("projected_excess", {"supply": "500", "guaranteed": "400", "projected_excess_qty": "120",
                          "projected_excess_week": "2026-12-07", "value": "180000"}, {}, ["500", "400", "120", "180,000"]),
    ("shortage_risk", {"supply": "50", "shortage_qty": "70", "shortage_week": "2026-12-07", "value": "105000"}, {},
     ["70", "50", "105,000"]),
    ("po_unacknowledged", {"qty": "100", "value": "150000", "lines": 2, "since": "2026-11-20T01:00:00+00:00",
                           "ack_days": 3}, {"po_numbers": ["PO-7"]}, ["PO-7", "100", "150,000"]),
    ("asn_overdue", {"qty": "60", "value": "90000", "lines": 1, "since": "2026-11-20"}, {"po_numbers": ["PO-9"]},
     ["PO-9", "60", "90,000"]),
])
@pytest.mark.parametrize("locale", ["en", "ko"])
def test_every_alert_type_explains_itself_with_its_numbers(app, alert_type, numbers, context, expected, locale):
    with app.test_request_context(), force_locale(locale):
        text = explain(alert_type, numbers, context, "KRW")
    for fragment in expected:
        assert fragment in text, (fragment, text)
