"""The prime administrator's page of monthly exchange rates."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from cogrow.core.auth import requires
from cogrow.core.errors import ValidationFailed
from cogrow.money import services
from cogrow.money.forms import FxRateForm

bp = Blueprint("money", __name__)


@bp.route("/settings/fx-rates", methods=["GET", "POST"])
@requires("admin", kind="prime")
def fx_rates():
    form = FxRateForm()
    if not form.is_submitted():
        form.month.data = services.current_month()
    elif form.validate():
        try:
            rate = services.set_rate(g.actor, form.month.data, form.currency.data, form.krw_per_unit.data)
        except ValidationFailed as exc:
            form.add_errors(exc.fields)
        else:
            flash(_("Rate for %(currency)s in %(month)s saved.", currency=rate.currency,
                    month=rate.month.strftime("%Y-%m")), "success")
            return redirect(url_for("money.fx_rates"))
    return render_template("money/fx_rates.html", form=form, rates=services.list_rates(g.actor),
                           month=services.current_month()), (422 if form.errors else 200)
