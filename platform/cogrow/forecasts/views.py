"""Forecast pages: every relationship's latest version, a version's grid (with the supplier's commit form),
the versions, the waterfall, and authorizations. Every list exports as CSV or XLSX (`?format=`)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cogrow.core.fields import FieldError, decimal_text, iso_week, quantity as read_quantity
from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest, ValidationFailed
from cogrow.core.validation import MAX_BIG_ID, parse_id, parse_int
from cogrow.core.weeks import iso_label
from cogrow.forecasts import drafts, notify, services
from cogrow.forecasts.forms import GrantForm
from cogrow.forecasts.models import ForecastPublication
from cogrow.relationships import services as relationships

bp = Blueprint("forecasts", __name__)

REL = "/relationships/<int:relationship_id>/forecasts"
ITEMS_PER_PAGE = 10  # waterfall rows: 10 items x their weeks


def _format() -> str | None:
    fmt = request.args.get("format")
    if fmt is None:
        return None
    if fmt not in ("csv", "xlsx"):
        raise BadRequest(_("The export format must be csv or xlsx."), fields={"format": _("Must be csv or xlsx.")})
    return fmt


def _export(headers, rows, stem: str, fmt: str):
    from cogrow.imports.export import respond

    return respond(headers, rows, stem, fmt)


def _page() -> int:
    page = parse_int(request.args.get("page", "1"), minimum=1, maximum=100_000)
    if isinstance(page, str):
        raise BadRequest(_("The page must be a whole number from 1."), fields={"page": _("Must be a whole number from 1.")})
    return page


def _can_commit(rel) -> bool:
    return (g.actor.organisation_id == rel.supplier_id and g.actor.role in services.COMMIT_ROLES
            and rel.status != "suspended")


def _can_plan(rel) -> bool:
    return (g.actor.organisation_id == rel.prime_id and g.actor.role in services.PLANNER_ROLES
            and rel.status != "suspended")


@bp.get("/forecasts")
@requires()
def list_page():
    rows = services.latest_by_relationship(g.actor)
    fmt = _format()
    if fmt:
        return _export([_("Prime"), _("Supplier"), _("Latest version"), _("Published at"), _("Buckets")],
                       [[rel.prime.name, rel.supplier.name, pub.version_no if pub else "",
                         pub.published_at.isoformat() if pub else "", pub.bucket_count if pub else ""]
                        for rel, pub in rows], "forecasts", fmt)
    return render_template("forecasts/list.html", rows=rows,
                           unread=notify.unread_by_relationship(g.actor.user_id, g.actor.organisation_id))


def _grid_export(rel, pub: ForecastPublication, fmt: str):
    rows = services.publication_buckets(g.actor, rel.id, pub)
    return _export([_("Part number"), _("Week"), _("Week start"), _("Zone"), _("Forecast"), _("Commit"),
                    _("Reason code"), _("Comment")],
                   [[r.prime_part_number, iso_label(r.week_start), r.week_start, r.zone, r.quantity, r.commit_qty,
                     r.reason_code or "", r.comment or ""] for r in rows],
                   f"forecast-{rel.id}-v{pub.version_no}", fmt)


def _render_version(relationship_id: int, pub: ForecastPublication | None, errors: dict[str, str], status: int = 200,
                    form=None):
    rel = relationships.get_relationship(g.actor, relationship_id)
    page = _page()
    grid = None
    latest_no = None
    if pub is not None:
        fmt = _format()
        if fmt:
            return _grid_export(rel, pub, fmt)
        grid = services.publication_grid(g.actor, rel.id, pub, page=page)
        latest = services.latest_of(rel.id)
        latest_no = latest.version_no if latest else None
    elif _format():
        return _export([_("Part number"), _("Week")], [], f"forecast-{rel.id}", _format())  # type: ignore[arg-type]
    versions = services.list_publications(g.actor, rel.id, limit=10)
    pages = grid.pages if grid else 1
    changed: dict = {}
    cuts: list = []
    notices: list = []
    if pub is not None and grid is not None:
        changed = services.changes_against_previous(pub, [r.item_id for r in grid.rows])
        cuts = services.cuts_of(pub)
        if g.actor.user_id is not None:
            notices = notify.unread(g.actor.user_id, g.actor.organisation_id, rel.id)
            if any(n.publication_id == pub.id for n in notices) and request.method == "GET":
                notify.mark_read(g.actor.user_id, g.actor.organisation_id, rel.id, pub.id)
    return render_template(
        "forecasts/version.html", rel=rel, pub=pub, grid=grid, versions=versions, latest_no=latest_no,
        can_commit=bool(pub and pub.version_no == latest_no and _can_commit(rel)), can_plan=_can_plan(rel),
        errors=errors, form=form, page=page, pages=pages, reasons=services.REASON_CODES,
        reason_label=services.reason_label, iso_label=iso_label, changed=changed, cuts=cuts, notices=notices,
        internal=g.actor.organisation_id == rel.prime_id, drafts=drafts.list_drafts(g.actor, rel.id),
    ), status


@bp.get(REL)
@requires()
def latest(relationship_id: int):
    return _render_version(relationship_id, services.latest_publication(g.actor, relationship_id), {})


@bp.get(f"{REL}/<int:version_no>")
@requires()
def detail(relationship_id: int, version_no: int):
    return _render_version(relationship_id, services.get_publication(g.actor, relationship_id, version_no), {})


@bp.post(f"{REL}/<int:version_no>/commits")
@requires("admin", "production", kind="supplier")
def commit(relationship_id: int, version_no: int):
    """The supplier's grid: `qty-<bucket>` / `reason-<bucket>` per cell; an empty quantity leaves the cell as it is."""
    pub = services.get_publication(g.actor, relationship_id, version_no)
    if request.form.get("action") == "fill":
        # "Commit all as forecast" without script: the page again with every cell filled in, nothing saved.
        grid = services.publication_grid(g.actor, relationship_id, pub, page=_page())
        filled = {f"qty-{cell.bucket_id}": decimal_text(cell.quantity) for row in grid.rows
                  for cell in row.cells.values()}
        flash(_("Every cell now holds its forecast quantity. Check them, then save."), "success")
        return _render_version(relationship_id, pub, {}, 200, form=filled)
    rows, fields_of, errors = [], [], {}
    for key, raw in request.form.items():
        if not key.startswith("qty-") or not raw.strip():
            continue
        bucket = key[4:]
        if parse_id(bucket, MAX_BIG_ID) is None:  # buckets have BIGINT keys
            continue
        try:
            quantity = read_quantity(raw, scale=4, grouping=True)  # a form: "1,280" as the page shows it
        except FieldError as exc:
            errors[f"qty-{bucket}"] = exc.message
            continue
        reason = (request.form.get(f"reason-{bucket}") or "").strip().upper() or None
        rows.append({"bucket_id": parse_id(bucket, MAX_BIG_ID), "quantity": quantity, "reason_code": reason,
                     "comment": request.form.get(f"comment-{bucket}", "")})
        fields_of.append(bucket)
    if not errors and not rows:
        flash(_("Enter a quantity in at least one week to commit."), "error")
        return redirect(url_for("forecasts.detail", relationship_id=relationship_id, version_no=version_no))
    if not errors:
        try:
            result = services.commit_buckets(g.actor, relationship_id, pub.id, rows)
        except ValidationFailed as exc:
            for name, message in exc.fields.items():
                index, _dot, field = name.partition("].")
                position = index.removeprefix("commits[")
                if position.isdigit():
                    prefix = "reason" if field == "reason_code" else "qty"
                    errors[f"{prefix}-{fields_of[int(position)]}"] = message
                else:
                    errors[name] = message
    if errors:
        return _render_version(relationship_id, pub, errors, 422, form=request.form)
    flash(_("Commits saved: %(created)s new, %(updated)s changed.", created=result["created"],
            updated=result["updated"]), "success")
    return redirect(url_for("forecasts.detail", relationship_id=relationship_id, version_no=version_no,
                            page=request.args.get("page", 1)))


@bp.get(f"{REL}/versions")
@requires()
def versions(relationship_id: int):
    rel = relationships.get_relationship(g.actor, relationship_id)
    fmt = _format()
    pubs = services.list_publications(g.actor, rel.id, limit=None if fmt else 500)  # type: ignore[arg-type]
    internal = g.actor.organisation_id == rel.prime_id  # the note is the prime's internal note
    if fmt:
        headers = [_("Version"), _("Published at"), _("Base week"), _("Firm fence (weeks)"),
                   _("Material fence (weeks)"), _("Buckets"), _("Firm-zone cuts"), _("Reason for the cuts")]
        rows = [[p.version_no, p.published_at.isoformat(), iso_label(p.base_week), p.firm_fence_weeks,
                 p.material_fence_weeks, p.bucket_count, p.firm_cuts, p.cut_reason or ""] for p in pubs]
        if internal:
            headers.append(_("Internal note"))
            rows = [row + [p.note] for row, p in zip(rows, pubs)]
        return _export(headers, rows, f"forecast-versions-{rel.id}", fmt)
    return render_template("forecasts/versions.html", rel=rel, pubs=pubs, iso_label=iso_label, internal=internal)


@bp.get(f"{REL}/waterfall")
@requires()
def waterfall(relationship_id: int):
    rel = relationships.get_relationship(g.actor, relationship_id)
    fmt = _format()
    page = _page()
    if fmt:
        data = services.waterfall(g.actor, rel.id, limit=None)
        headers = [_("Part number"), _("Week"), _("Zone")] + [_("Version %(n)s", n=v.version_no) for v in data.versions] \
            + [_("Change"), _("Commit"), _("Reason code")]
        rows = [[c["part_number"], iso_label(c["week"]), c["zone"] or ""]
                + [c["by_version"].get(v.version_no) for v in data.versions]
                + [c["change"], c["commit_qty"], c["reason_code"] or ""] for c in data.rows]
        return _export(headers, rows, f"forecast-waterfall-{rel.id}", fmt)
    data = services.waterfall(g.actor, rel.id, limit=ITEMS_PER_PAGE, offset=(page - 1) * ITEMS_PER_PAGE)
    pages = max(1, -(-data.item_count // ITEMS_PER_PAGE))
    return render_template("forecasts/waterfall.html", rel=rel, data=data, page=page, pages=pages, iso_label=iso_label,
                           reason_label=services.reason_label)


def _render_authorizations(relationship_id: int, form: GrantForm | None = None, status: int = 200):
    rel = relationships.get_relationship(g.actor, relationship_id)
    fmt = _format()
    if fmt:
        grants = services.list_authorizations(g.actor, rel.id, limit=None)
        return _export([_("Part number"), _("Kind"), _("Cumulative start date"), _("Quantity"), _("Granted at")],
                       [[r.prime_part_number, r.kind, r.cum_start_date, r.quantity, r.granted_at.isoformat()]
                        for r in grants], f"authorizations-{rel.id}", fmt)
    from cogrow.catalog import services as catalog

    can_plan = _can_plan(rel)
    items = catalog.list_items(g.actor, rel.id) if can_plan else []
    if form is None and can_plan:
        # The start date proposed is the current period's, which is never refused.
        form = GrantForm.for_items(items, cum_start_date=services.default_period_start(rel.id))
    return render_template(
        "forecasts/authorizations.html", rel=rel, summary=services.list_authorization_summary(g.actor, rel.id),
        grants=services.list_authorizations(g.actor, rel.id, limit=200), can_plan=can_plan, form=form,
    ), status


@bp.get(f"{REL}/authorizations")
@requires()
def authorizations(relationship_id: int):
    return _render_authorizations(relationship_id)


@bp.post(f"{REL}/authorizations")
@requires("admin", "planner", kind="prime")
def grant(relationship_id: int):
    from cogrow.catalog import services as catalog

    relationships.get_relationship(g.actor, relationship_id)
    form = GrantForm.for_items(catalog.list_items(g.actor, relationship_id))
    if not form.validate_on_submit():
        return _render_authorizations(relationship_id, form, 422)
    try:
        row = services.grant_authorization(g.actor, relationship_id, int(form.item_id.data), form.kind.data,
                                           form.cum_start_date.data, form.quantity.data)
    except ValidationFailed as exc:
        form.add_errors({"item_id" if name == "part_number" else name: message for name, message in exc.fields.items()})
        return _render_authorizations(relationship_id, form, 422)
    flash(_("%(kind)s authorization of %(qty)s granted.", kind=row.kind, qty=decimal_text(row.quantity)), "success")
    return redirect(url_for("forecasts.authorizations", relationship_id=relationship_id))



# ---------------------------------------------------------------- drafts and their what-if

DRAFTS = "/relationships/<int:relationship_id>/forecast-drafts"


def _render_draft(relationship_id: int, draft_id: int, errors: dict[str, str] | None = None, status: int = 200,
                  values: dict[str, str] | None = None):
    draft = drafts.get_draft(g.actor, relationship_id, draft_id)
    rel = relationships.get_relationship(g.actor, relationship_id)
    result = drafts.draft_whatif(g.actor, relationship_id, draft_id)
    cuts = drafts.draft_cuts(draft)
    parts = services.part_numbers_of(rel.id)
    return render_template("forecasts/draft.html", rel=rel, draft=draft, result=result, cuts=cuts,
                           parts=sorted(parts), errors=errors or {}, values=values or {},
                           can_plan=_can_plan(rel), iso_label=iso_label), status


@bp.get(f"{DRAFTS}/<int:draft_id>")
@requires("admin", "planner", kind="prime")
def draft_page(relationship_id: int, draft_id: int):
    return _render_draft(relationship_id, draft_id)


@bp.post(DRAFTS)
@requires("admin", "planner", kind="prime")
def draft_start(relationship_id: int):
    """A draft from the latest version, to edit cells and see their what-if."""
    draft = drafts.draft_from_latest(g.actor, relationship_id)
    return redirect(url_for("forecasts.draft_page", relationship_id=relationship_id, draft_id=draft.id), 303)


@bp.post("/relationships/<int:relationship_id>/imports/<int:import_id>/whatif")
@requires("admin", "planner", kind="prime")
def import_whatif(relationship_id: int, import_id: int):
    """The forecast import preview's rows as a draft, then its what-if page."""
    draft = drafts.draft_from_import(g.actor, relationship_id, import_id)
    return redirect(url_for("forecasts.draft_page", relationship_id=relationship_id, draft_id=draft.id), 303)


@bp.post(f"{DRAFTS}/<int:draft_id>/cells")
@requires("admin", "planner", kind="prime")
def draft_cell(relationship_id: int, draft_id: int):
    """Set one cell of the draft: part number, ISO week, quantity."""
    drafts.get_draft(g.actor, relationship_id, draft_id)
    values = {k: (request.form.get(k) or "").strip() for k in ("part_number", "week", "quantity")}
    errors: dict[str, str] = {}
    item_id = services.part_numbers_of(relationship_id).get(values["part_number"])
    if item_id is None:
        errors["part_number"] = _("No such part number in this relationship's catalog.")
    try:
        monday = iso_week(values["week"])
    except FieldError as exc:
        errors["week"] = str(exc)
    try:
        qty = read_quantity(values["quantity"])
    except FieldError as exc:
        errors["quantity"] = str(exc)
    if not errors:
        try:
            drafts.set_cells(g.actor, relationship_id, draft_id, [(item_id, monday, qty)])
        except ValidationFailed as exc:
            errors = {key.rpartition(".")[2]: message for key, message in (exc.fields or {}).items()}
    if errors:
        return _render_draft(relationship_id, draft_id, errors, 422, values)
    flash(_("The draft is changed: the what-if below shows it."), "success")
    return redirect(url_for("forecasts.draft_page", relationship_id=relationship_id, draft_id=draft_id), 303)


@bp.post(f"{DRAFTS}/<int:draft_id>/publish")
@requires("admin", "planner", kind="prime")
def draft_publish(relationship_id: int, draft_id: int):
    reason = request.form.get("reason")
    try:
        done = drafts.publish_draft(g.actor, relationship_id, draft_id, reason=reason)
    except ValidationFailed as exc:
        errors = {key.partition("[")[0]: message for key, message in (exc.fields or {}).items()}
        return _render_draft(relationship_id, draft_id, errors or {"reason": str(exc)}, 422, {"reason": reason or ""})
    if isinstance(done, ForecastPublication):
        flash(_("Forecast version %(n)s published.", n=done.version_no), "success")
        return redirect(url_for("forecasts.detail", relationship_id=relationship_id, version_no=done.version_no), 303)
    return redirect(url_for("imports.detail", relationship_id=relationship_id, import_id=done.id), 303)


@bp.post(f"{DRAFTS}/<int:draft_id>/discard")
@requires("admin", "planner", kind="prime")
def draft_discard(relationship_id: int, draft_id: int):
    import_id = drafts.get_draft(g.actor, relationship_id, draft_id).import_id
    drafts.discard_draft(g.actor, relationship_id, draft_id)
    flash(_("The draft is discarded."), "success")
    if import_id is not None:
        return redirect(url_for("imports.detail", relationship_id=relationship_id, import_id=import_id), 303)
    return redirect(url_for("forecasts.latest", relationship_id=relationship_id), 303)
