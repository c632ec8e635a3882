"""HTML pages of the scorecards domain: a relationship's two scorecards, and the rows behind each figure."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, g, render_template, request
from flask_babel import format_decimal, format_percent
from flask_babel import lazy_gettext as _l

from cogrow.core.auth import requires
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.scorecards import services

bp = Blueprint("scorecards", __name__, url_prefix="/relationships")

FIGURE_HEADERS = ("Side", "Measure", "Name", "Month", "Numerator", "Denominator", "Value")
# The codes a drill-down row carries (a change, a proposal's status), as the page shows them.
CODE_LABELS = {"revised": _l("revised"), "cancelled": _l("cancelled"), "accepted": _l("accepted"),
               "rejected": _l("rejected"), "open": _l("open")}


def show(value: Decimal | None, kind: str) -> str:
    """A figure as people read it: a share as a percentage, a mean in days, a count; "—" when there is none."""
    if value is None:
        return "—"
    if kind in ("share", "ratio"):
        return format_percent(value, "#,##0.0%")
    if kind == "count":
        return format_decimal(value, "#,##0")
    return format_decimal(value, "#,##0.0")


def chart_value(value: Decimal | None, kind: str) -> str:
    """What a chart plots: percentages for shares and ratios, otherwise the figure; empty for a gap."""
    if value is None:
        return ""
    scaled = value * 100 if kind in ("share", "ratio") else value
    return str(scaled.quantize(Decimal("0.01")))


def _helpers() -> dict[str, Any]:
    return {"show": show, "chart_value": chart_value, "code_label": lambda code: CODE_LABELS.get(code, code), "measures_of": services.measures_of,
            "forecast_rows": services.FORECAST_ROWS}


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
    return render_template("scorecards/relationship.html", rel=card.relationship, card=card, **_helpers())


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
                           figure=figure, month=args.get("month") or "", **_helpers())
