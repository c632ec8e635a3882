"""Uploaded files (XLSX or CSV) on their way from preview to an all-or-nothing apply."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from cogrow.core.types import UTCDateTime, utcnow
from cogrow.extensions import db

# pending: stored, waiting for the worker to read it (large files); preview / invalid: read and checked.
IMPORT_STATES = ("pending", "preview", "invalid", "queued", "running", "applied", "failed", "discarded")


class ImportBatch(db.Model):
    __tablename__ = "import_batch"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'preview', 'invalid', 'queued', 'running', 'applied', 'failed', "
                        "'discarded')", name="status"),
        # The same file applied twice to the same relationship and kind is refused, even by two racing requests.
        Index("ux_import_batch_applied_file", "relationship_id", "kind", "content_sha256", unique=True,
              sqlite_where=text("status IN ('queued', 'running', 'applied')"),
              postgresql_where=text("status IN ('queued', 'running', 'applied')")),
        Index("ix_import_batch_rel_created", "relationship_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx | json
    content_sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    encoding: Mapped[str | None] = mapped_column(String(16))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16), default="preview")
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    task_id: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
