"""A rejecting 997 / CONTRL names where the error is: the segment, its position in the message, the element; and
an EDIFACT interchange's errors name EDIFACT elements (QTY01.3), not X12 ones (UIT01)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cogrow.edi import edifact, services, x12
from cogrow.edi.documents import Bucket, ForecastDoc, ForecastItem
from tests.edi.conftest import PRIME_ID, week
from tests.edi.support import envelope
from tests.edi.test_edifact_pipeline import edifact_partner, sent_by  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("in_request", "items")


def _forecast(items, uom="EA", parts=None):
    return ForecastDoc("DF-1", week(0), week(4) - timedelta(days=1), tuple(
        ForecastItem(part, uom, tuple(Bucket(week(n), Decimal(40), "planning") for n in range(4)))
        for part in (parts or [item.prime_part_number for item in items])))


def _positions(text, terminator, separator="+"):
    """{segment position: tag} of a written interchange (one segment per terminator, UNA counted)."""
    return {i: seg.strip()[:3].split(separator)[0] for i, seg in enumerate(text.split(terminator)[:-1], start=1)}


def test_a_delfor_in_another_unit_names_qty01_3_and_its_contrl_places_it(tenant_a, items, planner,
                                                                         edifact_partner):  # noqa: F811
    text = edifact.write([_forecast(items, uom="KG")], sent_by(PRIME_ID, "601"), edifact_partner)
    batch, rejection = services.receive(planner, tenant_a.relationship.id, None, text.encode())
    assert batch.status == "invalid"
    tags = _positions(text, "'")
    unh = next(p for p, t in tags.items() if t == "UNH")
    lins = [p for p, t in tags.items() if t == "LIN"]
    assert sorted((e["row"], e["column"]) for e in batch.errors) == [(p, "QTY01.3") for p in lins]
    # Placed in message 1 at the LIN's position counted from UNH = 1; QTY01.3 is not an element of LIN, so no UCD.
    assert "UCM+1+DELFOR:D:96A:UN+4'" in rejection and "UCI+601+" in rejection
    assert [f"UCS+{p - unh + 1}+18'" in rejection for p in lins] == [True] * len(lins)
    _env, (ack,) = edifact.parse(rejection, edifact_partner)
    assert not ack.accepted and [m.control_number for m in ack.messages][:1] == ["1"]


def test_a_parse_error_keeps_its_segment_position_and_element_in_the_contrl(tenant_a, items, planner,
                                                                            edifact_partner):  # noqa: F811
    text = edifact.write([_forecast(items)], sent_by(PRIME_ID, "602"), edifact_partner)
    year, number, _day = week(2).isocalendar()
    bad = text.replace(f"DTM+2:{year}{number:02d}:616'", f"DTM+2:{year}{number:02d}:617'", 1)
    batch, rejection = services.receive(planner, tenant_a.relationship.id, None, bad.encode())
    tags = _positions(bad, "'")
    unh = next(p for p, t in tags.items() if t == "UNH")
    position = next(i for i, seg in enumerate(bad.split("'"), start=1) if seg.endswith(":617"))
    assert [(e["row"], e["column"]) for e in batch.errors] == [(position, "DTM01.3")]
    assert f"UCM+1+DELFOR:D:96A:UN+4'UCS+{position - unh + 1}+12'UCD+12+1:3'" in rejection.replace("\n", "")


def test_an_unknown_part_in_an_830_names_lin_its_set_position_and_element_in_the_997(db, tenant_a, planner, items,
                                                                                   partner):
    doc = _forecast(items, parts=[items[0].prime_part_number, "NO-SUCH-PART"])
    text = x12.write([doc], envelope("830", "000000700"), partner)
    batch, rejection = services.receive(planner, tenant_a.relationship.id, None, text.encode())
    assert batch.status == "invalid"
    tags = _positions(text, "~", "*")
    st = next(p for p, t in tags.items() if t == "ST")
    lin = [p for p, t in tags.items() if t == "LIN"][1]
    assert [(e["row"], e["column"]) for e in batch.errors] == [(lin, "LIN03")]
    segments = rejection.replace("\n", "").split("~")
    assert segments[segments.index(f"AK3*LIN*{lin - st + 1}") + 1] == "AK4*03**7", segments
    assert "AK5*R" in segments
