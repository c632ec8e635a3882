"""HTML pages of the reliability domain: a relationship's "forecast reliability" tab, for both sides."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest
from cogrow.core.validation import parse_int
from cogrow.reliability import services
from cogrow.reliability import tasks  # noqa: F401  (registers the refresh and nightly tasks in every app)

bp = Blueprint("reliability", __name__)

WINDOW_CHOICES = (4, 8, 13, 26, 52)


def window_weeks(raw: str | None) -> int:
    """The `weeks` query parameter: 1 to MAX_WINDOW_WEEKS, 13 when absent; a 400 naming it otherwise."""
    if raw is None or raw == "":
        return services.DEFAULT_WINDOW_WEEKS
    weeks = parse_int(raw, minimum=1, maximum=services.MAX_WINDOW_WEEKS)
    if isinstance(weeks, str):
        raise BadRequest(_("The window must be a whole number of weeks from 1 to %(max)s.",
                           max=services.MAX_WINDOW_WEEKS), fields={"weeks": weeks})
    return weeks


@bp.get("/relationships/<int:relationship_id>/reliability")
@requires()
def relationship_page(relationship_id: int):
    weeks = window_weeks(request.args.get("weeks"))
    first, last = services.default_window(weeks)
    figures = services.relationship_reliability(g.actor, relationship_id, first, last)
    return render_template("reliability/relationship.html", rel=figures.rel, figures=figures, weeks=weeks,
                           choices=sorted({*WINDOW_CHOICES, weeks}))
