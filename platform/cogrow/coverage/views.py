"""Coverage pages: one item's ledger with its projected weeks, and the "recompute now" button."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from cogrow.core.auth import requires
from cogrow.core.forms import CsrfOnlyForm
from cogrow.coverage import services
from cogrow.coverage.chart import chart_weeks

bp = Blueprint("coverage", __name__, url_prefix="/relationships/<int:relationship_id>/items/<int:item_id>/ledger")


@bp.get("")
@requires()
def item_ledger(relationship_id: int, item_id: int):
    item, ledger, stored = services.item_ledger(g.actor, relationship_id, item_id)
    weeks = services.projected_weeks(ledger, stored)
    return render_template("coverage/item_ledger.html", rel=item.supply_relationship, item=item, ledger=ledger,
                           weeks=weeks, chart_weeks=chart_weeks(ledger, weeks),
                           pending=services.is_pending(item.relationship_id, item.id),
                           recompute_form=CsrfOnlyForm(formdata=None),
                           explanation=services.explanation(ledger) if ledger is not None else None)


@bp.post("/recompute")
@requires("admin", "planner", "procurement", "production")
def recompute(relationship_id: int, item_id: int):
    services.request_recompute(g.actor, relationship_id, item_id)
    flash(_("The ledger will be recomputed in a moment."), "success")
    return redirect(url_for("coverage.item_ledger", relationship_id=relationship_id, item_id=item_id))
