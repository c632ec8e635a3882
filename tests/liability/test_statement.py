"""The liability statement: hand-computed liabilities, "as of" a past month end, its hash, exports and access."""
from __future__ import annotations

import io
import re
import string
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont
from openpyxl import load_workbook
from pylopdf_fonts_ko import sans_path
from pypdf import PdfReader
from pypdf.generic import NameObject, StreamObject
from sqlalchemy import select

from cogrow.core.models import AuditLog
from cogrow.core.weeks import week_start
from cogrow.liability import services
from cogrow.liability.models import LiabilityIssue
from cogrow.orders import services as orders
from tests import factories as f
from tests.conftest import actor_of, sign_in
from tests.liability.builders import (
    D, at, authorize, earlier, last_month, po_line, publish, ship, this_month, today,
)

KOREAN_PRIME = "한빛정밀"


@pytest.fixture
def four_items(db, tenant_a):
    """One relationship (price 1,000, material share 0.4) with an item for each case of the formula."""
    rel = tenant_a.relationship
    rel.prime.name = KOREAN_PRIME
    start, when, cw = this_month().first_day, earlier(), week_start(today())
    items = {name: f.ItemFactory(supply_relationship=rel, unit_price=D(1000), prime_part_number=f"LB-{name}")
             for name in ("fab", "raw", "over", "po")}
    # FAB above shipped: FAB 1,000, 300 shipped -> 700 finished units.
    authorize(items["fab"], "FAB", 1000, start, when)
    ship(po_line(items["fab"], 300, today(), issued_at=when, status="closed", closed_at=when), 300, today())
    # RAW beyond FAB: FAB 1,000, RAW 1,600, 300 shipped -> 700 finished, 600 RAW units.
    authorize(items["raw"], "FAB", 1000, start, when)
    authorize(items["raw"], "RAW", 1600, start, when)
    ship(po_line(items["raw"], 300, today(), issued_at=when, status="closed", closed_at=when), 300, today())
    # Shipped above FAB: FAB 500, RAW 800, 650 shipped -> 0 finished, 150 RAW units.
    authorize(items["over"], "FAB", 500, start, when)
    authorize(items["over"], "RAW", 800, start, when)
    ship(po_line(items["over"], 650, today(), issued_at=when, status="closed", closed_at=when), 650, today())
    # Open PO 200 due next week, firm buckets 250 next week and 300 the week after, FAB 400, RAW 900:
    # firm uncovered = (250 - 200) + 300 = 350, guaranteed = max(200 + 350, 400) = 550, RAW units 900 - 550 = 350.
    po_line(items["po"], 200, cw + timedelta(weeks=1), issued_at=when)
    publish(rel, {items["po"]: {cw + timedelta(weeks=1): 250, cw + timedelta(weeks=2): 300}}, when)
    authorize(items["po"], "FAB", 400, start, when)
    authorize(items["po"], "RAW", 900, start, when)
    db.session.commit()
    return tenant_a, items


def _line(statement, item):
    return next(line for line in statement.items if line.item_id == item.id)


def test_hand_computed_liability_per_item_and_in_total(four_items):
    tenant, items = four_items
    statement = services.compute(actor_of(tenant.users["prime:planner"], tenant.prime), tenant.relationship.id,
                                 this_month())
    fab, raw, over, po = (_line(statement, items[k]) for k in ("fab", "raw", "over", "po"))
    assert (fab.guaranteed, fab.liability.finished_amount, fab.liability.raw_amount) == (700, 700_000, 0)
    assert (raw.liability.finished_units, raw.liability.raw_units) == (700, 600)
    assert raw.amount == 700_000 + 240_000  # 600 × 0.4 × 1,000
    assert (over.guaranteed, over.liability.raw_units, over.amount) == (0, 150, 60_000)
    assert (po.open_po, po.firm_forecast, po.firm_uncovered, po.guaranteed) == (200, 550, 350, 550)
    assert (po.liability.raw_units, po.amount) == (350, 550_000 + 140_000)
    assert statement.total == Decimal("2390000") and statement.currency == "KRW"
    assert (statement.finished_total, statement.raw_total) == (1_950_000, 440_000)


def test_both_sides_see_the_page_with_the_figures_and_hash(client, four_items):
    tenant, _ = four_items
    statement = services.compute(actor_of(tenant.users["supplier:admin"], tenant.supplier), tenant.relationship.id,
                                 this_month())
    for user in ("prime:procurement", "supplier:production"):
        sign_in(client, tenant.users[user])
        page = client.get(f"/relationships/{tenant.relationship.id}/liability")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "2,390,000" in html and statement.sha256 in html and "KRW" in html
        assert f'aria-current="page" href="/relationships/{tenant.relationship.id}/liability"' in html


def test_a_past_month_is_as_of_its_end(db, tenant_a):
    """A PO issued last month and cancelled this month binds last month's statement, not this month's; later grants,
    shipments and forecast versions stay out of last month's."""
    rel, planner = tenant_a.relationship, actor_of(tenant_a.users["prime:planner"], tenant_a.prime)
    ordered, authorized = tenant_a.item, f.ItemFactory(supply_relationship=rel, unit_price=D(1000))
    past, mid = last_month(), last_month().first_day + timedelta(days=9)
    with time_machine.travel(at(mid), tick=False):
        po = orders.create_po(planner, rel.id, {"lines": [{"index": 0, "item_id": ordered.id, "quantity": D(120),
                                                            "due_date": mid + timedelta(days=60)}]})
        po = orders.issue_po(planner, rel.id, po.id, po.version)
    authorize(authorized, "FAB", 500, past.first_day, at(mid))
    line = po_line(authorized, 1000, mid + timedelta(days=90), issued_at=at(mid), status="acknowledged")
    ship(line, 100, past.first_day + timedelta(days=19))
    publish(rel, {ordered: {week_start(today()) + timedelta(weeks=1): 999}}, earlier())  # after last month's end
    orders.cancel_po(planner, rel.id, po.id, po.version, reason="Demand moved")
    authorize(authorized, "FAB", 900, past.first_day, earlier())  # granted after last month's end
    ship(line, 50, today())
    db.session.commit()

    before = services.compute(planner, rel.id, past)
    assert not before.current and before.as_of_day == this_month().first_day - timedelta(days=1)
    assert _line(before, ordered).open_po == 120 and _line(before, ordered).firm_forecast == 0
    assert before.publication is None
    assert _line(before, authorized).fab_authorized == 500 and _line(before, authorized).cum_shipped == 100
    kinds = [(r["kind"], r["document"]) for r in before.records]
    assert ("issue", po.number) in kinds and ("cancel", po.number) not in kinds
    assert any(r["kind"] == "shipped" and r["quantity"] == 100 for r in before.records)

    now = services.compute(planner, rel.id, this_month())
    assert _line(now, ordered).open_po == 0 and _line(now, ordered).firm_forecast == 999
    assert _line(now, authorized).fab_authorized == 900 and _line(now, authorized).cum_shipped == 150
    assert ("cancel", po.number) in [(r["kind"], r["document"]) for r in now.records]
    cancel = next(r for r in now.records if r["kind"] == "cancel")
    assert cancel["note"] == "Demand moved" and cancel["state"] == "cancelled"


def test_the_hash_is_stable_and_follows_a_changed_shipment(db, four_items):
    tenant, items = four_items
    actor = actor_of(tenant.users["prime:planner"], tenant.prime)
    first = services.compute(actor, tenant.relationship.id, this_month())
    again = services.compute(actor, tenant.relationship.id, this_month())
    assert first.sha256 == again.sha256 and len(first.sha256) == 64
    assert services.canonical_bytes(first.inputs) == services.canonical_bytes(again.inputs)
    shipment_line = db.session.scalar(select(services.ShipmentLine).where(
        services.ShipmentLine.item_id == items["fab"].id))
    shipment_line.quantity_shipped = D(299)
    db.session.commit()
    changed = services.compute(actor, tenant.relationship.id, this_month())
    assert changed.sha256 != first.sha256 and _line(changed, items["fab"]).guaranteed == 701
    shipment_line.quantity_shipped = D(300)
    db.session.commit()
    assert services.compute(actor, tenant.relationship.id, this_month()).sha256 == first.sha256


def test_the_xlsx_export_parses_back_and_its_issue_is_audited(client, db, four_items):
    tenant, _ = four_items
    sign_in(client, tenant.users["supplier:production"])
    answer = client.get(f"/relationships/{tenant.relationship.id}/liability?format=xlsx")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(answer.data))
    rows = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    figures = {r[0]: r[1] for r in rows if r and r[0] and len(r) > 1}
    digest = figures["SHA-256 of the input rows"]
    assert Decimal(str(figures["Total liability"])) == 2_390_000 and figures["Currency"] == "KRW"
    parts = {r[0]: r for r in rows if r and isinstance(r[0], str) and r[0].startswith("LB-")}
    assert Decimal(str(parts["LB-raw"][-1])) == 940_000 and Decimal(str(parts["LB-po"][8])) == 550
    assert [r[0] for r in rows if r and r[0] == "Total"] == ["Total"]
    assert workbook.worksheets[1].max_row >= 4  # the header and the month's shipments
    issue = db.session.scalar(select(LiabilityIssue).where(LiabilityIssue.relationship_id == tenant.relationship.id))
    assert (issue.format, issue.sha256, issue.total_amount, issue.organisation_id) == (
        "xlsx", digest, 2_390_000, tenant.supplier.id)
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "liability.issued"))
    assert row.detail["sha256"] == digest and row.detail["format"] == "xlsx" and row.object_id == str(issue.id)
    # the page lists the issue for both sides
    sign_in(client, tenant.users["prime:planner"])
    assert digest in client.get(f"/relationships/{tenant.relationship.id}/liability").get_data(as_text=True)


def _pdf_pages(data: bytes) -> list[str]:
    """The text of each page of the PDF as pypdf reads it through each font's ToUnicode map.

    fpdf2 maps its two-byte codes to the font's CIDs in an embedded CMap stream. pypdf does not read such a stream
    and takes each byte for a code, which breaks the text once a font has more than 255 glyphs. Naming Identity-H,
    whose codes are two bytes too, makes pypdf pair each code with its ToUnicode entry; the text comes from that map
    alone, so nothing else about the file changes what is read."""
    reader = PdfReader(io.BytesIO(data))
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            if font["/Subtype"] == "/Type0" and isinstance(font["/Encoding"].get_object(), StreamObject):
                font[NameObject("/Encoding")] = NameObject("/Identity-H")
    return [page.extract_text() for page in reader.pages]


def _pdf_text(data: bytes) -> str:
    return "".join(_pdf_pages(data))


def _font_programs(data: bytes) -> dict[str, bytes]:
    """The embedded font program of every font the pages use, by font name (b"" when the font is not embedded)."""
    programs = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            for part in (font, *(d.get_object() for d in font.get("/DescendantFonts", ()))):
                if "/FontDescriptor" in part:
                    descriptor = part["/FontDescriptor"].get_object()
                    stream = next((descriptor[k] for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor),
                                  None)
                    programs[part["/BaseFont"]] = stream.get_object().get_data() if stream is not None else b""
    return programs


def test_the_pdf_carries_the_figures_the_hash_and_korean_text(client, db, four_items):
    tenant, _ = four_items
    sign_in(client, tenant.users["prime:procurement"])
    answer = client.get(f"/relationships/{tenant.relationship.id}/liability?format=pdf&month={this_month().label}")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf" and answer.data.startswith(b"%PDF")
    text = _pdf_text(answer.data)
    digest = db.session.scalar(select(LiabilityIssue.sha256).where(LiabilityIssue.format == "pdf"))
    assert KOREAN_PRIME in text and digest in text and "As of now" in text
    assert "2,390,000" in text and "940,000" in text and "LB-po" in text
    reader = PdfReader(io.BytesIO(answer.data))
    assert reader.metadata.subject == digest and KOREAN_PRIME in reader.metadata.title
    assert [round(v) for v in reader.pages[0].mediabox.upper_right] == [842, 595]  # A4 landscape, in points
    tenant.users["prime:procurement"].locale = "ko"
    db.session.commit()
    korean = client.get(f"/relationships/{tenant.relationship.id}/liability?format=pdf")  # the user's language
    text = _pdf_text(korean.data)
    assert "품번" in text and "합계" in text  # the Korean labels of "Part number" and "Total"


def test_the_pdf_embeds_its_korean_font(client, db, four_items, caplog):
    """A reader on a machine without any Korean font shows the glyphs the file carries: every font is embedded, and
    the embedded program has a glyph for each character of the text, in both languages. No character is dropped for
    want of a glyph (fpdf2 leaves it out and logs it): English times hold a narrow no-break space, which the font
    lacks and the PDF sets as a no-break space."""
    tenant, _ = four_items
    user = tenant.users["prime:procurement"]
    sign_in(client, user)
    with TTFont(sans_path(), lazy=True) as shipped:  # the package's font: character -> glyph name ("cid12345")
        glyph_of = shipped.getBestCmap()
    for locale, label in (("en", "Part number"), ("ko", "품번")):
        user.locale = locale
        db.session.commit()
        data = client.get(f"/relationships/{tenant.relationship.id}/liability?format=pdf").data
        programs = _font_programs(data)
        assert programs and all(programs.values()), f"not embedded: {[n for n, p in programs.items() if not p]}"
        (program,) = programs.values()
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(program), None)
        embedded = set(cff[cff.fontNames[0]].charset)
        text = _pdf_text(data)
        assert label in text and KOREAN_PRIME in text
        assert {c for c in set(text) - set(string.whitespace) if glyph_of.get(ord(c)) not in embedded} == set()
    assert [r.getMessage() for r in caplog.records if "missing the following glyphs" in r.getMessage()] == []


def test_a_long_pdf_repeats_the_item_header_and_wraps_long_text(client, db, tenant_a):
    """Fifty items run the items table onto further pages, each with its header row; a part number wider than its
    column wraps inside it."""
    rel = tenant_a.relationship
    wide = "PN-" + "WIDE" * 12
    for n in range(50):
        item = f.ItemFactory(supply_relationship=rel, unit_price=D(1000),
                             prime_part_number=wide if n == 0 else f"PN-{n:03d}")
        authorize(item, "FAB", 100 + n, this_month().first_day, earlier())  # nothing shipped: 100 + n finished units
    db.session.commit()
    sign_in(client, tenant_a.users["supplier:admin"])
    pages = _pdf_pages(client.get(f"/relationships/{rel.id}/liability?format=pdf").data)
    with_items = [page for page in pages if "PN-0" in page]
    assert len(with_items) >= 2 and all("Part number" in page for page in with_items)
    text = "".join(pages)
    assert "PN-049" in text and "6,225,000" in text  # 1,000 × (100 + 101 + … + 149)
    assert wide not in text and wide in re.sub(r"\s", "", text)


def test_the_printable_page_is_an_issue_too(client, db, four_items):
    tenant, _ = four_items
    sign_in(client, tenant.users["supplier:admin"])
    page = client.get(f"/relationships/{tenant.relationship.id}/liability?format=print")
    assert page.status_code == 200 and 'data-test="liability-printable"' in page.get_data(as_text=True)
    assert db.session.scalar(select(AuditLog.detail).where(AuditLog.action == "liability.issued"))["format"] == "print"


def test_the_api_answers_the_statement(client, four_items):
    tenant, items = four_items
    answer = client.get(f"/api/v1/relationships/{tenant.relationship.id}/liability?month={this_month().label}",
                        headers={"Authorization": f"Bearer {tenant.tokens['supplier:production']}"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["total_amount"] == "2390000" and body["currency"] == "KRW" and len(body["sha256"]) == 64
    po = next(i for i in body["items"] if i["item_id"] == items["po"].id)
    assert po["guaranteed"] == "550" and po["raw_units"] == "350" and po["amount"] == "690000"


def test_another_tenant_gets_404_everywhere(client, db, four_items, tenant_b):
    tenant, _ = four_items
    rel_id = tenant.relationship.id
    sign_in(client, tenant_b.users["prime:planner"])
    for query in ("", "?format=xlsx", "?format=pdf", "?format=print"):
        assert client.get(f"/relationships/{rel_id}/liability{query}").status_code == 404
    api = client.get(f"/api/v1/relationships/{rel_id}/liability",
                     headers={"Authorization": f"Bearer {tenant_b.tokens['supplier:admin']}"})
    assert api.status_code == 404
    assert db.session.scalar(select(LiabilityIssue.id)) is None


@pytest.mark.parametrize("month", ["2026-13", "11-2026", "abc", "2026-1", "9999-01"])
def test_a_bad_month_is_a_400_naming_it(client, tenant_a, month):
    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get(f"/relationships/{tenant_a.relationship.id}/liability?month={month}&format=xlsx")
    assert page.status_code == 400 and "month" in page.get_data(as_text=True)
    api = client.get(f"/api/v1/relationships/{tenant_a.relationship.id}/liability?month={month}",
                     headers={"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"})
    assert api.status_code in (400, 422) and "month" in api.get_data(as_text=True)


def test_a_bad_format_is_a_400_naming_it(client, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get(f"/relationships/{tenant_a.relationship.id}/liability?format=docx")
    assert page.status_code == 400 and "format" in page.get_data(as_text=True)


def test_later_records_leave_a_past_statement_and_its_hash_alone(db, tenant_a):
    rel, item = tenant_a.relationship, tenant_a.item
    actor = actor_of(tenant_a.users["supplier:admin"], tenant_a.supplier)
    past, mid = last_month(), last_month().first_day + timedelta(days=9)
    authorize(item, "FAB", 500, past.first_day, at(mid))
    line = po_line(item, 800, mid + timedelta(days=90), issued_at=at(mid), status="acknowledged")
    shipped = ship(line, 100, mid)
    db.session.commit()
    before = services.compute(actor, rel.id, past)
    assert before.total == 700 * item.unit_price  # max(open PO 800 - 100, FAB 500 - 100 shipped): each unit once
    # after the month: another item, a grant, a shipment, a new PO, a forecast version and the receipt
    other = f.ItemFactory(supply_relationship=rel)
    authorize(item, "FAB", 900, past.first_day, earlier())
    ship(line, 50, today())
    po_line(other, 10, today() + timedelta(days=30), issued_at=earlier())
    publish(rel, {item: {week_start(today()): 70}}, earlier())
    shipped.quantity_received, shipped.shipment.status, shipped.shipment.received_at = D(100), "received", earlier()
    db.session.commit()
    after = services.compute(actor, rel.id, past)
    assert after.sha256 == before.sha256 and after.total == before.total


def test_this_months_terms_are_the_coverage_ledgers(db, four_items):
    """The statement reads the ledger's definitions from its rows: for this month it agrees with the reconcile."""
    from cogrow.core.types import utcnow
    from cogrow.coverage import services as coverage
    from cogrow.coverage.models import CoverageLedger

    tenant, items = four_items
    coverage.reconcile(tenant.relationship.id, None, utcnow())
    statement = services.compute(actor_of(tenant.users["prime:planner"], tenant.prime), tenant.relationship.id,
                                 this_month())
    terms = ("open_po", "firm_forecast", "firm_uncovered", "fab_authorized", "raw_authorized", "cum_start_date",
             "cum_shipped", "guaranteed")
    for item in items.values():
        ledger = db.session.get(CoverageLedger, item.id)
        line = _line(statement, item)
        assert {t: getattr(line, t) for t in terms} == {t: getattr(ledger, t) for t in terms}, item.prime_part_number


def test_states_and_zones_are_shown_in_the_readers_language(client, four_items):
    tenant, _ = four_items
    sign_in(client, tenant.users["supplier:production"])
    client.post("/lang", data={"lang": "ko", "next": "/home"})
    html = client.get(f"/relationships/{tenant.relationship.id}/liability").get_data(as_text=True)
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert "확정" in cells and "firm" not in cells  # the firm buckets' zone
    assert "발행됨" in cells and "issued" not in cells  # the open PO line's state
