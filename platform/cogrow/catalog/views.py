"""Item pages of one relationship: the list with a create form, and one item's detail and edit form."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from cogrow.catalog import services
from cogrow.catalog.forms import ItemForm, SupplierItemForm
from cogrow.core.auth import requires
from cogrow.core.errors import ValidationFailed
from cogrow.core.forms import BaseForm
from cogrow.core.validation import form_version
from cogrow.extensions import db
from cogrow.relationships import services as relationships

bp = Blueprint("catalog", __name__, url_prefix="/relationships/<int:relationship_id>/items")


def _refused(form: BaseForm, exc: ValidationFailed) -> dict[str, str]:
    """A service's field errors beside the form's fields; those no visible field shows are returned (listed)."""
    db.session.rollback()
    rest = {}
    for name, message in exc.fields.items():
        field = form._fields.get(name)
        if field is None or field.type == "HiddenField":
            rest[name] = message
        elif not field.errors:
            form.add_error(name, message)
    return rest


def _render_list(relationship_id: int, form: ItemForm | None = None, errors: dict[str, str] | None = None,
                 status: int = 200):
    rel = relationships.get_relationship(g.actor, relationship_id)
    return render_template("catalog/list.html", rel=rel, items=services.list_items(g.actor, relationship_id),
                           form=form or ItemForm(formdata=None), errors=errors or {}), status


@bp.get("")
@requires()
def list_page(relationship_id: int):
    return _render_list(relationship_id)


@bp.post("")
@requires("admin", "planner", kind="prime")
def create(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)  # 404 for another's relationship, before any field
    form = ItemForm()
    if not form.validate():
        return _render_list(relationship_id, form, status=422)
    try:
        item = services.create_item(g.actor, relationship_id, form.values())
    except ValidationFailed as exc:
        return _render_list(relationship_id, form, _refused(form, exc), 422)
    flash(_("Item %(part)s added.", part=item.prime_part_number), "success")
    return redirect(url_for("catalog.list_page", relationship_id=relationship_id))


def _render_detail(relationship_id: int, item_id: int, form: BaseForm | None = None,
                   errors: dict[str, str] | None = None, status: int = 200):
    item = services.get_item(g.actor, relationship_id, item_id)
    rel = item.supply_relationship
    if form is None:
        form = ItemForm.for_item(item) if g.actor.organisation_id == rel.prime_id else \
            SupplierItemForm(formdata=None, version=str(item.version),
                             supplier_part_number=item.supplier_part_number)
    # A refused form keeps the version it was rendered with: if the item changed meanwhile, sending it again is a 412.
    return render_template("catalog/detail.html", rel=rel, item=item, form=form, errors=errors or {}), status


@bp.get("/<int:item_id>")
@requires()
def detail(relationship_id: int, item_id: int):
    return _render_detail(relationship_id, item_id)


@bp.post("/<int:item_id>")
@requires("admin", "planner", "production")
def update(relationship_id: int, item_id: int):
    services.get_item(g.actor, relationship_id, item_id)  # 404 for another's item, before any field
    form = ItemForm() if g.actor.is_prime else SupplierItemForm()  # the supplier's form has its own part number
    if not form.validate():
        return _render_detail(relationship_id, item_id, form, status=422)
    try:
        services.update_item(g.actor, relationship_id, item_id, form.values(), form_version(form.version.data))
    except ValidationFailed as exc:
        return _render_detail(relationship_id, item_id, form, _refused(form, exc), 422)
    flash(_("Item saved."), "success")
    return redirect(url_for("catalog.detail", relationship_id=relationship_id, item_id=item_id))
