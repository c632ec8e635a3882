"""The X12 syntax on its own: a hand-written 830 read element by element, every message written and read back,
and the envelope errors that name their segment."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cogrow.edi import x12
from cogrow.edi.documents import (AckDoc, AsnDoc, AsnLine, AsnOrder, Authorization, Bucket, EdiError, ForecastDoc,
                                  ForecastItem, LineChange, OrderLine, PurchaseOrderDoc)
from cogrow.edi.periods import split_period
from tests.edi.support import PRIME_ID, SUPPLIER_ID, envelope, unplaced, x12_partner

pytestmark = pytest.mark.usefixtures("in_request")

ISA = (f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{PRIME_ID:<15}*01*{SUPPLIER_ID:<15}*261118*0930*U*00401*000000007*0*P*>~")
BODY_830 = [
    "ST*830*0001",
    "BFR*00*FC-77**DL*A*20261116*20270514*20261118",
    "LIN**BP*ED-1",
    "UIT*PC",
    "FST*100*C*W*20261118",             # a week: all of it to the week of Wed 18 Nov
    "FST*70*D*F*20261130*20261213",     # 14 days over two whole weeks: 35 + 35
    "FST*31*D*M*20270101",              # January: 3 days in the week of 28 Dec, then 7 + 7 + 7 + 7
    "ATH*FI*20270514*500**20260101",
    "ATH*MT*20270514*800**20260101",
    "SHP*02*120*051*20260101**20261118",
    "CTT*1",
    "SE*12*0001",
]


def interchange(body: list[str], ending: str = "\n", isa: str = ISA, gs_count: str = "1") -> str:
    lines = [isa[:-1], "GS*PS*PRIMEAPP*SUPPLIERA*20261118*0930*7*X*004010", *body, f"GE*{gs_count}*7",
             "IEA*1*000000007"]
    return "".join(line + "~" + ending for line in lines)


def test_isa_is_106_characters():
    assert len(ISA) == 106


@pytest.mark.parametrize("prefix, ending", [("", "\n"), ("\ufeff", "\r\n"), ("", ""), ("\r\n  ", "\r\n")])
def test_a_hand_written_830_is_read_element_by_element_whatever_its_line_ends(prefix, ending):
    env, docs = x12.parse(prefix + interchange(BODY_830, ending), x12_partner())
    assert (env.sender_id, env.receiver_id, env.control_number, env.message_type, env.group_control_number) == \
        (PRIME_ID, SUPPLIER_ID, "000000007", "830", "7")
    assert env.date == date(2026, 11, 18) and not env.test
    weeks = [(date(2026, 11, 16), "100", "firm"), (date(2026, 11, 30), "35", "planning"),
             (date(2026, 12, 7), "35", "planning"), (date(2026, 12, 28), "3", "planning"),
             (date(2027, 1, 4), "7", "planning"), (date(2027, 1, 11), "7", "planning"),
             (date(2027, 1, 18), "7", "planning"), (date(2027, 1, 25), "7", "planning")]
    assert unplaced(docs) == [ForecastDoc(
        reference="FC-77", horizon_start=date(2026, 11, 16), horizon_end=date(2027, 5, 14), items=(ForecastItem(
            part_number="ED-1", uom="EA", buckets=tuple(Bucket(w, Decimal(q), z) for w, q, z in weeks),
            authorizations=(Authorization("FAB", date(2026, 1, 1), Decimal(500)),
                            Authorization("RAW", date(2026, 1, 1), Decimal(800))),
            shipped_cum=Decimal(120), shipped_cum_start=date(2026, 1, 1)),))]
    assert docs[0].items[0].buckets[0].position == 7  # ISA, GS, ST, BFR, LIN, UIT, then this FST

def test_period_split_adds_up_and_spreads_the_remainder():
    parts = split_period(date(2026, 12, 1), date(2026, 12, 31), Decimal(100))
    assert sum(q for _w, q in parts) == 100
    assert [q for _w, q in parts] == [Decimal(19), Decimal(22), Decimal(23), Decimal(23), Decimal(13)]
    assert split_period(date(2026, 12, 2), date(2026, 12, 2), Decimal("7.5")) == [(date(2026, 11, 30), Decimal("7.5"))]


DOCS = {
    "830": [ForecastDoc("R1V3", date(2026, 11, 16), date(2027, 5, 16), (
        ForecastItem("ED-1", "EA", (Bucket(date(2026, 11, 16), Decimal("12.5"), "firm"),
                                    Bucket(date(2026, 11, 23), Decimal(0), "planning")),
                     (Authorization("FAB", date(2026, 1, 1), Decimal(40)),), Decimal(9), date(2026, 1, 1)),
        ForecastItem("ED-2", "KG", (Bucket(date(2026, 11, 16), Decimal(3), "firm"),)),))],
    "862": [ForecastDoc("R1V3F", date(2026, 11, 16), date(2026, 12, 13), (
        ForecastItem("ED-1", "EA", (Bucket(date(2026, 11, 16), Decimal(5), "firm"),
                                    Bucket(date(2026, 12, 7), Decimal(6), "firm"))),), firm_only=True)],
    "850": [PurchaseOrderDoc("PO-9", date(2026, 11, 18), (
        OrderLine(1, "ED-1", Decimal(100), "EA", date(2026, 12, 4), Decimal("1500.5"), "KRW"),
        OrderLine(2, "ED-2", Decimal(7), "KG", date(2027, 1, 8), Decimal(20), "KRW")), "KRW")],
    "855": [AckDoc("PO-9", "propose", (LineChange(1, Decimal(80), None), LineChange(2, None, date(2027, 1, 15)),
                                       LineChange(3, Decimal(1), date(2027, 2, 1))), "late steel")],
    "856": [AsnDoc("ASN-77", date(2026, 11, 18), (
        AsnOrder("PO-9", (AsnLine(1, "ED-1", Decimal(60), "EA"), AsnLine(2, "ED-2", Decimal(7), "KG"))),
        AsnOrder("PO-10", (AsnLine(4, "ED-1", Decimal(1), "EA"),))), date(2026, 11, 20))],
}


@pytest.mark.parametrize("message", sorted(DOCS))
def test_every_message_written_reads_back_as_the_same_documents(message):
    partner = x12_partner()
    sender = PRIME_ID if message in ("830", "862", "850") else SUPPLIER_ID
    receiver = SUPPLIER_ID if sender == PRIME_ID else PRIME_ID
    text = x12.write(DOCS[message], envelope(message, sender=sender, receiver=receiver), partner)
    env, docs = x12.parse(text, partner)
    assert env.message_type == message and env.control_number == "000000101"
    assert unplaced(docs) == DOCS[message]
    assert ("*PC~" in text or "*PC*" in text) == (message != "855")  # units go out through the partner's list


@pytest.mark.parametrize("action", ["acknowledge", "reject"])
def test_an_acknowledgement_or_a_rejection_reads_back(action):
    partner = x12_partner()
    doc = AckDoc("PO-9", action, reason="no capacity" if action == "reject" else "")
    text = x12.write([doc], envelope("855", sender=SUPPLIER_ID, receiver=PRIME_ID), partner)
    assert unplaced(x12.parse(text, partner)[1]) == [doc]


@pytest.mark.parametrize("accepted", [True, False])
def test_a_997_tells_accepted_from_rejected(accepted):
    partner = x12_partner()
    received, _docs = x12.parse(interchange(BODY_830), partner)
    errors = [] if accepted else [EdiError("FST", 7, "FST04", "bad date")]
    text = x12.functional_ack(received, accepted, errors, envelope("997", "000000055", SUPPLIER_ID, PRIME_ID),
                              partner)
    env, (ack,) = x12.parse(text, partner)
    assert env.message_type == "997" and ack.control_number == "7" and ack.accepted is accepted
    assert ack.messages[0].accepted is accepted
    assert ack.errors == (() if accepted else ("FST #7", "04: 7"))


def _error(text: str) -> EdiError:
    with pytest.raises(EdiError) as caught:
        x12.parse(text, x12_partner())
    return caught.value


def _replace(old: str, new: str) -> list[str]:
    return [new if line == old else line for line in BODY_830]


@pytest.mark.parametrize("text, segment, element", [
    (interchange(_replace("SE*12*0001", "SE*11*0001")), "SE", "SE01"),
    (interchange(_replace("SE*12*0001", "SE*12*0002")), "SE", "SE02"),
    (interchange(BODY_830, gs_count="2"), "GE", "GE01"),
    (interchange(BODY_830).replace("IEA*1*000000007", "IEA*1*000000008"), "IEA", "IEA02"),
    (interchange(BODY_830)[:-60], "SE", None),                                    # truncated inside the set
    (interchange(BODY_830).rsplit("IEA", 1)[0], "IEA", None),                     # truncated before the IEA
    (interchange(BODY_830)[:90], "ISA", None),                                    # truncated inside the ISA
    (interchange(BODY_830).replace("*", "|").replace("ISA|", "ISA*", 1), "ISA", "ISA16"),  # wrong separators
    (interchange(BODY_830).replace("~\nGS*", "~\nGS|"), "GS|PS", None),           # a separator the ISA did not declare
    (interchange(BODY_830).replace("*ZZ*", "*QQ*", 1), "ISA", "ISA05"),           # unknown qualifier
    (interchange(_replace("FST*100*C*W*20261118", "FST*100*X*W*20261118")), "FST", "FST02"),
    (interchange(_replace("FST*100*C*W*20261118", "FST*100*C*W*20261318")), "FST", "FST04"),  # bad date
    (interchange(_replace("FST*100*C*W*20261118", "FST*1e9999*C*W*20261118")), "FST", "FST01"),
    (interchange(_replace("UIT*PC", "UIT*E-A")), "UIT", "UIT01"),                 # not a unit code
    (interchange(_replace("CTT*1", "CTT*2")), "CTT", "CTT01"),
    (interchange(_replace("ATH*FI*20270514*500**20260101", "ATH*XX*20270514*500**20260101")), "ATH", "ATH01"),
    (interchange(BODY_830).replace("261118*0930", "261340*0930"), "ISA", "ISA09"),
    (interchange(BODY_830).replace("SUPPLIERA      ", "STRANGER       "), "ISA", "ISA08"),
])
def test_a_bad_interchange_names_its_segment_and_element(text, segment, element):
    error = _error(text)
    assert (error.segment, error.element) == (segment, element)
    assert error.position >= 1 and error.message


def test_the_error_position_counts_segments_from_the_isa():
    error = _error(interchange(_replace("FST*100*C*W*20261118", "FST*100*C*W*2026111")))
    assert (error.segment, error.position, error.element) == ("FST", 7, "FST04")


# ---------------------------------------------------------------- properties

from datetime import timedelta  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _split_by_days(start, end, quantity):
    """The slow reference: walk the period day by day, floor of the cumulative share at each week's last day."""
    days = (end - start).days + 1
    out, before, counted, day = {}, Decimal(0), 0, start
    while day <= end:
        counted += 1
        monday = day - timedelta(days=day.weekday())
        if day.weekday() == 6 or day == end:
            upto = (quantity * counted / days).quantize(Decimal(1).scaleb(min(quantity.as_tuple().exponent, 0)),
                                                        rounding="ROUND_FLOOR")
            out[monday] = upto - before
            before = upto
        day += timedelta(days=1)
    return sorted(out.items())


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2026, 1, 1), date(2028, 12, 31)), st.integers(0, 120),
       st.decimals(0, 100000, places=2, allow_nan=False, allow_infinity=False))
def test_the_period_split_matches_a_day_by_day_reference_and_adds_up(start, length, quantity):
    end = start + timedelta(days=length)
    parts = split_period(start, end, quantity)
    assert sum(q for _w, q in parts) == quantity
    assert parts == _split_by_days(start, end, quantity)
    assert all(w.weekday() == 0 and start - timedelta(days=6) <= w <= end for w, _q in parts)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_interchange_raises_edi_error_and_nothing_else(data):
    text = interchange(BODY_830)
    for _ in range(data.draw(st.integers(1, 4))):
        if not text:
            break
        at = data.draw(st.integers(0, len(text) - 1))
        action = data.draw(st.sampled_from(["delete", "replace", "insert", "cut"]))
        char = data.draw(st.sampled_from(list("*~>^\r\n 0A-.:+'?\ufeff\x00é")))
        text = {"delete": text[:at] + text[at + 1:], "replace": text[:at] + char + text[at + 1:],
                "insert": text[:at] + char + text[at:], "cut": text[:at]}[action]
    try:
        x12.parse(text, x12_partner())
    except EdiError as error:
        assert error.segment and error.position >= 1 and error.message
