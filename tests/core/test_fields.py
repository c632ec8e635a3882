"""One module of field parsers (cogrow.core.fields): a part number or a quantity means the same thing in a JSON body,
a page's form and an imported file. Each hostile input below goes through all three doors and through the parser
itself, and every door gives the same answer."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from cogrow.catalog.models import Item
from cogrow.core import fields
from cogrow.core.fields import FieldError
from cogrow.imports import cells
from cogrow.imports import services as imports
from cogrow.production.models import ItemPosition, ProductionReport
from tests import factories as f
from tests.conftest import actor_of, sign_in
from tests.production.conftest import headers, report_body, reports_url

PART = "HX-77"
# raw text -> the part number it is, or None when every door must refuse it
HOSTILE_PARTS = [
    ("HX-77", PART), (" hx-77 ", PART), ("ＨＸ－７７", PART), ("HX-77\u00a0", PART), ("\u3000HX-77", PART),
    ("\tHX-77", PART),
    ("HX\u3164 77", None),      # Hangul filler and a space: accepted by the API before, refused by the importer
    ("HX\u3164-77", None), ("HX\uffa0-77", None), ("HX\u115f-77", None), ("HX\u1160-77", None),
    ("HX\u200b-77", None), ("\ufeffHX-77", None), ("HX-77\ufeff", None), ("HX\u2060-77", None),
    ("HX\u00ad-77", None), ("HX\u202e-77", None), ("HX\ufe0f-77", None),
    ("HX\u00a0-77", None), ("HX -77", None), ("HX\x07-77", None), ("HX\x00-77", None), ("HX\x85-77", None),
    ("X" * 65, None),
]
# raw text -> (value in a form or a file, value in strict JSON); None = refused
HOSTILE_QUANTITIES = [
    ("1280", 1280, 1280), (" 42 ", 42, 42), ("１２８０", 1280, 1280), ("7.5", Decimal("7.5"), Decimal("7.5")),
    ("1,280", 1280, None), ("１，２８０", 1280, None), ("12,345.5", Decimal("12345.5"), None),
    ("1,234,567", 1234567, None),
    ("1,28", None, None), ("1,2800", None, None), ("1.280,5", None, None), ("1 280", None, None),
    (",280", None, None), ("1,,280", None, None), ("1.280.000", None, None),
    ("1e3", None, None), ("²", None, None), ("١٢", None, None), ("NaN", None, None), ("Infinity", None, None),
    ("-5", None, None), ("0.00001", None, None), ("TRUE", None, None), ("0x10", None, None),
    ("1\u200b280", None, None), ("12abc", None, None),
]


@pytest.fixture
def part_item(db, tenant_a):
    item = f.ItemFactory(supply_relationship=tenant_a.relationship, prime_part_number=PART,
                         supplier_part_number="SUP-HX")
    db.session.commit()
    return item


def _parser_part(raw):
    try:
        return fields.part_number(raw) or None
    except FieldError:
        return None


def _when(hours_ago: float) -> str:
    return (datetime.now(timezone(timedelta(hours=9))) - timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


def _csv(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _import(app, tenant, rows):
    """Upload a production file; returns the rows (2-based) named by an error, by column."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        actor = actor_of(tenant.users["supplier:production"], tenant.supplier)
        batch = imports.upload(actor, tenant.relationship.id, "production", "p.csv",
                               _csv([["part_number", "as_of", "good_qty", "scrap_qty", "wip_qty", "fg_on_hand"], *rows]))
        return batch, {(e["row"], e["column"]) for e in batch.errors or []}


# --- part numbers -------------------------------------------------------------------------------------------------

def test_the_parser_reads_the_table(app):
    with app.test_request_context():
        assert [_parser_part(raw) for raw, _ in HOSTILE_PARTS] == [expected for _, expected in HOSTILE_PARTS]


def test_a_part_number_means_the_same_in_the_api_a_form_and_an_import(app, client, db, tenant_a, part_item):
    api, form, files = {}, {}, {}
    # The JSON API: a production report naming the item by part number.
    for n, (raw, _expected) in enumerate(HOSTILE_PARTS):
        body = report_body(tenant_a, item_id=..., part_number=raw,
                           as_of=(datetime.now(timezone.utc) - timedelta(minutes=60 - n)).isoformat())
        response = client.post(reports_url(tenant_a), json=body, headers=headers(tenant_a, **{"Accept-Language": "en"}))
        assert response.status_code in (201, 422), (raw, response.status_code)
        if response.status_code == 201:
            stored = db.session.get(ProductionReport, response.get_json()["id"])
            api[raw] = PART if stored.item_id == part_item.id else "another item"
        else:
            message = response.get_json()["error"]["fields"]["part_number"]
            api[raw] = None if "No such part number" not in message else "looked up, not refused"
    # A page's form: the supplier sets its own part number for the item.
    browser = app.test_client()
    sign_in(browser, tenant_a.users["supplier:production"])
    for raw, _expected in HOSTILE_PARTS:
        db.session.expire_all()
        version = db.session.scalar(select(Item.version).where(Item.id == part_item.id))
        response = browser.post(f"/relationships/{tenant_a.relationship.id}/items/{part_item.id}",
                                data={"version": str(version), "supplier_part_number": raw})
        assert response.status_code in (302, 422), (raw, response.status_code)
        if response.status_code == 302:
            db.session.expire_all()
            form[raw] = db.session.scalar(select(Item.supplier_part_number).where(Item.id == part_item.id))
        else:
            assert 'data-field="supplier_part_number"' in response.get_data(as_text=True), raw
            form[raw] = None
    # An import: one row per value; the rows refused are named by the part number column.
    rows = [[raw, _when(30 - n * 0.5), "1", "0", "1", "1"] for n, (raw, _e) in enumerate(HOSTILE_PARTS)]
    batch, _errors = _import(app, tenant_a, rows)
    for n, (raw, _expected) in enumerate(HOSTILE_PARTS):
        named = [e for e in batch.errors or [] if e["row"] == n + 2]
        assert all(e["column"] == "part_number" for e in named), (raw, named)
        files[raw] = PART if not named else (None if all("No such part number" not in e["message"] for e in named)
                                             else "looked up, not refused")
    expected = {raw: value for raw, value in HOSTILE_PARTS}
    assert api == expected and form == expected and files == expected


# --- quantities ---------------------------------------------------------------------------------------------------

def test_the_parsers_read_the_quantity_table(app):
    def read(raw, grouping):
        try:
            return fields.quantity(raw, grouping=grouping)
        except FieldError:
            return None

    with app.test_request_context():
        assert [read(raw, True) for raw, _f, _j in HOSTILE_QUANTITIES] == [f_ for _r, f_, _j in HOSTILE_QUANTITIES]
        assert [read(raw, False) for raw, _f, _j in HOSTILE_QUANTITIES] == [j for _r, _f, j in HOSTILE_QUANTITIES]
        cell = cells.decimal_cell(minimum=0)
        for raw, in_form, _j in HOSTILE_QUANTITIES:
            try:
                assert cell(raw) == in_form, raw
            except ValueError:
                assert in_form is None, raw


def test_a_quantity_means_the_same_in_a_form_and_an_import_and_json_stays_strict(app, client, db, tenant_a):
    api, form, files = {}, {}, {}
    for n, (raw, _f, _j) in enumerate(HOSTILE_QUANTITIES):
        body = report_body(tenant_a, wip_qty=raw, as_of=(datetime.now(timezone.utc) - timedelta(minutes=90 - n)).isoformat())
        response = client.post(reports_url(tenant_a), json=body, headers=headers(tenant_a))
        if response.status_code == 201:
            api[raw] = Decimal(response.get_json()["wip_qty"])
        else:
            assert response.status_code == 422 and "wip_qty" in response.get_json()["error"]["fields"], raw
            api[raw] = None
    browser = app.test_client()
    sign_in(browser, tenant_a.users["supplier:production"])
    url = f"/relationships/{tenant_a.relationship.id}/items/{tenant_a.item.id}/production"
    for n, (raw, _f, _j) in enumerate(HOSTILE_QUANTITIES):
        as_of = (datetime.now(timezone(timedelta(hours=9))) - timedelta(minutes=40 - n)).strftime("%Y-%m-%dT%H:%M")
        response = browser.post(url, data={"as_of": as_of, "wip_qty": raw, "fg_on_hand": "5"})
        if response.status_code == 302:
            db.session.expire_all()
            form[raw] = db.session.get(ItemPosition, tenant_a.item.id).wip_qty
        else:
            html = response.get_data(as_text=True)
            assert response.status_code == 422 and 'data-field="wip_qty"' in html, (raw, response.status_code)
            form[raw] = None
    rows = [[tenant_a.item.prime_part_number, _when(20 - n * 0.25), "1", "0", raw, "1"]
            for n, (raw, _f, _j) in enumerate(HOSTILE_QUANTITIES)]
    _batch, errors = _import(app, tenant_a, rows)
    refused = {n for n in range(len(rows)) if (n + 2, "wip_qty") in errors}
    accepted = [(n, raw) for n, (raw, _f, _j) in enumerate(HOSTILE_QUANTITIES) if n not in refused]
    # The accepted rows alone import; their values are read back from the stored reports.
    batch, errors = _import(app, tenant_a, [rows[n] for n, _raw in accepted])
    assert batch.status == "preview", batch.errors
    with app.test_request_context():
        imports.confirm(actor_of(tenant_a.users["supplier:production"], tenant_a.supplier), tenant_a.relationship.id,
                        batch.id)
    stored = dict(db.session.execute(select(ProductionReport.as_of, ProductionReport.wip_qty)
                                     .where(ProductionReport.source == "file")).all())
    for n, raw in accepted:
        files[raw] = stored[datetime.fromisoformat(rows[n][1]).astimezone(timezone.utc)]
    for n in refused:
        files[HOSTILE_QUANTITIES[n][0]] = None
    assert form == {raw: in_form for raw, in_form, _j in HOSTILE_QUANTITIES}
    assert files == form
    assert api == {raw: in_json for raw, _f, in_json in HOSTILE_QUANTITIES}


# --- the other parsers --------------------------------------------------------------------------------------------

def test_dates_weeks_times_and_booleans(app):
    with app.test_request_context():
        assert fields.date_value("２０２６-０３-０４") == date(2026, 3, 4)
        assert fields.iso_week("2026-W48") == fields.iso_week("2026-11-26") == date(2026, 11, 23)
        assert fields.moment("2026-03-04T09:00") == datetime(2026, 3, 4, 0, 0, tzinfo=timezone.utc)
        assert fields.boolean("참") is True and fields.boolean("off") is False and fields.boolean(False) is False
        for parse, raw in ((fields.date_value, "03/04/2026"), (fields.iso_week, "2026-W54"),
                           (fields.moment, "2026-03-04"), (fields.boolean, "maybe"), (fields.date_value, "45000")):
            with pytest.raises(FieldError):
                parse(raw)


def test_json_numbers_are_never_grouped_and_form_numbers_are(app):
    from pydantic import TypeAdapter, ValidationError
    from werkzeug.datastructures import MultiDict

    from cogrow.core.forms import BaseForm, QuantityField
    from cogrow.core.schema import decimal_type

    class QuantityForm(BaseForm):
        n = QuantityField()

    as_json = TypeAdapter(decimal_type())
    with app.test_request_context():
        with pytest.raises(ValidationError):
            as_json.validate_python("1,280", context={"request": True})
        assert as_json.validate_python("1280", context={"request": True}) == 1280
        form = QuantityForm(formdata=MultiDict({"n": "1,280"}), meta={"csrf": False})
        assert form.validate() and form.n.data == 1280
        assert fields.decimal("1,280", grouping=True) == 1280
        with pytest.raises(FieldError):
            fields.decimal("1,280")
        message = fields.FieldError
        with pytest.raises(message, match=re.escape("1,28")):
            fields.quantity("1,28", grouping=True)  # the message shows what was refused


@pytest.mark.parametrize("value, machine, people", [
    (Decimal("1234.5000"), "1234.5", "1,234.5"), (Decimal("1280"), "1280", "1,280"), (Decimal("0.4000"), "0.4", "0.4"),
    (Decimal("1E+3"), "1000", "1,000"), (Decimal("-12345.0625"), "-12345.0625", "-12,345.0625"), (Decimal(0), "0", "0")])
def test_one_formatter_for_machines_and_one_for_people_and_forms_read_both_back(value, machine, people):
    assert fields.decimal_text(value) == machine
    assert fields.grouped_text(value) == people
    assert fields.decimal(machine, minimum=None) == value == fields.decimal(people, minimum=None, grouping=True)


def test_the_pages_filter_and_the_forms_show_quantities_the_one_way(app):
    assert fields.grouped_text(None) == "" and fields.decimal_text(None) is None
    assert app.jinja_env.filters["qty"](Decimal("1280.5000")) == "1,280.5"
    assert app.jinja_env.filters["dec"](Decimal("1280.5000")) == "1280.5"
