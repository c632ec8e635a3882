"""Forecast drafts: a version the prime's planner weighs before publishing it (domain.md, "Liability and what-if").

A draft is a whole version, like a publication: its buckets stand in for the latest version's in the what-if
(coverage.whatif), and an item it leaves out loses its forecast there as it would on publication. It is made from
buckets (the API), from the latest version (to edit cells on the page), or from a forecast import's checked rows
(the import preview: the rows the same parser read, stored as the draft; the import itself stays a preview).
Publishing a draft is the normal publish path (an import's draft confirms the import); a published or discarded
draft is deleted. Drafts are the prime's: the supplier never sees them.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, tuple_

from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, NotFound, ValidationFailed
from cogrow.core.weeks import current_week, zone_for
from cogrow.coverage import whatif
from cogrow.extensions import db
from cogrow.forecasts import services, tasks
from cogrow.forecasts.models import ForecastBucket, ForecastDraft, ForecastDraftBucket, ForecastPublication

logger = logging.getLogger("cogrow.forecasts")

Bucket = tuple[int, date, Decimal]
_COLUMNS = ("draft_id", "relationship_id", "item_id", "week_start", "quantity", "zone")


def _fail(errors: list[tuple[int, str, str]]) -> ValidationFailed:
    return ValidationFailed(_("%(n)s forecast entries are not valid.", n=len({e[0] for e in errors})),
                            fields={f"buckets[{i}].{field}": message for i, field, message in reversed(errors)})


def _insert_buckets(draft: ForecastDraft, rel: Any, buckets: Sequence[Bucket]) -> None:
    """The draft's buckets, zoned as publishing them now would zone them (services.publish's rule)."""
    base = current_week()
    rows = ((draft.id, rel.id, item_id, week, quantity,
             zone_for((week - base).days // 7, rel.firm_fence_weeks, rel.material_fence_weeks))
            for item_id, week, quantity in buckets)
    services._bulk_insert(ForecastDraftBucket.__table__, _COLUMNS, rows, len(buckets), None)


def create_draft(actor: Actor, relationship_id: int, buckets: Sequence[Bucket], note: str = "",
                 import_id: int | None = None, checked: bool = False) -> ForecastDraft:
    """A draft of these buckets (checked as a publication's are: 422 naming the entry); commits."""
    rel = services._prime_writer(actor, relationship_id)
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationFailed("The note is too long.", fields={"note": _("At most %(n)s characters.", n=500)})
    if not buckets:
        raise ValidationFailed("A forecast needs at least one bucket.",
                               fields={"buckets": _("Give at least one bucket.")})
    errors = [] if checked else services.check_buckets(services.item_ids_of(rel.id), buckets, current_week())
    if errors:
        raise _fail(errors)
    latest = services.latest_of(rel.id)
    draft = ForecastDraft(relationship_id=rel.id, import_id=import_id, note=note, bucket_count=len(buckets),
                          base_version_no=latest.version_no if latest else 0, created_by_id=actor.user_id)
    db.session.add(draft)
    db.session.flush()
    _insert_buckets(draft, rel, buckets)
    audit.record(actor, "forecast.draft_created", draft, detail={"buckets": len(buckets), "import_id": import_id})
    db.session.commit()
    return draft


def draft_from_latest(actor: Actor, relationship_id: int) -> ForecastDraft:
    """A draft holding the latest version's buckets from the current week on, for editing cells."""
    rel = services._prime_writer(actor, relationship_id)
    latest = services.latest_of(rel.id)
    if latest is None:
        raise Conflict(_("No forecast version is published yet: upload one as a draft instead."))
    buckets = db.session.execute(select(ForecastBucket.item_id, ForecastBucket.week_start, ForecastBucket.quantity)
                                 .where(ForecastBucket.publication_id == latest.id,
                                        ForecastBucket.week_start >= current_week())).all()
    return create_draft(actor, rel.id, [tuple(b) for b in buckets],
                        note=_("Edited from version %(n)s", n=latest.version_no), checked=True)


def draft_from_import(actor: Actor, relationship_id: int, import_id: int) -> ForecastDraft:
    """The draft of a forecast import's preview: its checked rows, read by the import's own parser and checks.
    One draft per import (asking again returns it)."""
    from cogrow.imports import services as imports

    batch = imports.get_import(actor, relationship_id, import_id)
    if batch.kind != "forecast":
        raise Conflict(_("Only a forecast import has a what-if."))
    if batch.status != "preview":
        raise Conflict(_("This import cannot be confirmed: it is %(status)s.",
                         status=imports.status_label(batch.status)))
    existing = db.session.scalar(select(ForecastDraft).where(ForecastDraft.import_id == batch.id))
    if existing is not None:
        return existing
    rel = services._prime_writer(actor, relationship_id)
    kind = imports.kind_or_404(batch.kind)
    _table, buckets, parsed = imports.read_and_validate(
        actor, rel, kind, batch.filename, batch.content or b"", imports._opt(batch, "encoding"),
        imports._opt(batch, "delimiter"), imports._opt(batch, "content_type"))
    if parsed.errors or not buckets:
        raise Conflict(_("The file no longer passes its checks: upload it again."))
    return create_draft(actor, rel.id, buckets, note=_("Imported from %(file)s (import #%(id)s)",
                                                       file=batch.filename, id=batch.id)[:500],
                        import_id=batch.id, checked=True)


def get_draft(actor: Actor, relationship_id: int, draft_id: int) -> ForecastDraft:
    """A draft of this relationship, to the prime's planners only (anyone else: not found)."""
    rel = services.relationships.get_relationship(actor, relationship_id)
    draft = db.session.scalar(select(ForecastDraft).where(ForecastDraft.id == draft_id,
                                                          ForecastDraft.relationship_id == rel.id))
    if draft is None or actor.organisation_id != rel.prime_id:
        raise NotFound(_("No such draft."))
    return draft


def list_drafts(actor: Actor, relationship_id: int) -> list[ForecastDraft]:
    rel = services.relationships.get_relationship(actor, relationship_id)
    if actor.organisation_id != rel.prime_id:
        return []
    return list(db.session.scalars(select(ForecastDraft).where(ForecastDraft.relationship_id == rel.id)
                                   .order_by(ForecastDraft.id.desc()).limit(50)))


def draft_buckets(draft: ForecastDraft) -> list[Bucket]:
    """The draft's buckets from the current week on (a week that went by since is left out, as publish would)."""
    t = ForecastDraftBucket
    return [tuple(row) for row in db.session.execute(
        select(t.item_id, t.week_start, t.quantity).where(t.draft_id == draft.id, t.week_start >= current_week())
        .order_by(t.item_id, t.week_start))]


def set_cells(actor: Actor, relationship_id: int, draft_id: int, cells: Sequence[Bucket]) -> ForecastDraft:
    """Set cells of a draft (a quantity of 0 is a cut to nothing); each cell is checked as a bucket. Commits."""
    draft = get_draft(actor, relationship_id, draft_id)
    rel = services._prime_writer(actor, relationship_id)
    errors = [e for e in services.check_buckets(services.item_ids_of(rel.id), cells, current_week())
              if e[1] != "week" or "must reach" not in e[2]]  # one cell need not reach the horizon
    if errors:
        raise _fail(errors)
    t = ForecastDraftBucket.__table__
    db.session.execute(delete(t).where(t.c.draft_id == draft.id, tuple_(t.c.item_id, t.c.week_start).in_(
        [(item_id, week) for item_id, week, _quantity in cells])))
    _insert_buckets(draft, rel, cells)
    draft.bucket_count = db.session.scalar(select(func.count()).select_from(t).where(t.c.draft_id == draft.id)) or 0
    audit.record(actor, "forecast.draft_edited", draft, detail={"cells": len(cells)})
    db.session.commit()
    return draft


def draft_whatif(actor: Actor, relationship_id: int, draft_id: int) -> whatif.WhatIf:
    """The what-if of publishing this draft now: every item of the relationship, before and after."""
    draft = get_draft(actor, relationship_id, draft_id)
    return whatif.compute(draft.relationship_id, whatif.FORECAST_DRAFT, draft.id)


def draft_cuts(draft: ForecastDraft) -> list[services.Cut]:
    """The firm-zone cells of the latest version that publishing the draft would cut."""
    return services.firm_cuts(draft.relationship_id, draft_buckets(draft))


def publish_draft(actor: Actor, relationship_id: int, draft_id: int, reason: str | None = None
                  ) -> ForecastPublication | Any:
    """Publish the draft by the normal path (a cut of firm-zone cells needs `reason`), then delete it.

    A draft of an import confirms that import (its preview's own checks and apply); the answer is then the import.
    """
    draft = get_draft(actor, relationship_id, draft_id)
    if draft.import_id is not None:
        from cogrow.imports import services as imports

        import_id = draft.import_id
        batch = imports.confirm(actor, relationship_id, import_id, reason=reason)
        db.session.execute(delete(ForecastDraft.__table__).where(ForecastDraft.id == draft_id))
        db.session.commit()
        return batch
    pub = services.publish(actor, relationship_id, draft_buckets(draft), note=draft.note, commit=False,
                           reason=reason)
    audit.record(actor, "forecast.draft_published", draft, detail={"version_no": pub.version_no})
    db.session.delete(draft)
    db.session.commit()
    if pub.firm_cuts:
        tasks.send_pending()
    return pub


def discard_draft(actor: Actor, relationship_id: int, draft_id: int) -> None:
    """Delete the draft (an import's preview stays as it was). Commits."""
    draft = get_draft(actor, relationship_id, draft_id)
    services._prime_writer(actor, relationship_id)
    audit.record(actor, "forecast.draft_discarded", draft)
    db.session.delete(draft)
    db.session.commit()
