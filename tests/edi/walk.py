"""What the tenant-isolation walk needs to know about the EDI routes."""
from __future__ import annotations

from sqlalchemy import select

from cogrow.edi.models import ControlCounter, Interchange, PartnerSettings


def _interchange(tenant, org, db) -> int:
    rel_id = tenant.relationship.id
    row = db.session.scalar(select(Interchange).where(Interchange.relationship_id == rel_id).limit(1))
    if row is None:
        partner = db.session.scalar(select(PartnerSettings).where(PartnerSettings.relationship_id == rel_id))
        if partner is None:
            partner = PartnerSettings(relationship_id=rel_id, standard="x12", version="004010",
                                      prime_edi_id=f"P{rel_id}", supplier_edi_id=f"S{rel_id}", uom_codes={})
            db.session.add(partner)
            db.session.flush()
        row = Interchange(partner_id=partner.id, relationship_id=rel_id, direction="out", standard="x12",
                          message_type="850", control_number="000000001", status="sent", reference="walk",
                          content=b"ISA")
        db.session.add(row)
        db.session.commit()
    return row.id


WALK_VALUES = {"interchange_id": _interchange}


def snapshot(db, tenant):
    """The relationship's EDI settings, counters and log: a denied request changes none of it."""
    _interchange(tenant, tenant.prime, db)
    rel_id = tenant.relationship.id
    partners = select(PartnerSettings.id).where(PartnerSettings.relationship_id == rel_id)
    return (
        db.session.execute(select(PartnerSettings.id, PartnerSettings.prime_edi_id, PartnerSettings.supplier_edi_id,
                                  PartnerSettings.standard).where(PartnerSettings.relationship_id == rel_id)).all(),
        db.session.execute(select(ControlCounter.partner_id, ControlCounter.direction, ControlCounter.last_number)
                           .where(ControlCounter.partner_id.in_(partners))).all(),
        db.session.execute(select(Interchange.id, Interchange.status).where(Interchange.relationship_id == rel_id)
                           .order_by(Interchange.id)).all(),
    )
