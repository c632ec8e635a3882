"""EDIFACT D96A: every message written then read gives the same documents; bad interchanges name where."""
from __future__ import annotations

import dataclasses
import re
import time as clock
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from cogrow.core.weeks import current_week, local_today
from cogrow.edi import edifact, registry
from cogrow.edi.documents import (
    AckDoc,
    AckedMessage,
    AsnDoc,
    AsnLine,
    AsnOrder,
    Authorization,
    Bucket,
    EdiError,
    Envelope,
    ForecastDoc,
    ForecastItem,
    FunctionalAckDoc,
    LineChange,
    OrderLine,
    PurchaseOrderDoc,
)
from cogrow.edi.models import PartnerSettings
from tests.edi.support import unplaced

PRIME = ("PRIME0001", "14")
SUPPLIER = ("SME-77", "ZZ")


def partner(**separators) -> PartnerSettings:
    values = {"element_separator": "+", "component_separator": ":", "segment_terminator": "'",
              "repetition_separator": "?"} | separators
    return PartnerSettings(standard="edifact", version="D96A", prime_qualifier=PRIME[1], prime_edi_id=PRIME[0],
                           supplier_qualifier=SUPPLIER[1], supplier_edi_id=SUPPLIER[0], uom_codes={"PCE": "EA"},
                           test_mode=False, **values)


def envelope(sender=PRIME, receiver=SUPPLIER, control="4711", test=False) -> Envelope:
    return Envelope(sender[0], sender[1], receiver[0], receiver[1], control, local_today(), time(9, 30),
                    "edifact", "D96A", test=test)


def week(n: int) -> date:
    return current_week() + timedelta(weeks=n)


def forecast(items: int = 2, weeks: int = 26) -> ForecastDoc:
    zones = ["firm"] * 4 + ["material"] * 4 + ["planning"] * (weeks - 8)
    return ForecastDoc(
        reference="FC-2026-48", horizon_start=week(0), horizon_end=week(weeks) - timedelta(days=1),
        items=tuple(
            ForecastItem(f"P-{i:05d}", "EA",
                         buckets=tuple(Bucket(week(w), Decimal(100 + w + i), zones[w]) for w in range(weeks)),
                         authorizations=(Authorization("FAB", week(-20), Decimal(1200 + i)),
                                         Authorization("RAW", week(-20), Decimal("1500.5"))),
                         shipped_cum=Decimal(800), shipped_cum_start=week(-20))
            for i in range(items)))


def order() -> PurchaseOrderDoc:
    return PurchaseOrderDoc("PO-9001", local_today(), (
        OrderLine(1, "P-00001", Decimal(250), "EA", week(2) + timedelta(days=2), Decimal("1250.5"), "KRW"),
        OrderLine(2, "BOLT+M8:ZN'?", Decimal("12.5"), "KG", week(5), Decimal(80), "USD"),
    ), currency="KRW")


def roundtrip(docs, env=None, p=None):
    p = p or partner()
    env = env or envelope()
    text = edifact.write(docs, env, p)
    got_env, got = edifact.parse(text, p)
    assert got_env == dataclasses.replace(env, message_type=got_env.message_type)
    assert unplaced(got) == list(docs)
    return text


def position_of(text: str, starts: str) -> int:
    """1-based position of the first segment starting with `starts` (UNA counts)."""
    segments = re.split(r"(?<!\?)'", text)
    return next(i for i, seg in enumerate(segments, start=1) if seg.strip().startswith(starts))


# ---------------------------------------------------------------- round trips, one per message


def test_delfor_roundtrip_keeps_zones_authorizations_and_cumulative():
    text = roundtrip([forecast()])
    assert "SCC+1'" in text and "SCC+3'" in text and "SCC+4'" in text and "SCC+2'" in text
    year, number, _ = week(0).isocalendar()
    assert f"DTM+2:{year}{number:02d}:616'" in text
    assert "QTY+113:100:PCE'" in text           # Cogrow's EA through the partner's code list


def test_orders_roundtrip_with_release_characters_and_line_currency():
    text = roundtrip([order()], envelope(test=True))
    assert "BOLT?+M8?:ZN?'??" in text            # the release character escapes every separator
    assert "CNT+2:2'" in text and "+4711++++++1'" in text      # UNB11: the test indicator


@pytest.mark.parametrize("ack", [
    AckDoc("PO-9001", "acknowledge"),
    AckDoc("PO-9001", "reject", reason="Tooling down until week 3; we cannot supply this order. " * 3),
    AckDoc("PO-9001", "propose", (LineChange(1, Decimal(200), None), LineChange(2, None, date(2027, 1, 4)),
                                  LineChange(3, Decimal("7.25"), date(2026, 12, 28)))),
])
def test_ordrsp_roundtrip(ack):
    text = roundtrip([ack], envelope(SUPPLIER, PRIME))
    code = {"acknowledge": "29", "reject": "27", "propose": "30"}[ack.action]
    assert f"BGM+231+PO-9001+{code}'" in text


def test_desadv_roundtrip_keeps_the_cps_hierarchy():
    asn = AsnDoc("ASN-17", local_today(), (
        AsnOrder("PO-9001", (AsnLine(1, "P-00001", Decimal(100), "EA"), AsnLine(2, "P-00002", Decimal(5), "KG"))),
        AsnOrder("PO-9002", (AsnLine(4, "P-00001", Decimal(60), "EA"),)),
    ), expected_date=local_today() + timedelta(days=2))
    text = roundtrip([asn], envelope(SUPPLIER, PRIME))
    assert "CPS+1'" in text and "CPS+2+1'" in text and "CPS+3+1'" in text
    assert "RFF+ON:PO-9002:4'" in text


def test_several_messages_in_one_interchange():
    text = roundtrip([forecast(1, 3), dataclasses.replace(forecast(1, 3), reference="FC-2")])
    assert "UNZ+2+4711'" in text and "UNH+2+DELFOR:D:96A:UN'" in text


def test_custom_separators_from_the_partner_roundtrip_and_una_wins_over_settings():
    custom = partner(element_separator="*", component_separator="|", segment_terminator="~",
                     repetition_separator="!")
    text = roundtrip([order()], p=custom)
    assert text.startswith("UNA|*.! ~UNB*UNOC|3*")
    # the UNA in the data says which separators it uses, whatever the settings say
    assert unplaced(edifact.parse(text, partner())[1]) == [order()]
    # without UNA, the partner's separators apply
    assert unplaced(edifact.parse(text[9:], custom)[1]) == [order()]


def test_bom_and_line_break_variants_are_accepted():
    text = edifact.write([order()], envelope(), partner())
    expected = [order()]
    crlf, lf = (re.sub(r"(?<!\?)'", "'" + end, text) for end in ("\r\n", "\n"))   # after each terminator
    for variant in ("\ufeff" + text, crlf, lf, "\ufeff\r\n" + crlf + "\r\n",
                    text.replace("UNA:+.? '", "UNA:+.? '\r\n")):
        assert unplaced(edifact.parse(variant, partner())[1]) == expected


def test_period_ranges_split_into_iso_weeks_by_the_shared_rule():
    """A DELFOR DTM 718 range spreads like an X12 flexible period (cogrow.edi.periods): 14 days over 3 weeks."""
    text = edifact.write([forecast(1, 1)], envelope(), partner())
    start = week(1) + timedelta(days=3)                      # Thursday .. the Wednesday two weeks later
    end = start + timedelta(days=13)
    year, number, _ = week(0).isocalendar()
    text = text.replace(f"QTY+113:100:PCE'DTM+2:{year}{number:02d}:616'",
                        f"QTY+113:140:PCE'DTM+2:{start:%Y%m%d}-{end:%Y%m%d}:718'")
    buckets = edifact.parse(text, partner())[1][0].items[0].buckets
    assert [(b.week_start, b.quantity, b.zone) for b in buckets] == [
        (week(1), Decimal(40), "firm"), (week(2), Decimal(70), "firm"), (week(3), Decimal(30), "firm")]


def test_registered_in_the_core_registry():
    syntax = registry.get("edifact")
    assert syntax.parse is edifact.parse and syntax.messages["forecast"] == "DELFOR"
    assert registry.family_of("edifact", "DESADV") == "asn"
    text = edifact.write([order()], envelope(), partner())
    assert edifact.detect("\ufeff\r\n" + text) and edifact.detect(text[9:]) and not edifact.detect("ISA*00*")


def test_peek_reads_the_envelope_from_the_first_segments_only():
    p = partner()
    text = edifact.write([order()], envelope(test=True), p)
    assert edifact.peek(text, p) == dataclasses.replace(envelope(test=True), message_type="ORDERS")
    # the rest is not read: a broken tail does not matter, a release-escaped terminator in UNB does
    assert edifact.peek(text[:text.index("BGM") + 3], p).control_number == "4711"
    escaped = text.replace("+4711+", "+47?'11+").replace("UNZ+1+4711", "UNZ+1+47?'11")
    assert edifact.peek(escaped[:escaped.index("BGM") + 3], p).control_number == "47'11"
    assert edifact.parse(escaped, p)[0].control_number == "47'11"
    assert edifact.peek(text.replace("UNA:+.? '", "\ufeffUNA:+.? '\r\n"), p).message_type == "ORDERS"
    error = fails_peek(text.replace("SME-77:ZZ", "SME-78:ZZ"), p)
    assert (error.segment, error.position, error.element) == ("UNB", 2, "UNB03")


def fails_peek(text: str, p: PartnerSettings) -> EdiError:
    with pytest.raises(EdiError) as caught:
        edifact.peek(text, p)
    return caught.value


# ---------------------------------------------------------------- CONTRL


def test_contrl_accepts_and_rejects_naming_the_segment():
    p = partner()
    received, _docs = edifact.parse(edifact.write([order()], envelope(), p), p)
    ours = envelope(SUPPLIER, PRIME, control="900")
    accepted = edifact.functional_ack(received, True, [], ours, p)
    assert "UCI+4711+PRIME0001:14+SME-77:ZZ+7'" in accepted
    env, docs = edifact.parse(accepted, p)
    assert env.message_type == "CONTRL" and docs == [FunctionalAckDoc("4711", True, position=docs[0].position)]

    bad = edifact.write([order()], envelope(), p).replace("QTY+21:250:PCE", "QTY+99:250:PCE")
    with pytest.raises(EdiError) as caught:
        edifact.parse(bad, p)
    rejected = edifact.functional_ack(received, False, [caught.value], ours, p)
    assert "UCI+4711+PRIME0001:14+SME-77:ZZ+4'" in rejected and "UCM+1+ORDERS:D:96A:UN+4'" in rejected
    assert unplaced(edifact.parse(rejected, p)[1]) == [FunctionalAckDoc(
        "4711", False, (AckedMessage("1", False, "ORDERS"),), (f"#{position_of(bad, 'QTY+99') - position_of(bad, 'UNH') + 1} 1.1: 12",))]

    envelope_error = EdiError("UNZ", 30, "UNZ01", "count")
    text = edifact.functional_ack(received, False, [envelope_error], ours, p)
    assert "UCI+4711+PRIME0001:14+SME-77:ZZ+4+18+UNZ'" in text
    assert edifact.parse(text, p)[1][0].errors == ("UNZ: 18",)
    error = fails(accepted.replace("SME-77:ZZ+7'", "SME-77:ZZ+9'"))
    assert (error.segment, error.element) == ("UCI", "UCI04")


# ---------------------------------------------------------------- bad input: each names segment, position, element


def fails(text: str, p: PartnerSettings | None = None) -> EdiError:
    with pytest.raises(EdiError) as caught:
        edifact.parse(text, p or partner())
    return caught.value


def test_truncated_interchanges():
    text = edifact.write([order()], envelope(), partner())
    for cut in (len(text) // 2, len(text) - 5, text.index("UNZ"), 7):
        error = fails(text[:cut])
        assert error.position >= 1 and error.message
    error = fails(text[:text.index("UNZ")])
    assert (error.segment, error.position) == ("UNZ", position_of(text, "UNZ"))
    cut = text.index("PRI+AAA") + 4
    error = fails(text[:cut])
    assert (error.segment, error.position) == ("PRI", position_of(text, "PRI+AAA"))


def test_wrong_separators():
    text = edifact.write([order()], envelope(), partner())
    error = fails(text.replace("UNA:+.? '", "UNA:*.? '"))             # UNA says *, the data uses +
    assert (error.segment, error.position, error.element) == ("UNB", 2, "UNA02")
    error = fails(text.replace("UNA:+.? '", "UNA:+.? ~", 1))           # the declared terminator never occurs
    assert (error.segment, error.element) == ("UNB", "UNA06")
    error = fails(text.replace("UNA:+.? '", "UNA|+.? '", 1))           # component separator: UNB01 is one value
    assert (error.segment, error.element) == ("UNB", "UNB01")
    error = fails(text[9:], partner(element_separator="*"))            # no UNA: the partner's separators
    assert (error.segment, error.position, error.element) == ("UNB", 1, None)


@pytest.mark.parametrize("old, new, segment, element", [
    ("SCC+1'", "SCC+7'", "SCC", "SCC01"),                     # delivery plan status the table does not list
    ("QTY+113:", "QTY+66:", "QTY", "QTY01.1"),
    ("LIN+1++P-00000:IN'", "LIN+1++P-00000:SA'", "LIN", "LIN03.2"),
    ("DTM+158:", "DTM+999:", "DTM", "DTM01.1"),
    ("QTY+113:100:PCE'", "QTY+113:100:XYZ'", "QTY", "QTY01.3"),    # unit not in the partner's code list
    ("QTY+113:100:PCE'", "QTY+113:1O0:PCE'", "QTY", "QTY01.2"),
])
def test_unknown_qualifiers_and_values_name_the_element(old, new, segment, element):
    text = edifact.write([forecast(1, 10)], envelope(), partner())
    bad = text.replace(old, new, 1)
    error = fails(bad)
    assert (error.segment, error.position, error.element) == (segment, position_of(bad, new[:-1]), element)


@pytest.mark.parametrize("value, fmt, element", [
    ("20261332", "102", "DTM01.2"),      # month 13
    ("20270229", "102", "DTM01.2"),      # not a leap year
    ("202753", "616", "DTM01.2"),        # 2027 has 52 ISO weeks (2026 has 53)
    ("2026111", "102", "DTM01.2"),       # too short
    ("202611181261", "203", "DTM01.2"),  # minute 61
    ("20261130-20261101", "718", "DTM01.2"),  # range ending before it starts
    ("20261118", "999", "DTM01.3"),      # a format Cogrow does not read
    ("20261118", "", "DTM01.3"),
])
def test_bad_dates(value, fmt, element):
    text = edifact.write([order()], envelope(), partner())
    due = f"DTM+2:{order().lines[0].due_date:%Y%m%d}:102"
    bad = text.replace(due, f"DTM+2:{value}:{fmt}".rstrip(":"), 1)
    error = fails(bad)
    assert (error.segment, error.position, error.element) == ("DTM", position_of(bad, f"DTM+2:{value}"), element)


def test_wrong_envelope_counts_and_references():
    text = edifact.write([order()], envelope(), partner())
    unt = next(s for s in text.split("'") if s.startswith("UNT"))
    count = int(unt.split("+")[1])
    cases = [
        (text.replace(unt, f"UNT+{count + 1}+1"), ("UNT", "UNT01")),
        (text.replace(unt, f"UNT+{count}+2"), ("UNT", "UNT02")),
        (text.replace("UNZ+1+4711", "UNZ+2+4711"), ("UNZ", "UNZ01")),
        (text.replace("UNZ+1+4711", "UNZ+1+4712"), ("UNZ", "UNZ02")),
        (text.replace("CNT+2:2", "CNT+2:3"), ("CNT", "CNT01.2")),
        (text.replace("SME-77:ZZ", "SME-78:ZZ"), ("UNB", "UNB03")),
        (text.replace("PRIME0001:14", "PRIME0001:ZZ"), ("UNB", "UNB02")),
        (text.replace(f"+{local_today():%y%m%d}:0930+", "+26X:0930+"), ("UNB", "UNB04")),
        (text.replace("ORDERS:D:96A", "ORDERS:D:01B"), ("UNH", "UNH02.3")),
        (text.replace("ORDERS:D:96A", "INVOIC:D:96A"), ("UNH", "UNH02.1")),
    ]
    for bad, (segment, element) in cases:
        error = fails(bad)
        assert (error.segment, error.element) == (segment, element), bad
        assert error.position == position_of(bad, segment)


def test_a_message_from_the_wrong_side_is_refused():
    text = edifact.write([order()], envelope(SUPPLIER, PRIME), partner())    # an ORDERS sent by the supplier
    error = fails(text)
    assert (error.segment, error.element) == ("UNH", "UNH02.1")


def test_missing_segments_are_named():
    text = edifact.write([order()], envelope(), partner())
    unt = next(s for s in text.split("'") if s.startswith("UNT"))
    count = int(unt.split("+")[1])
    error = fails(text.replace("PRI+AAA:1250.5'", "").replace(unt, f"UNT+{count - 1}+1"))
    assert error.segment == "LIN" and "PRI" in error.message


# ---------------------------------------------------------------- size: linear, not quadratic


def test_a_large_interchange_parses_in_linear_time():
    """1,000 items x 26 weeks (about 1 MB) against 250 items: four times the data takes about four times as long
    (quadratic work would take sixteen). CPU time, so other processes on the machine do not skew the ratio. The
    10 MB figure is in the notes (well over 5 s, so not a test)."""
    def timed(items: int) -> tuple[float, int]:
        text = edifact.write([forecast(items=items, weeks=26)], envelope(), partner())
        started = clock.process_time()
        _env, docs = edifact.parse(text, partner())
        elapsed = clock.process_time() - started
        assert len(docs[0].items) == items and len(docs[0].items[-1].buckets) == 26
        return elapsed, len(text)

    small, _size = timed(250)
    large, size = timed(1000)
    assert size > 850_000
    assert large < 8 * small + 0.2, (small, large)
