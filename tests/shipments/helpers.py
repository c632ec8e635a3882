"""Helpers for the shipment tests: API URLs, headers and ASN bodies."""
from __future__ import annotations

from cogrow.core.weeks import local_today


def headers(tenant, key, **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def asn_url(tenant, shipment_id=None, action=None):
    url = f"/api/v1/relationships/{tenant.relationship.id}/shipments"
    if shipment_id is not None:
        url += f"/{shipment_id}"
    if action:
        url += f"/{action}"
    return url


def asn_body(*lines, ship_date=None, **extra):
    return {"ship_date": ship_date or local_today().isoformat(), "lines": [{"po_line_id": lid, "quantity": str(q)} for lid, q in lines], **extra}
