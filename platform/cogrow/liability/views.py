"""HTML pages of the liability domain: the statement of a relationship and month, printable and exported."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest
from cogrow.liability import export, services

bp = Blueprint("liability", __name__)

FORMATS = ("print", "xlsx", "pdf")


@bp.get("/relationships/<int:relationship_id>/liability")
@requires()
def statement(relationship_id: int):
    """The statement for `month` (YYYY-MM, default this month); `format` print, xlsx or pdf issues it."""
    month = services.parse_month(request.args.get("month"))
    fmt = request.args.get("format") or ""
    if fmt and fmt not in FORMATS:
        raise BadRequest(_("Unknown export format."), fields={"format": _("Must be one of: %(choices)s.", choices="print, xlsx, pdf")})
    result = services.compute(g.actor, relationship_id, month)
    if fmt in ("xlsx", "pdf"):  # the file is made first: an issue is recorded only for a file that exists
        response = export.xlsx(result) if fmt == "xlsx" else export.pdf(result)
        services.record_issue(g.actor, result, fmt)
        return response
    if fmt == "print":
        issue = services.record_issue(g.actor, result, fmt)
        return render_template("liability/print.html", rel=result.relationship, statement=result, issue=issue,
                               export=export)
    months = [services.current_month()]
    for _step in range(23):
        months.append(months[-1].previous())
    return render_template("liability/statement.html", rel=result.relationship, statement=result, months=months,
                           issues=services.issues(g.actor, relationship_id), export=export)
