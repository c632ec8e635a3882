"""The EDI tab and the settings API: administrators edit, others read, bad settings name their field, and the
page's upload and downloads go through the same services."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from cogrow.edi import services, x12
from cogrow.edi.models import Interchange, PartnerSettings
from cogrow.forecasts import services as forecasts
from tests.conftest import sign_in
from tests.edi.conftest import horizon
from tests.edi.support import PRIME_ID, SUPPLIER_ID


def _client(app, tenant, who):
    client = app.test_client()
    sign_in(client, tenant.users[who])
    return client


SETTINGS = {"standard": "x12", "prime_qualifier": "ZZ", "prime_edi_id": PRIME_ID, "prime_group_id": "",
            "supplier_qualifier": "01", "supplier_edi_id": SUPPLIER_ID, "supplier_group_id": "",
            "element_separator": "*", "component_separator": ">", "segment_terminator": "~",
            "repetition_separator": "^", "uom_codes": "PC=EA\nKGM=KG"}


def test_an_admin_saves_the_settings_on_the_page_and_a_planner_only_reads_them(app, db, tenant_a):
    rel_id = tenant_a.relationship.id
    admin = _client(app, tenant_a, "supplier:admin")
    page = admin.get(f"/relationships/{rel_id}/edi")
    assert page.status_code == 200 and 'data-test="save-edi-settings"' in page.get_data(as_text=True)
    assert admin.post(f"/relationships/{rel_id}/edi/settings", data=SETTINGS).status_code == 302
    partner = services.partner_of(rel_id)
    assert (partner.supplier_edi_id, partner.uom_codes, partner.version) == (SUPPLIER_ID, {"PC": "EA", "KGM": "KG"},
                                                                            "004010")
    planner = _client(app, tenant_a, "prime:planner")
    html = planner.get(f"/relationships/{rel_id}/edi").get_data(as_text=True)
    assert "save-edi-settings" not in html and PRIME_ID in html
    assert planner.post(f"/relationships/{rel_id}/edi/settings", data=SETTINGS).status_code == 403


@pytest.mark.parametrize("change, field", [
    ({"supplier_edi_id": PRIME_ID}, "supplier_edi_id"),
    ({"element_separator": "A"}, "element_separator"),
    ({"segment_terminator": "*"}, "element_separator"),
    ({"prime_edi_id": "X" * 16}, "prime_edi_id"),
    ({"uom_codes": "PC"}, "uom_codes"),
    ({"standard": "tradacoms"}, "standard"),
])
def test_bad_settings_are_a_422_naming_the_field_and_change_nothing(app, db, tenant_a, change, field):
    rel_id = tenant_a.relationship.id
    admin = _client(app, tenant_a, "prime:admin")
    response = admin.post(f"/relationships/{rel_id}/edi/settings", data={**SETTINGS, **change})
    assert response.status_code == 422
    assert f'data-field="{field}"' in response.get_data(as_text=True)
    assert db.session.scalar(select(PartnerSettings)) is None


def test_the_settings_api_reads_defaults_and_saves_for_admins(app, db, tenant_a):
    rel_id = tenant_a.relationship.id
    client = app.test_client()
    url = f"/api/v1/relationships/{rel_id}/edi/settings"
    token = {"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"}
    body = client.get(url, headers=token).get_json()
    assert body["configured"] is False and body["element_separator"] == "*"
    assert client.put(url, json={"prime_edi_id": PRIME_ID}, headers=token).status_code == 403
    admin = {"Authorization": f"Bearer {tenant_a.tokens['prime:admin']}"}
    response = client.put(url, json={"prime_edi_id": PRIME_ID, "supplier_edi_id": SUPPLIER_ID}, headers=admin)
    assert response.status_code == 200 and response.get_json()["configured"] is True
    bad = client.put(url, json={"component_separator": "**"}, headers=admin)
    assert bad.status_code == 422 and "component_separator" in bad.get_json()["error"]["fields"]


@pytest.mark.usefixtures("in_request", "partner")
def test_the_page_downloads_an_830_and_takes_it_back_through_the_import_preview(app, db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    forecasts.publish(planner, rel_id, horizon([i.id for i in items]))
    client = _client(app, tenant_a, "prime:planner")
    html = client.get(f"/relationships/{rel_id}/edi").get_data(as_text=True)
    assert 'data-test="edi-export"' in html and 'data-test="edi-upload"' in html
    download = client.post(f"/relationships/{rel_id}/edi/export", data={"family": "forecast", "object_id": "1"})
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    text = download.get_data(as_text=True)
    assert x12.parse(text, services.partner_of(rel_id))[0].message_type == "830"
    upload = client.post(f"/relationships/{rel_id}/edi/inbound", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(download.get_data()), "fc.x12")})
    assert upload.status_code == 302 and "/imports/" in upload.headers["Location"]
    log = client.get(f"/relationships/{rel_id}/edi").get_data(as_text=True)
    sent = db.session.scalar(select(Interchange).where(Interchange.direction == "out"))
    assert f"/edi/interchanges/{sent.id}" in log
    assert client.get(f"/relationships/{rel_id}/edi/interchanges/{sent.id}").get_data(as_text=True) == text


@pytest.mark.usefixtures("in_request", "partner")
def test_the_exports_api_is_for_the_side_that_sends_the_message(app, db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    forecasts.publish(planner, rel_id, horizon([i.id for i in items]))
    client = app.test_client()
    url = f"/api/v1/relationships/{rel_id}/edi/exports/forecast/1"
    prime = client.post(url, headers={"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"})
    assert prime.status_code == 201 and prime.get_json()["content"].startswith("ISA*")
    firm = client.post(url + "?firm_only=true", headers={"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"})
    assert "ST*862*" in firm.get_json()["content"]
    assert int(firm.get_json()["control_number"]) == int(prime.get_json()["control_number"]) + 1
    supplier = client.post(url, headers={"Authorization": f"Bearer {tenant_a.tokens['supplier:admin']}"})
    assert supplier.status_code == 403
    listed = client.get(f"/api/v1/relationships/{rel_id}/edi/interchanges",
                        headers={"Authorization": f"Bearer {tenant_a.tokens['supplier:admin']}"}).get_json()
    assert [r["message_type"] for r in listed["data"]] == ["862", "830"] and listed["data"][0]["content"] is None


@pytest.mark.usefixtures("in_request", "partner")
def test_a_part_number_holding_a_separator_is_a_409_not_a_500(app, db, tenant_a, planner, items):
    items[0].prime_part_number = "ED*STAR"
    db.session.commit()
    forecasts.publish(planner, tenant_a.relationship.id, horizon([i.id for i in items]))
    response = app.test_client().post(f"/api/v1/relationships/{tenant_a.relationship.id}/edi/exports/forecast/1",
                                      headers={"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"})
    assert response.status_code == 409 and "separator" in response.get_json()["error"]["message"]
    assert db.session.scalar(select(Interchange)) is None


def test_the_generic_imports_page_does_not_offer_the_edi_kinds(app, db, tenant_a):
    """An interchange uploaded there would be read as a CSV: EDI uploads belong on the EDI tab."""
    from cogrow.imports.registry import KINDS, get_kind

    rel_id = tenant_a.relationship.id
    for who, generic in (("prime:planner", "forecast"), ("supplier:production", "production")):
        html = _client(app, tenant_a, who).get(f"/relationships/{rel_id}/imports").get_data(as_text=True)
        assert f'data-test="upload-{generic}"' in html and 'data-test="upload-edi_' not in html
    assert get_kind("edi_forecast").own_page and "edi_forecast" in KINDS  # the pipeline still finds the kind
    assert all(kind.own_page for kind in KINDS.values() if kind.name.startswith("edi_"))


def test_auto_send_is_saved_from_the_page_and_shown_by_the_api(app, db, tenant_a):
    rel_id = tenant_a.relationship.id
    admin = _client(app, tenant_a, "prime:admin")
    assert admin.post(f"/relationships/{rel_id}/edi/settings", data={**SETTINGS, "auto_send": "on"}).status_code == 302
    assert services.partner_of(rel_id).auto_send is True
    assert 'name="auto_send" checked' in admin.get(f"/relationships/{rel_id}/edi").get_data(as_text=True)
    assert admin.get(f"/api/v1/relationships/{rel_id}/edi/settings").get_json()["auto_send"] is True
    assert admin.post(f"/relationships/{rel_id}/edi/settings", data=SETTINGS).status_code == 302
    assert services.partner_of(rel_id).auto_send is False
