"""Property: any order and forecast, with any separators, written as EDIFACT and read back is the same document
(the release character escapes whatever the values hold)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cogrow.edi import edifact
from cogrow.edi.documents import Bucket, EdiError, ForecastDoc, ForecastItem, OrderLine, PurchaseOrderDoc
from tests.edi.support import unplaced
from tests.edi.test_edifact import envelope, partner

MARKS = "+:'?*|~!^#@$%&"
text = st.text(st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("가나다"), min_size=1,
               max_size=20)
quantity = st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False)
day = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@st.composite
def separators(draw):
    element, component, terminator, release = draw(st.lists(st.sampled_from(MARKS), min_size=4, max_size=4,
                                                            unique=True))
    return {"element_separator": element, "component_separator": component, "segment_terminator": terminator,
            "repetition_separator": release}


@st.composite
def orders(draw):
    lines = draw(st.lists(st.tuples(text, quantity, day, quantity, st.sampled_from(["KRW", "USD"])), min_size=1,
                          max_size=5))
    return PurchaseOrderDoc(draw(text), draw(day), tuple(
        OrderLine(n, part, qty, "EA", due, price, currency)
        for n, (part, qty, due, price, currency) in enumerate(lines, start=1)), currency="KRW")


@st.composite
def forecasts(draw):
    start = draw(day)
    monday = start - timedelta(days=start.weekday())
    items = draw(st.lists(st.tuples(text, st.lists(st.tuples(quantity, st.sampled_from(
        ["firm", "material", "planning"])), min_size=1, max_size=8)), min_size=1, max_size=3))
    return ForecastDoc(draw(text), monday, monday + timedelta(weeks=8, days=-1), tuple(
        ForecastItem(part, "EA", tuple(Bucket(monday + timedelta(weeks=w), qty, zone)
                                       for w, (qty, zone) in enumerate(buckets)))
        for part, buckets in items))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seps=separators(), doc=st.one_of(orders(), forecasts()))
def test_write_then_parse_gives_the_same_document(seps, doc):
    p = partner(**seps)
    _env, docs = edifact.parse(edifact.write([doc], envelope(), p), p)
    assert unplaced(docs) == [doc]


@settings(max_examples=300, deadline=None)
@given(cuts=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 6), st.text(st.sampled_from(MARKS + "UNABZ019 \r\n"),
                                                                              max_size=4)), min_size=1, max_size=3))
def test_a_damaged_interchange_raises_edierror_and_nothing_else(cuts):
    p = partner()
    text = edifact.write([next_order()], envelope(), p)
    for at, length, insert in cuts:
        at %= len(text) + 1
        text = text[:at] + insert + text[at + length:]
    try:
        edifact.parse(text, p)
        edifact.peek(text, p)
    except EdiError as error:
        assert error.segment and error.position >= 1 and error.message


def next_order() -> PurchaseOrderDoc:
    return PurchaseOrderDoc("PO-1", date(2026, 11, 18), (
        OrderLine(1, "P?1", Decimal("12.5"), "EA", date(2026, 12, 1), Decimal(900), "KRW"),
        OrderLine(2, "P'2", Decimal(3), "EA", date(2026, 12, 8), Decimal(10), "USD")))
