"""Relationship pages: the list, inviting a supplier, the detail with terms and status."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cogrow.catalog import services as catalog
from cogrow.core.auth import requires
from cogrow.core.errors import AppError, ValidationFailed
from cogrow.core.forms import CsrfOnlyForm
from cogrow.core.validation import form_version
from cogrow.relationships import services
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.relationships.forms import NEW_TERMS, TERMS, EditTermsForm, InviteSupplierForm
from cogrow.scorecards import display
from cogrow.scorecards import services as scorecards

bp = Blueprint("relationships", __name__, url_prefix="/relationships")


@bp.get("")
@requires()
def list_page():
    return render_template("relationships/list.html", relationships=services.list_relationships(g.actor),
                           item_counts=catalog.count_items_by_relationship(g.actor))


@bp.route("/new", methods=["GET", "POST"])
@requires("admin", kind="prime")
def invite():
    form = InviteSupplierForm(data=NEW_TERMS)
    if form.validate_on_submit():
        try:
            rel, raw = services.invite_supplier(g.actor, form.values())
        except ValidationFailed as exc:
            form.add_errors(exc.fields)
        except AppError as exc:
            if exc.status != 409:
                raise
            form.add_errors(exc.fields or {"contact_email": exc.message})
        else:
            if raw:
                link = url_for("accounts.accept_invitation", token=raw, _external=True)
                flash(_("Supplier invited. Send this sign-up link to their admin: %(link)s", link=link), "success")
            else:
                flash(_("Supplier invited. Their admin can accept it on Cogrow now."), "success")
            return redirect(url_for("relationships.detail", relationship_id=rel.id))
    return render_template("relationships/new.html", form=form), (422 if form.errors else 200)


@bp.get("/<int:relationship_id>")
@requires()
def detail(relationship_id: int):
    rel = services.get_relationship(g.actor, relationship_id)
    return _detail(rel, _terms_form(rel))


def _terms_form(rel, formdata=None) -> EditTermsForm:
    """The terms as they are (or as submitted, to show them again with their errors)."""
    data = {name: getattr(rel, name) for name in TERMS}
    return EditTermsForm(formdata=formdata, data={**data, "version": rel.version})


def _detail(rel, form: EditTermsForm, status: int = 200):
    now = utcnow()
    return render_template("relationships/detail.html", rel=rel, form=form, button_form=CsrfOnlyForm(formdata=None),
                           item_count=catalog.count_items(g.actor, rel.id),
                           scorecard=scorecards.summary(rel, local_today(now), now), **display.helpers()), status


@bp.post("/<int:relationship_id>/terms")
@requires("admin", kind="prime")
def update_terms(relationship_id: int):
    rel = services.get_relationship(g.actor, relationship_id)
    form = _terms_form(rel, formdata=request.form)
    if form.validate():
        try:
            services.update_terms(g.actor, relationship_id, form.terms(), form_version(form.version.data))
        except ValidationFailed as exc:
            form.add_errors(exc.fields)
    if form.errors:
        return _detail(rel, form, 422)
    flash(_("Terms saved."), "success")
    return redirect(url_for("relationships.detail", relationship_id=relationship_id))


@bp.post("/<int:relationship_id>/accept")
@requires("admin", kind="supplier")
def accept(relationship_id: int):
    services.accept(g.actor, relationship_id)
    flash(_("Relationship accepted."), "success")
    return redirect(url_for("relationships.detail", relationship_id=relationship_id))


@bp.post("/<int:relationship_id>/status")
@requires("admin", kind="prime")
def change_status(relationship_id: int):
    services.set_status(g.actor, relationship_id, request.form.get("status", ""))
    flash(_("Status changed."), "success")
    return redirect(url_for("relationships.detail", relationship_id=relationship_id))
