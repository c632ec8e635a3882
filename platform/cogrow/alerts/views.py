"""Alerts pages: the alert inbox, an alert's detail and actions, personal notifications, settings, webhooks."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from cogrow.alerts import explain, preferences, services
from cogrow.alerts import webhooks as hooks
from cogrow.alerts.models import ALERT_STATUSES, ALERT_TYPES, EMAIL_MODES, SEVERITIES
from cogrow.core.auth import requires
from cogrow.core import audit
from cogrow.core.errors import AppError, Forbidden, NotFound, ValidationFailed
from cogrow.core.types import utcnow
from cogrow.extensions import db
from cogrow.core.validation import MAX_BIG_ID, MAX_ID, Fields, form_version, parse_id
from cogrow.core.weeks import business_zone
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


def _timezone() -> ZoneInfo:
    return business_zone()


def parse_until(raw: Any) -> datetime:
    """A date-time from a form (local time) or the API (ISO 8601; naive means the business time zone)."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed(_("Some fields are not valid."), fields={"until": _("This field is required.")})
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed(_("Some fields are not valid."),
                               fields={"until": _("Use a date and time such as 2026-12-01T09:00.")}) from None
    return value if value.tzinfo else value.replace(tzinfo=_timezone())


def _version() -> int:
    return form_version(request.form.get("version"))


def _ids(values: list[str], field: str = "ids", maximum: int = MAX_ID) -> list[int]:
    ids = [parse_id(v, maximum) for v in values]
    if any(i is None for i in ids):
        raise ValidationFailed(_("Some fields are not valid."), fields={field: _("Must be a list of ids.")})
    return ids  # type: ignore[return-value]


def _filter_args() -> dict[str, str]:
    """The inbox filters of this request, and nothing else: other query arguments never reach url_for."""
    return {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}


def _render_inbox(errors: dict[str, str] | None = None, status: int = 200):
    try:
        flt = services.parse_filter(request.args)
    except ValidationFailed as exc:
        errors, status, flt = {**(errors or {}), **exc.fields}, 422, services.AlertFilter()
    alerts = services.list_alerts(g.actor, flt)
    rels = relationships.list_relationships(g.actor)
    hidden = services.snoozed_count(g.actor) if flt.status == "live" else 0
    return render_template("alerts/inbox.html", alerts=alerts, flt=flt, relationships=rels, errors=errors or {},
                           types=ALERT_TYPES, severities=SEVERITIES, statuses=ALERT_STATUSES,
                           sorts=services.SORTS, filter_args=_filter_args(), hidden_snoozed=hidden,
                           snooze_days=SNOOZE_DAYS,
                           may_act=g.actor.role in services.ACTING_ROLES[g.actor.org_kind]), status


@bp.get("/alerts")
@requires()
def inbox():
    return _render_inbox()


@bp.post("/alerts/bulk")
@requires(*EVERY_ROLE)
def bulk():
    try:
        ids = _ids(request.form.getlist("ids"))
        result = services.bulk(g.actor, request.form.get("action", ""), ids)
    except ValidationFailed as exc:
        return _render_inbox(exc.fields, 422)
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


def _fragment_kind() -> str:
    return "row" if request.form.get("fragment") == "row" else "detail"


def _detail_context(alert_id: int, errors: dict[str, str] | None = None) -> dict[str, Any]:
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
                has_ledger_page="coverage.item_ledger" in current_app.view_functions, errors=errors or {},
                form=request.form, raised=raised, now_qty=now_qty, now_amount=now_amount, raised_qty=raised_qty,
                raised_amount=raised_amount, resolution=resolution, snooze_days=SNOOZE_DAYS,
                may_act=g.actor.role in services.ACTING_ROLES[g.actor.org_kind])


def _render_detail(alert_id: int, errors: dict[str, str] | None = None, status: int = 200,
                   message: str | None = None):
    return render_template("alerts/detail.html", message=message, failed=message is not None,
                           **_detail_context(alert_id, errors)), status


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


def _fragment(alert_id: int, message: str | None = None, errors: dict[str, str] | None = None,
              status: int = 200, failed: bool = False):
    """The part of the page an htmx action replaces: the inbox row, or the alert's main block."""
    if _fragment_kind() == "row":
        alert = services.get_alert(g.actor, alert_id)
        body = render_template("alerts/_row.html", a=alert, message=message, failed=failed, errors=errors or {},
                               may_act=g.actor.role in services.ACTING_ROLES[g.actor.org_kind],
                               snooze_days=SNOOZE_DAYS)
    else:
        body = render_template("alerts/_detail_main.html", message=message, failed=failed,
                               **_detail_context(alert_id, errors))
    response = make_response(body, status)
    response.headers["X-Cogrow-Fragment"] = _fragment_kind()  # cogrow.js lets htmx swap a refused action's answer
    return response


def _act(alert_id: int, action: Callable[[], Any], message: str):
    """Run one action: htmx gets the updated fragment (or the refusal in it, with its status); a plain form post is
    redirected (a refusal is the error page with its status and message)."""
    if not _htmx():
        try:
            action()
        except NotFound:
            raise
        except AppError as exc:
            # A refusal (403 not your side's to resolve, 409 already done, 412 stale, 422 bad field) is shown on
            # the alert's page with its status and message; nothing was changed.
            db.session.rollback()
            if isinstance(exc, Forbidden):
                audit.record_denied(g.actor, request.endpoint or request.path, exc.code, exc.message)
            return _render_detail(alert_id, exc.fields, exc.status, message=exc.message)
        flash(message, "success")
        if _fragment_kind() == "row":
            return redirect(url_for("alerts.inbox", **_filter_args_from_form()))
        return redirect(url_for("alerts.detail", alert_id=alert_id))
    try:
        action()
    except NotFound:
        raise
    except AppError as exc:
        db.session.rollback()
        if isinstance(exc, Forbidden):
            audit.record_denied(g.actor, request.endpoint or request.path, exc.code, exc.message)
        return _fragment(alert_id, exc.message, exc.fields, exc.status, failed=True)
    return _fragment(alert_id, message)


def _filter_args_from_form() -> dict[str, str]:
    return {name: request.form[name] for name in FILTER_ARGS if request.form.get(name)}


SNOOZE_DAYS = (1, 3, 7, 14)


def _snooze_until() -> datetime:
    """Until a date-time (the alert page), or for a number of days (the inbox rows)."""
    days = request.form.get("days")
    if days:
        if days not in {str(d) for d in SNOOZE_DAYS}:
            raise ValidationFailed(_("Some fields are not valid."),
                                   fields={"days": _("Must be one of: %(choices)s.",
                                                     choices=", ".join(str(d) for d in SNOOZE_DAYS))})
        return utcnow() + timedelta(days=int(days))
    return parse_until(request.form.get("until"))


@bp.post("/alerts/<int:alert_id>/acknowledge")
@requires(*EVERY_ROLE)
def acknowledge(alert_id: int):
    services.get_alert(g.actor, alert_id)
    return _act(alert_id, lambda: services.acknowledge(g.actor, alert_id, _version()), _("Alert acknowledged."))


def _comment_text() -> str:
    f = Fields(request.form)
    f.text("comment", required=True, max_length=2000)
    return f.done(strict=False)["comment"]


@bp.post("/alerts/<int:alert_id>/comment")
@requires(*EVERY_ROLE)
def comment(alert_id: int):
    services.get_alert(g.actor, alert_id)
    return _act(alert_id, lambda: services.add_comment(g.actor, alert_id, _comment_text()), _("Comment added."))


@bp.post("/alerts/<int:alert_id>/snooze")
@requires(*EVERY_ROLE)
def snooze(alert_id: int):
    services.get_alert(g.actor, alert_id)
    return _act(alert_id, lambda: services.snooze(g.actor, alert_id, _snooze_until(), _version()),
                _("Alert snoozed."))


def _note() -> str | None:
    f = Fields(request.form)
    f.text("note", max_length=2000)
    return f.done(strict=False).get("note")


@bp.post("/alerts/<int:alert_id>/resolve")
@requires(*EVERY_ROLE)
def resolve(alert_id: int):
    services.get_alert(g.actor, alert_id)
    return _act(alert_id, lambda: services.resolve(g.actor, alert_id, _version(), _note()), _("Alert resolved."))


@bp.get("/notifications")
@requires()
def notifications():
    unread_only = request.args.get("unread") == "1"
    include_snoozed = request.args.get("snoozed") == "1"
    entries = services.inbox(g.actor, unread_only=unread_only, include_snoozed=include_snoozed)
    return render_template("alerts/notifications.html", entries=entries, unread_only=unread_only,
                           include_snoozed=include_snoozed)


@bp.post("/notifications/read")
@requires(*EVERY_ROLE)
def mark_read():
    raw = request.form.getlist("ids")
    try:
        ids = _ids(raw, maximum=MAX_BIG_ID) if raw else None  # inbox entries have BIGINT keys
    except ValidationFailed:
        ids = []
    services.mark_read(g.actor, ids)
    return redirect(url_for("alerts.notifications"))


def _render_settings(errors: dict[str, str] | None = None, status: int = 200):
    mode = preferences.email_mode(g.actor)
    return render_template("alerts/settings.html", mode=mode, modes=EMAIL_MODES, errors=errors or {}), status


@bp.get("/settings/notifications")
@requires()
def settings():
    return _render_settings()


@bp.post("/settings/notifications")
@requires(*EVERY_ROLE)
def save_settings():
    try:
        f = Fields(request.form)
        f.text("email_mode", required=True, choices=EMAIL_MODES)
        preferences.set_email_mode(g.actor, f.done(strict=False)["email_mode"])
    except ValidationFailed as exc:
        return _render_settings(exc.fields, 422)
    flash(_("Notification settings saved."), "success")
    return redirect(url_for("alerts.settings"))


def _render_webhooks(errors: dict[str, str] | None = None, status: int = 200, new_secret: str | None = None,
                     new_endpoint=None):
    endpoints = hooks.list_endpoints(g.actor)
    deliveries = hooks.recent_deliveries(g.actor, limit=100)
    dead = hooks.recent_deliveries(g.actor, limit=100, status="dead")
    return render_template("alerts/webhooks.html", endpoints=endpoints, deliveries=deliveries, dead=dead,
                           errors=errors or {}, form=request.form, new_secret=new_secret,
                           new_endpoint=new_endpoint), status


@bp.get("/settings/webhooks")
@requires("admin")
def webhooks():
    return _render_webhooks()


@bp.post("/settings/webhooks")
@requires("admin")
def create_webhook():
    try:
        endpoint, secret = hooks.create_endpoint(g.actor, request.form.get("url", ""),
                                                    request.form.get("description", ""))
    except ValidationFailed as exc:
        return _render_webhooks(exc.fields, 422)
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
