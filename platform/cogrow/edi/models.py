"""Tables of the edi domain: partner settings per relationship, control-number counters, the interchange log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cogrow.core.types import UTCDateTime, utcnow
from cogrow.extensions import db

STANDARDS = ("x12", "edifact")
DIRECTIONS = ("in", "out")
DEFAULT_VERSIONS = {"x12": "004010", "edifact": "D96A"}
DEFAULT_SEPARATORS = {  # element, component, segment terminator, repetition (X12) / release (EDIFACT)
    "x12": ("*", ">", "~", "^"),
    "edifact": ("+", ":", "'", "?"),
}


class PartnerSettings(db.Model):
    """How one relationship's two sides exchange EDI. The prime's and the supplier's interchange identifiers
    (ISA05/06 + ISA06/08, or UNB2/UNB3 with their code qualifiers), the group codes (GS02/GS03), the
    separators, the standard and version, and the unit-of-measure code list."""

    __tablename__ = "edi_partner"
    __table_args__ = (
        CheckConstraint("standard IN ('x12', 'edifact')", name="standard"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="CASCADE"),
                                                 unique=True)
    standard: Mapped[str] = mapped_column(String(8), default="x12")
    version: Mapped[str] = mapped_column(String(12), default="004010")
    prime_qualifier: Mapped[str] = mapped_column(String(4), default="ZZ")
    prime_edi_id: Mapped[str] = mapped_column(String(35), default="")
    prime_group_id: Mapped[str] = mapped_column(String(15), default="")     # GS02/GS03 application code
    supplier_qualifier: Mapped[str] = mapped_column(String(4), default="ZZ")
    supplier_edi_id: Mapped[str] = mapped_column(String(35), default="")
    supplier_group_id: Mapped[str] = mapped_column(String(15), default="")
    element_separator: Mapped[str] = mapped_column(String(1), default="*")
    component_separator: Mapped[str] = mapped_column(String(1), default=">")
    segment_terminator: Mapped[str] = mapped_column(String(1), default="~")
    repetition_separator: Mapped[str] = mapped_column(String(1), default="^")   # X12 ISA11; EDIFACT: release
    uom_codes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)     # EDI code -> Cogrow uom
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_send: Mapped[bool] = mapped_column(Boolean, default=False)   # queue exports to webhooks (edi.auto)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def uom_from_edi(self, code: str) -> str | None:
        """Cogrow's unit for an EDI code: the code list first, else the code itself when it is already one
        of Cogrow's (EA, KG, ...). None for an unknown code."""
        codes = self.uom_codes or {}
        if code in codes:
            return str(codes[code])
        return code if code and code.isalnum() and len(code) <= 16 else None

    def uom_to_edi(self, uom: str) -> str:
        for code, ours in (self.uom_codes or {}).items():
            if ours == uom:
                return str(code)
        return uom

    def side(self, org_kind: str) -> tuple[str, str, str]:
        """(qualifier, id, group id) of the prime's or the supplier's side."""
        if org_kind == "prime":
            return self.prime_qualifier, self.prime_edi_id, self.prime_group_id or self.prime_edi_id
        return self.supplier_qualifier, self.supplier_edi_id, self.supplier_group_id or self.supplier_edi_id

    @property
    def release_character(self) -> str:
        """EDIFACT's release (escape) character, kept in the repetition separator's column."""
        return self.repetition_separator


class ControlCounter(db.Model):
    """The last control number used per partner and direction: outbound numbers are allocated from it, and
    an inbound interchange's number is recorded in it (the highest seen)."""

    __tablename__ = "edi_control_counter"
    __table_args__ = (
        UniqueConstraint("partner_id", "direction"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("edi_partner.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Interchange(db.Model):
    """One interchange received or sent. Unique per partner, direction and control number: the same
    interchange received twice is refused (409)."""

    __tablename__ = "edi_interchange"
    __table_args__ = (
        UniqueConstraint("partner_id", "direction", "control_number"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("edi_partner.id", ondelete="CASCADE"), index=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="CASCADE"),
                                                 index=True)
    direction: Mapped[str] = mapped_column(String(3))
    standard: Mapped[str] = mapped_column(String(8))
    message_type: Mapped[str] = mapped_column(String(8))          # 830, DELFOR, 997, CONTRL, ...
    control_number: Mapped[str] = mapped_column(String(14))
    status: Mapped[str] = mapped_column(String(16), default="received")  # received/applied/rejected/sent
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id", ondelete="SET NULL"))
    reference: Mapped[str] = mapped_column(String(64), default="")      # the document's own number
    documents: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[Any] | None] = mapped_column(JSON)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("edi_interchange.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
