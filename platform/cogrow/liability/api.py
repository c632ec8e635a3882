"""JSON routes of the liability domain, on the shared API blueprint."""
from __future__ import annotations

from flask import g

from cogrow.core.api import bp, operation
from cogrow.core.auth import requires
from cogrow.liability import services
from cogrow.liability.schemas import LiabilityStatement, StatementQuery, statement_of


@bp.get("/relationships/<int:relationship_id>/liability")
@requires(api=True)
@operation("getLiabilityStatement", tag="liability", query=StatementQuery, response=LiabilityStatement)
def statement_show(relationship_id: int, query: StatementQuery):
    """The liability statement of a relationship for `month` (default the current month), with its input hash."""
    return statement_of(services.compute(g.actor, relationship_id, services.parse_month(query.month)))
