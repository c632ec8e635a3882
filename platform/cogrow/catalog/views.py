"""Item pages of one relationship: the list with a create form, and one item's detail and edit form."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cogrow.catalog import schemas, services
from cogrow.core.auth import requires
from cogrow.core.errors import ValidationFailed
from cogrow.core.validation import Fields, form_version
from cogrow.relationships import services as relationships

bp = Blueprint("catalog", __name__, url_prefix="/relationships/<int:relationship_id>/items")


def _render_list(relationship_id: int, errors: dict[str, str], status: int = 200):
    rel = relationships.get_relationship(g.actor, relationship_id)
    return render_template("catalog/list.html", rel=rel, items=services.list_items(g.actor, relationship_id),
                           errors=errors, form=request.form, uoms=schemas.UOMS), status


@bp.get("")
@requires()
def list_page(relationship_id: int):
    return _render_list(relationship_id, {})


@bp.post("")
@requires("admin", "planner", kind="prime")
def create(relationship_id: int):
    try:
        item = services.create_item(g.actor, relationship_id, schemas.parse_item(request.form))
    except ValidationFailed as exc:
        return _render_list(relationship_id, exc.fields, 422)
    flash(_("Item %(part)s added.", part=item.prime_part_number), "success")
    return redirect(url_for("catalog.list_page", relationship_id=relationship_id))


def _render_detail(relationship_id: int, item_id: int, errors: dict[str, str], status: int = 200):
    item = services.get_item(g.actor, relationship_id, item_id)
    return render_template("catalog/detail.html", rel=item.supply_relationship, item=item, errors=errors,
                           form=request.form if errors else None, uoms=schemas.UOMS), status


@bp.get("/<int:item_id>")
@requires()
def detail(relationship_id: int, item_id: int):
    return _render_detail(relationship_id, item_id, {})


@bp.post("/<int:item_id>")
@requires("admin", "planner", "production")
def update(relationship_id: int, item_id: int):
    version = request.form.get("version", "")
    try:
        if g.actor.is_prime:
            values = schemas.parse_item(request.form)
        else:  # the supplier's form has its own part number only
            f = Fields(request.form)
            f.text("supplier_part_number", max_length=64, code=True, upper=True)
            values = f.done(strict=False)
        services.update_item(g.actor, relationship_id, item_id, values, form_version(version))
    except ValidationFailed as exc:
        return _render_detail(relationship_id, item_id, exc.fields, 422)
    flash(_("Item saved."), "success")
    return redirect(url_for("catalog.detail", relationship_id=relationship_id, item_id=item_id))
