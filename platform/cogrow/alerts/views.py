"""Alerts pages: the alert inbox, an alert's detail and actions, personal notifications, settings, webhooks."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from cogrow.alerts import explain, forms, preferences, services
from cogrow.alerts import webhooks as hooks
from cogrow.core.auth import requires
from cogrow.core import audit
from cogrow.core.errors import AppError, Forbidden, NotFound, ValidationFailed
from cogrow.core.fields import FieldError, moment
from cogrow.core.forms import BaseForm, CsrfOnlyForm
from cogrow.extensions import db
from cogrow.core.validation import form_version
from cogrow.relationships import services as relationships

bp = Blueprint("alerts", __name__)

EVERY_ROLE = ("admin", "planner", "procurement", "production")
FILTER_ARGS = ("status", "type", "severity", "relationship_id", "sort")  # what services.parse_filter reads


@bp.app_context_processor
def _alerts_context() -> dict[str, Any]:
    """The unread count in the top bar of every page, and the label helpers of the alert templates."""
    helpers = explain.template_helpers()
    actor = g.get("actor")
    count = 0
    if actor is not None and actor.user_id is not None:
        try:
            count = services.unread_count(actor)
        except Exception:  # the count is a nicety: an error page must still render if the database is unwell
            count = 0
    helpers["unread_notifications"] = count
    return helpers


def parse_until(raw: Any) -> datetime:
    """The end of a snooze from the API (ISO 8601; without an offset, the business time zone), read by the same
    parser as the pages' field (cogrow.core.fields.moment)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValidationFailed(_("Some fields are not valid."), fields={"until": _("This field is required.")})
    try:
        return moment(raw)
    except FieldError as exc:
        raise ValidationFailed(_("Some fields are not valid."), fields={"until": exc.message}) from None


def _invalid(form: BaseForm) -> ValidationFailed:
    """The fields a form refused, as the services' error (so pages and htmx answer them alike)."""
    return ValidationFailed(_("Some fields are not valid."), fields=form.errors_by_name())


def _put_errors(form: BaseForm | None, errors: dict[str, str] | None) -> dict[str, str]:
    """Show a service's field errors beside the form's fields; returns those no field of the form shows (hidden
    fields such as the version included: the page lists them above the forms)."""
    rest: dict[str, str] = {}
    for name, message in (errors or {}).items():
        field = form._fields.get(name) if form is not None else None
        if field is None or field.type == "HiddenField":
            rest[name] = message
        elif not field.errors:
            form.add_error(name, message)
    return rest


def _filter_args() -> dict[str, str]:
    """The inbox filters of this request, and nothing else: other query arguments never reach url_for."""
    return {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}


class RowForms:
    """The forms of the inbox rows: `row_forms(alert)` in the row template gives one row's forms, ids unique on the
    page (`row12-snooze-days`) and the alert's version.

    Building four forms per row costs about 1 ms a row (200 rows: 0.2 s), so one set is built per page and set to
    each row just before the row is rendered (rows render one after the other). A refused form (`posted`) takes its
    place in its own row, with what was typed and its errors."""

    def __init__(self, posted: forms._AlertAction | None = None, alert_id: int | None = None) -> None:
        self.shared = {name: cls(formdata=None, fragment="row") for name, cls in forms.ACTION_FORMS.items()}
        self.posted, self.alert_id = posted, alert_id

    def __call__(self, alert) -> dict[str, forms._AlertAction]:
        out = {}
        for name, shared in self.shared.items():
            form = self.posted if self.posted is not None and self.posted.action == name and \
                alert.id == self.alert_id else shared
            if "version" in form:
                form.version.data = str(alert.version)  # a refusal is answered with the alert as it now stands
            out[name] = form.for_alert(alert.id, "row")
        return out


def _render_inbox(errors: dict[str, str] | None = None, status: int = 200, bulk_form: forms.BulkForm | None = None):
    rels = relationships.list_relationships(g.actor)
    filter_form = forms.AlertFilterForm(rels, formdata=request.args)
    try:
        flt = services.parse_filter(request.args)  # the filters' rules, shared with the API
    except ValidationFailed as exc:
        status, flt = 422, services.AlertFilter()
        errors = {**(errors or {}), **_put_errors(filter_form, exc.fields)}
    else:
        filter_form.process(data={"status": flt.status or "all", "type": flt.type or "", "severity": flt.severity or "",
                                  "relationship_id": str(flt.relationship_id or ""), "sort": flt.sort})
    alerts = services.list_alerts(g.actor, flt)
    hidden = services.snoozed_count(g.actor) if flt.status == "live" else 0
    may_act = g.actor.role in services.ACTING_ROLES[g.actor.org_kind]
    return render_template("alerts/inbox.html", alerts=alerts, flt=flt, filter_form=filter_form, errors=errors or {},
                           filter_args=_filter_args(), hidden_snoozed=hidden,
                           bulk_form=bulk_form or forms.BulkForm(formdata=None), row_forms=RowForms(),
                           may_act=may_act), status


@bp.get("/alerts")
@requires()
def inbox():
    return _render_inbox()


@bp.post("/alerts/bulk")
@requires(*EVERY_ROLE)
def bulk():
    form = forms.BulkForm()
    try:
        if not form.validate():
            raise _invalid(form)
        result = services.bulk(g.actor, form.action.data, form.ids.data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_inbox(_put_errors(form, exc.fields), 422, bulk_form=form)
    flash(bulk_message(result), "success")
    return redirect(url_for("alerts.inbox", **_filter_args()))


def bulk_message(result: services.BulkResult) -> str:
    """'2 alerts changed; 1 skipped: snoozed (...)': how many were skipped, and why."""
    message = ngettext("%(num)s alert changed.", "%(num)s alerts changed.", result.changed)
    if result.skipped:
        reasons = "; ".join(f"{n} {explain.skip_label(reason)}" for reason, n in sorted(result.skipped.items()))
        message += " " + _("%(skipped)s skipped: %(reasons)s.", skipped=result.skipped_total, reasons=reasons)
    return message


def _htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _detail_forms(alert, posted: forms._AlertAction | None = None) -> dict[str, forms._AlertAction]:
    """The action forms of the alert's page; `posted` (refused) takes its place with what was typed and its errors."""
    out = {}
    for name, cls in forms.ACTION_FORMS.items():
        form = posted if posted is not None and posted.action == name and posted.kind == "detail" else \
            cls(formdata=None, fragment="detail")
        if "version" in form:
            form.version.data = str(alert.version)
        out[name] = form.for_alert(alert.id, "detail")
    return out


def _detail_context(alert_id: int, posted: forms._AlertAction | None = None,
                    errors: dict[str, str] | None = None) -> dict[str, Any]:
    alert = services.get_alert(g.actor, alert_id)
    events = services.history(g.actor, alert_id)
    names = services.user_names([e.user_id for e in events] + [alert.view.acknowledged_by_id, alert.resolved_by_id])
    ledger = services.ledger_row(g.actor, alert)
    raised = next((e for e in reversed(events) if e.kind == "raised"), None) or services.raising_event(alert_id)
    now_qty, now_amount = services.current_figures(alert, ledger)
    raised_qty, raised_amount = (raised.qty, raised.amount) if raised is not None and raised.qty is not None else (
        services.headline(alert.type, raised.numbers) if raised is not None else (None, None))
    resolution = next((e for e in events if e.kind == "resolved"), None) if alert.status == "resolved" else None
    return dict(alert=alert, rel=alert.supply_relationship, events=events, names=names, ledger=ledger,
                errors=errors or {},
                forms=_detail_forms(alert, posted), raised=raised, now_qty=now_qty, now_amount=now_amount,
                raised_qty=raised_qty, raised_amount=raised_amount, resolution=resolution,
                may_act=g.actor.role in services.ACTING_ROLES[g.actor.org_kind])


def _render_detail(alert_id: int, posted: forms._AlertAction | None = None, errors: dict[str, str] | None = None,
                   status: int = 200, message: str | None = None):
    return render_template("alerts/detail.html", message=message, failed=message is not None,
                           **_detail_context(alert_id, posted, errors)), status


@bp.get("/alerts/<int:alert_id>")
@requires()
def detail(alert_id: int):
    return _render_detail(alert_id)


@bp.get("/alerts/unread-count")
@requires()
def unread_count():
    """The unread count as a small fragment, for the top bar to poll (hx-get)."""
    response = make_response(render_template("alerts/_unread_count.html", count=services.unread_count(g.actor)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _fragment(alert_id: int, form: forms._AlertAction, message: str | None = None,
              errors: dict[str, str] | None = None, status: int = 200, failed: bool = False):
    """The part of the page an htmx action replaces: the inbox row, or the alert's main block."""
    posted = form if failed else None
    if form.kind == "row":
        alert = services.get_alert(g.actor, alert_id)
        body = render_template("alerts/_row.html", a=alert, message=message, failed=failed, errors=errors or {},
                               may_act=g.actor.role in services.ACTING_ROLES[g.actor.org_kind],
                               row_forms=RowForms(posted, alert.id))
    else:
        body = render_template("alerts/_detail_main.html", message=message, failed=failed,
                               **_detail_context(alert_id, posted, errors))
    response = make_response(body, status)
    response.headers["X-Cogrow-Fragment"] = form.kind  # cogrow.js lets htmx swap a refused action's answer
    return response


def _act(alert_id: int, form: forms._AlertAction, action: Callable[[], Any], message: str):
    """Validate the form and run one action: htmx gets the updated fragment (or the refusal in it, with its status);
    a plain form post is redirected (a refusal is the alert's page with its status, the form as posted and its
    errors beside its fields). A refusal changes nothing."""
    services.get_alert(g.actor, alert_id)  # 404 before anything else
    try:
        if not form.validate():
            raise _invalid(form)
        action()
    except NotFound:
        raise
    except AppError as exc:
        # 403 not your side's to resolve, 409 already done, 412 stale, 422 a bad field.
        db.session.rollback()
        if isinstance(exc, Forbidden):
            audit.record_denied(g.actor, request.endpoint or request.path, exc.code, exc.message)
        rest = _put_errors(form, exc.fields)
        if _htmx():
            return _fragment(alert_id, form, exc.message, rest, exc.status, failed=True)
        if form.kind == "row":  # an inbox row's form has no place on the alert's page: its errors are listed there
            rest = {**form.errors_by_name(), **rest}
        return _render_detail(alert_id, form, rest, exc.status, message=exc.message)
    if _htmx():
        return _fragment(alert_id, form, message)
    flash(message, "success")
    if form.kind == "row":
        return redirect(url_for("alerts.inbox", **_filter_args_from_form()))
    return redirect(url_for("alerts.detail", alert_id=alert_id))


def _filter_args_from_form() -> dict[str, str]:
    return {name: request.form[name] for name in FILTER_ARGS if request.form.get(name)}


def _version(form: forms._AlertAction) -> int:
    return form_version(form.version.data)


@bp.post("/alerts/<int:alert_id>/acknowledge")
@requires(*EVERY_ROLE)
def acknowledge(alert_id: int):
    form = forms.AcknowledgeForm()
    return _act(alert_id, form, lambda: services.acknowledge(g.actor, alert_id, _version(form)),
                _("Alert acknowledged."))


@bp.post("/alerts/<int:alert_id>/comment")
@requires(*EVERY_ROLE)
def comment(alert_id: int):
    form = forms.CommentForm()
    return _act(alert_id, form, lambda: services.add_comment(g.actor, alert_id, form.comment.data),
                _("Comment added."))


@bp.post("/alerts/<int:alert_id>/snooze")
@requires(*EVERY_ROLE)
def snooze(alert_id: int):
    form = forms.SnoozeForm()
    return _act(alert_id, form, lambda: services.snooze(g.actor, alert_id, form.until_value(), _version(form)),
                _("Alert snoozed."))


@bp.post("/alerts/<int:alert_id>/resolve")
@requires(*EVERY_ROLE)
def resolve(alert_id: int):
    form = forms.ResolveForm()
    return _act(alert_id, form, lambda: services.resolve(g.actor, alert_id, _version(form), form.note.data),
                _("Alert resolved."))


def _render_notifications(form: forms.MarkReadForm | None = None, status: int = 200):
    unread_only = request.args.get("unread") == "1"
    include_snoozed = request.args.get("snoozed") == "1"
    entries = services.inbox(g.actor, unread_only=unread_only, include_snoozed=include_snoozed)
    return render_template("alerts/notifications.html", entries=entries, unread_only=unread_only,
                           include_snoozed=include_snoozed, form=form or forms.MarkReadForm(formdata=None),
                           all_form=forms.MarkReadForm(formdata=None)), status


@bp.get("/notifications")
@requires()
def notifications():
    return _render_notifications()


@bp.post("/notifications/read")
@requires(*EVERY_ROLE)
def mark_read():
    form = forms.MarkReadForm()
    if not form.validate():
        return _render_notifications(form, 422)
    services.mark_read(g.actor, form.ids.data or None)  # none ticked: all of them ("Mark all as read")
    return redirect(url_for("alerts.notifications"))


def _render_settings(form: forms.EmailModeForm | None = None, status: int = 200):
    if form is None:
        form = forms.EmailModeForm(formdata=None, email_mode=preferences.email_mode(g.actor))
    return render_template("alerts/settings.html", form=form), status


@bp.get("/settings/notifications")
@requires()
def settings():
    return _render_settings()


@bp.post("/settings/notifications")
@requires(*EVERY_ROLE)
def save_settings():
    form = forms.EmailModeForm()
    try:
        if not form.validate():
            raise _invalid(form)
        preferences.set_email_mode(g.actor, form.email_mode.data)
    except ValidationFailed as exc:
        db.session.rollback()
        _put_errors(form, exc.fields)
        return _render_settings(form, 422)
    flash(_("Notification settings saved."), "success")
    return redirect(url_for("alerts.settings"))


def _render_webhooks(form: forms.WebhookForm | None = None, status: int = 200, new_secret: str | None = None,
                     new_endpoint=None):
    endpoints = hooks.list_endpoints(g.actor)
    deliveries = hooks.recent_deliveries(g.actor, limit=100)
    dead = hooks.recent_deliveries(g.actor, limit=100, status="dead")
    return render_template("alerts/webhooks.html", endpoints=endpoints, deliveries=deliveries, dead=dead,
                           form=form or forms.WebhookForm(formdata=None), button_form=CsrfOnlyForm(formdata=None),
                           new_secret=new_secret, new_endpoint=new_endpoint), status


@bp.get("/settings/webhooks")
@requires("admin")
def webhooks():
    return _render_webhooks()


@bp.post("/settings/webhooks")
@requires("admin")
def create_webhook():
    form = forms.WebhookForm()
    try:
        if not form.validate():
            raise _invalid(form)
        endpoint, secret = hooks.create_endpoint(g.actor, form.url.data, form.description.data or "")
    except ValidationFailed as exc:
        db.session.rollback()
        _put_errors(form, exc.fields)
        return _render_webhooks(form, 422)
    # The secret is shown on this response only; it is never displayed again.
    return _render_webhooks(new_secret=secret, new_endpoint=endpoint, status=201)


@bp.post("/settings/webhooks/<int:endpoint_id>/disable")
@requires("admin")
def disable_webhook(endpoint_id: int):
    hooks.disable_endpoint(g.actor, endpoint_id)
    flash(_("Endpoint disabled."), "success")
    return redirect(url_for("alerts.webhooks"))


@bp.post("/settings/webhooks/deliveries/<int(max=9223372036854775807):delivery_id>/redeliver")  # a BIGINT key
@requires("admin")
def redeliver(delivery_id: int):
    hooks.redeliver(g.actor, delivery_id)
    flash(_("The delivery is queued again."), "success")
    return redirect(url_for("alerts.webhooks"))
