"""JSON API for alerts and webhooks: routes attach to the shared /api/v1 blueprint."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, request

from cogrow.alerts import explain, services
from cogrow.alerts import webhooks as hooks
from cogrow.alerts.models import Alert, AlertEvent, InboxEntry, WebhookDelivery, WebhookEndpoint
from cogrow.alerts.views import EVERY_ROLE, parse_until
from cogrow.core.api import bp, decimal_str, etag, json_body, page_args, required_version
from cogrow.core.auth import requires
from cogrow.core.errors import ValidationFailed
from cogrow.core.validation import Fields


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def alert_json(alert: Alert) -> dict[str, Any]:
    """The alert as the caller's side sees it: `status`, `snoozed_until` and `acknowledged_*` are that side's own."""
    rel = alert.supply_relationship
    view = alert.view
    qty, amount = services.headline(alert.type, alert.numbers)
    return {
        "id": alert.id, "type": alert.type, "status": view.status if view else alert.status,
        "alert_status": alert.status, "side": view.side if view else None, "owner_side": alert.owner_side,
        "may_resolve": bool(view and view.may_resolve), "severity": alert.severity,
        "relationship_id": alert.relationship_id, "item_id": alert.item_id,
        "prime_part_number": alert.item.prime_part_number, "exposure": decimal_str(alert.exposure),
        "measure": explain.MEASURES.get(alert.type), "qty": decimal_str(qty), "amount": decimal_str(alert.exposure),
        "currency": rel.currency, "numbers": alert.numbers, "context": alert.context,
        "explanation": explain.explain(alert.type, alert.numbers, alert.context, rel.currency),
        "opened_at": _iso(alert.opened_at), "updated_at": _iso(alert.updated_at), "resolved_at": _iso(alert.resolved_at),
        "snoozed_until": _iso(view.snoozed_until if view else None),
        "acknowledged_at": _iso(view.acknowledged_at if view else None),
        "acknowledged_by_id": view.acknowledged_by_id if view else None, "resolved_by_id": alert.resolved_by_id,
        "version": alert.version,
    }


def event_json(event: AlertEvent) -> dict[str, Any]:
    return {"id": event.uuid, "kind": event.kind, "at": _iso(event.at), "severity": event.severity,
            "status": event.status, "user_id": event.user_id, "token_id": event.token_id,
            "automatic": event.automatic, "comment": event.comment, "snoozed_until": _iso(event.snoozed_until),
            "qty": decimal_str(event.qty) if event.qty is not None else None,
            "amount": decimal_str(event.amount) if event.amount is not None else None,
            "currency": event.alert.supply_relationship.currency,  # of amount
            "reason": event.reason, "side": event.side, "numbers": event.numbers}


def _one(alert: Alert, status: int = 200):
    response = jsonify(alert_json(alert))
    response.status_code = status
    response.headers["ETag"] = etag(alert.version)
    return response


@bp.get("/alerts")
@requires(api=True)
def alerts_index():
    limit, offset = page_args()
    flt = services.parse_filter(request.args)
    alerts = services.list_alerts(g.actor, flt, limit=limit, offset=offset)
    return jsonify({"data": [alert_json(a) for a in alerts], "limit": limit, "offset": offset})


@bp.get("/alerts/<int:alert_id>")
@requires(api=True)
def alerts_show(alert_id: int):
    return _one(services.get_alert(g.actor, alert_id))


@bp.get("/alerts/<int:alert_id>/events")
@requires(api=True)
def alerts_events(alert_id: int):
    return jsonify({"data": [event_json(e) for e in services.history(g.actor, alert_id)]})


@bp.post("/alerts/<int:alert_id>/acknowledge")
@requires(*EVERY_ROLE, api=True)
def alerts_acknowledge(alert_id: int):
    services.get_alert(g.actor, alert_id)
    return _one(services.acknowledge(g.actor, alert_id, required_version()))


@bp.post("/alerts/<int:alert_id>/comments")
@requires(*EVERY_ROLE, api=True)
def alerts_comment(alert_id: int):
    services.get_alert(g.actor, alert_id)
    f = Fields(json_body())
    f.text("comment", required=True, max_length=2000)
    text = f.done()["comment"]
    version = required_version() if request.headers.get("If-Match") else None
    return _one(services.add_comment(g.actor, alert_id, text, version), 201)


@bp.post("/alerts/<int:alert_id>/snooze")
@requires(*EVERY_ROLE, api=True)
def alerts_snooze(alert_id: int):
    services.get_alert(g.actor, alert_id)
    version = required_version()
    body = json_body()
    unknown = {k: "Unknown field." for k in body if k != "until"}
    if unknown:
        raise ValidationFailed("Some fields are not valid.", fields=unknown)
    return _one(services.snooze(g.actor, alert_id, parse_until(body.get("until")), version))


@bp.post("/alerts/<int:alert_id>/resolve")
@requires(*EVERY_ROLE, api=True)
def alerts_resolve(alert_id: int):
    services.get_alert(g.actor, alert_id)
    version = required_version()
    body = json_body() if request.get_data(cache=True) else {}
    f = Fields(body)
    f.text("note", max_length=2000)
    note = f.done().get("note")
    return _one(services.resolve(g.actor, alert_id, version, note))


@bp.post("/alerts/bulk")
@requires(*EVERY_ROLE, api=True)
def alerts_bulk():
    body = json_body()
    f = Fields(body, allowed_extra=("ids",))
    f.text("action", required=True, choices=("acknowledge", "resolve"))
    values = f.done()
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31
                                            for i in ids):
        raise ValidationFailed("Some fields are not valid.", fields={"ids": "must be a list of alert ids"})
    result = services.bulk(g.actor, values["action"], ids)
    return jsonify({"changed": result.changed, "skipped": result.skipped_total, "skipped_by_reason": result.skipped})


def inbox_json(entry: InboxEntry) -> dict[str, Any]:
    return {"id": entry.id, "alert_id": entry.alert_id, "event": event_json(entry.event),
            "created_at": _iso(entry.created_at), "read_at": _iso(entry.read_at)}


@bp.get("/notifications")
@requires(api=True)
def notifications_index():
    unread = request.args.get("unread") in ("1", "true")
    entries = services.inbox(g.actor, unread_only=unread)
    return jsonify({"data": [inbox_json(e) for e in entries], "unread": services.unread_count(g.actor)})


@bp.post("/notifications/read")
@requires(*EVERY_ROLE, api=True)
def notifications_read():
    body = json_body()
    unknown = {k: "Unknown field." for k in body if k != "ids"}
    ids = body.get("ids")
    if unknown or (ids is not None and (not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids))):
        raise ValidationFailed("Some fields are not valid.", fields=unknown or {"ids": "must be a list of ids"})
    return jsonify({"marked": services.mark_read(g.actor, ids)})


def endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"id": endpoint.id, "url": endpoint.url, "description": endpoint.description, "active": endpoint.active,
            "disabled_reason": endpoint.disabled_reason, "created_at": _iso(endpoint.created_at),
            "version": endpoint.version}


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {"id": delivery.id, "endpoint_id": delivery.endpoint_id, "event_id": delivery.event.uuid,
            "alert_id": delivery.event.alert_id, "status": delivery.status, "attempts": delivery.attempts,
            "next_attempt_at": _iso(delivery.next_attempt_at), "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error, "created_at": _iso(delivery.created_at),
            "delivered_at": _iso(delivery.delivered_at)}


@bp.get("/webhooks")
@requires("admin", api=True)
def webhooks_index():
    return jsonify({"data": [endpoint_json(e) for e in hooks.list_endpoints(g.actor)]})


@bp.post("/webhooks")
@requires("admin", api=True)
def webhooks_create():
    f = Fields(json_body())
    f.text("url", required=True, max_length=2000)
    f.text("description", max_length=200)
    values = f.done()
    endpoint, secret = hooks.create_endpoint(g.actor, values["url"], values.get("description") or "")
    # The secret is in this response only.
    response = jsonify({**endpoint_json(endpoint), "secret": secret})
    response.status_code = 201
    return response


@bp.post("/webhooks/<int:endpoint_id>/disable")
@requires("admin", api=True)
def webhooks_disable(endpoint_id: int):
    return jsonify(endpoint_json(hooks.disable_endpoint(g.actor, endpoint_id)))


@bp.get("/webhooks/deliveries")
@requires("admin", api=True)
def webhooks_deliveries():
    status = request.args.get("status") or None
    if status is not None and status not in ("pending", "failed", "delivered", "dead"):
        raise ValidationFailed("Some fields are not valid.", fields={"status": "unknown status"})
    limit, _offset = page_args()
    return jsonify({"data": [delivery_json(d) for d in hooks.recent_deliveries(g.actor, limit=limit, status=status)]})


@bp.post("/webhooks/deliveries/<int(max=9223372036854775807):delivery_id>/redeliver")  # a BIGINT key
@requires("admin", api=True)
def webhooks_redeliver(delivery_id: int):
    return jsonify(delivery_json(hooks.redeliver(g.actor, delivery_id)))
