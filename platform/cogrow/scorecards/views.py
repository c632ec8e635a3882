"""HTML pages of the scorecards domain: a relationship's two scorecards, and the rows behind each figure."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, g, render_template, request

from cogrow.core.auth import requires
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.scorecards import services
from cogrow.scorecards.display import helpers

bp = Blueprint("scorecards", __name__, url_prefix="/relationships")

FIGURE_HEADERS = ("Side", "Measure", "Name", "Month", "Numerator", "Denominator", "Value")


@bp.get("/<int:relationship_id>/scorecard")
@requires()
def relationship_page(relationship_id: int):
    now = utcnow()
    card = services.scorecard(g.actor, relationship_id, request.args.get("start"), request.args.get("end"),
                              local_today(now), now)
    fmt = request.args.get("format")
    if fmt:
        from cogrow.imports.export import respond

        stem = f"scorecard-{card.relationship.id}-{card.period.first.label}-{card.period.last.label}"
        return respond(FIGURE_HEADERS, services.figure_rows(card), stem, fmt)
    return render_template("scorecards/relationship.html", rel=card.relationship, card=card, **helpers())


@bp.get("/<int:relationship_id>/scorecard/rows")
@requires()
def rows_page(relationship_id: int):
    now = utcnow()
    args = request.args
    rel, measure, period, months, rows = services.drill_down(
        g.actor, relationship_id, args.get("measure"), args.get("start"), args.get("end"), args.get("month"),
        local_today(now), now)
    fmt = args.get("format")
    if fmt:
        from cogrow.imports.export import respond

        headers = ["Month", *(str(c.label) for c in measure.columns)]
        data = ([row["month"], *(row[c.key] for c in measure.columns)] for row in rows)
        stem = f"scorecard-{rel.id}-{measure.key}-{months[0].label}" + (f"-{months[-1].label}" if len(months) > 1 else "")
        return respond(headers, data, stem, fmt)
    figure = services.Figure(sum((Decimal(str(r["num"])) for r in rows), Decimal(0)),
                             sum((Decimal(str(r["den"])) for r in rows), Decimal(0)), measure.kind)
    return render_template("scorecards/rows.html", rel=rel, measure=measure, period=period, months=months, rows=rows,
                           figure=figure, month=args.get("month") or "", **helpers())
