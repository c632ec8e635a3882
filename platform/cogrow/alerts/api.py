"""JSON API for alerts, the inbox and webhook endpoints: routes attach to the shared /api/v1 blueprint."""
from __future__ import annotations


from flask import g

from cogrow.alerts import explain, services
from cogrow.alerts import models as m
from cogrow.alerts import webhooks as hooks
from cogrow.alerts.schemas import (
    Alert, AlertBulk, AlertBulkResult, AlertComment, AlertEvent, AlertEventList, AlertQuery, AlertResolve,
    AlertSnooze, Notification, NotificationList, NotificationQuery, NotificationsMarked, NotificationsRead,
    WebhookDelivery, WebhookDeliveryList, WebhookDeliveryQuery, WebhookEndpoint, WebhookEndpointCreate,
    WebhookEndpointCreated, WebhookEndpointList,
)
from cogrow.alerts.views import EVERY_ROLE
from cogrow.core.api import bp, etag, guard_path, operation, page_of
from cogrow.core.auth import requires
from cogrow.core.errors import ValidationFailed

# A bad body sent about an alert the caller cannot see is answered 404, like any other request for it.
guard_path("alert_id", services.get_alert)


def _alert(alert: m.Alert) -> Alert:
    rel = alert.supply_relationship
    view = alert.view
    qty, _amount = services.headline(alert.type, alert.numbers)
    return Alert(
        id=alert.id, type=alert.type, status=view.status if view else alert.status, alert_status=alert.status,
        side=view.side if view else None, owner_side=alert.owner_side, may_resolve=bool(view and view.may_resolve),
        severity=alert.severity, relationship_id=alert.relationship_id, item_id=alert.item_id,
        prime_part_number=alert.item.prime_part_number, exposure=alert.exposure,
        measure=explain.MEASURES.get(alert.type), qty=qty, amount=alert.exposure, currency=rel.currency,
        numbers=alert.numbers, context=alert.context,
        explanation=explain.explain(alert.type, alert.numbers, alert.context, rel.currency),
        opened_at=alert.opened_at, updated_at=alert.updated_at, resolved_at=alert.resolved_at,
        snoozed_until=view.snoozed_until if view else None, acknowledged_at=view.acknowledged_at if view else None,
        acknowledged_by_id=view.acknowledged_by_id if view else None, resolved_by_id=alert.resolved_by_id,
        version=alert.version)


def _event(event: m.AlertEvent) -> AlertEvent:
    return AlertEvent(id=event.uuid, kind=event.kind, at=event.at, severity=event.severity, status=event.status,
                      user_id=event.user_id, token_id=event.token_id, automatic=event.automatic,
                      comment=event.comment, snoozed_until=event.snoozed_until, qty=event.qty, amount=event.amount,
                      currency=event.alert.supply_relationship.currency,  # of amount
                      reason=event.reason, side=event.side, numbers=event.numbers)


def _one(alert: m.Alert) -> tuple[Alert, dict[str, str]]:
    return _alert(alert), {"ETag": etag(alert.version)}


@bp.get("/alerts")
@requires(api=True)
@operation("listAlerts", tag="alerts", query=AlertQuery, response=page_of(Alert))
def alerts_index(query: AlertQuery):
    """The alerts of the caller's relationships, most severe first by default; the status filter is the caller's
    side's view (`live`, the default, leaves out what that side has snoozed)."""
    flt = services.parse_filter(query.model_dump())
    alerts = services.list_alerts(g.actor, flt, limit=query.limit, offset=query.offset)
    return page_of(Alert)(data=[_alert(a) for a in alerts], limit=query.limit, offset=query.offset)


@bp.get("/alerts/<int:alert_id>")
@requires(api=True)
@operation("getAlert", tag="alerts", response=Alert, etag=True)
def alerts_show(alert_id: int):
    """One alert as the caller's side sees it, with its version in the ETag."""
    return _one(services.get_alert(g.actor, alert_id))


@bp.get("/alerts/<int:alert_id>/events")
@requires(api=True)
@operation("listAlertEvents", tag="alerts", response=AlertEventList)
def alerts_events(alert_id: int):
    """The alert's history, newest first (at most 500 entries)."""
    return AlertEventList(data=[_event(e) for e in services.history(g.actor, alert_id)])


@bp.post("/alerts/<int:alert_id>/acknowledge")
@requires(*EVERY_ROLE, api=True)
@operation("acknowledgeAlert", tag="alerts", response=Alert, etag=True, if_match=True)
def alerts_acknowledge(alert_id: int, version: int):
    """Acknowledge the alert for the caller's side (If-Match: the alert's ETag)."""
    services.get_alert(g.actor, alert_id)
    return _one(services.acknowledge(g.actor, alert_id, version))


@bp.post("/alerts/<int:alert_id>/comments")
@requires(*EVERY_ROLE, api=True)
@operation("commentOnAlert", tag="alerts", body=AlertComment, response=Alert, status=201, etag=True,
           if_match="optional")
def alerts_comment(alert_id: int, body: AlertComment, version: int | None):
    """Add a comment to the alert's history; an If-Match header, when sent, must be the alert's ETag."""
    services.get_alert(g.actor, alert_id)
    return _one(services.add_comment(g.actor, alert_id, body.comment, version))


@bp.post("/alerts/<int:alert_id>/snooze")
@requires(*EVERY_ROLE, api=True)
@operation("snoozeAlert", tag="alerts", body=AlertSnooze, response=Alert, etag=True, if_match=True)
def alerts_snooze(alert_id: int, body: AlertSnooze, version: int):
    """Snooze the alert for the caller's side until `until` (If-Match: the alert's ETag)."""
    services.get_alert(g.actor, alert_id)
    return _one(services.snooze(g.actor, alert_id, body.until, version))


@bp.post("/alerts/<int:alert_id>/resolve")
@requires(*EVERY_ROLE, api=True)
@operation("resolveAlert", tag="alerts", body=AlertResolve, body_optional=True, response=Alert, etag=True,
           if_match=True)
def alerts_resolve(alert_id: int, version: int, body: AlertResolve):
    """Resolve the alert by hand, with an optional `note` in a JSON body (only the side that owns its type;
    If-Match: the alert's ETag)."""
    services.get_alert(g.actor, alert_id)
    return _one(services.resolve(g.actor, alert_id, version, body.note))


@bp.post("/alerts/bulk")
@requires(*EVERY_ROLE, api=True)
@operation("bulkUpdateAlerts", tag="alerts", body=AlertBulk, response=AlertBulkResult)
def alerts_bulk(body: AlertBulk):
    """Acknowledge or resolve several alerts; a foreign id refuses the whole request (404)."""
    result = services.bulk(g.actor, body.action, body.ids)
    return AlertBulkResult(changed=result.changed, skipped=result.skipped_total, skipped_by_reason=result.skipped)


def _notification(entry: m.InboxEntry) -> Notification:
    return Notification(id=entry.id, alert_id=entry.alert_id, event=_event(entry.event), created_at=entry.created_at,
                        read_at=entry.read_at)


@bp.get("/notifications")
@requires(api=True)
@operation("listNotifications", tag="notifications", query=NotificationQuery, response=NotificationList)
def notifications_index(query: NotificationQuery):
    """The caller's inbox, newest first (at most 200; `unread` keeps the unread ones), and the unread count."""
    entries = services.inbox(g.actor, unread_only=query.unread)
    return NotificationList(data=[_notification(e) for e in entries], unread=services.unread_count(g.actor))


@bp.post("/notifications/read")
@requires(*EVERY_ROLE, api=True)
@operation("markNotificationsRead", tag="notifications", body=NotificationsRead, response=NotificationsMarked)
def notifications_read(body: NotificationsRead):
    """Mark inbox entries read (every unread one without `ids`); answers how many were marked."""
    return NotificationsMarked(marked=services.mark_read(g.actor, body.ids))


def _delivery(delivery: m.WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery(id=delivery.id, endpoint_id=delivery.endpoint_id, event_id=delivery.event.uuid,
                           alert_id=delivery.event.alert_id, status=delivery.status, attempts=delivery.attempts,
                           next_attempt_at=delivery.next_attempt_at, last_status_code=delivery.last_status_code,
                           last_error=delivery.last_error, created_at=delivery.created_at,
                           delivered_at=delivery.delivered_at)


@bp.get("/webhooks")
@requires("admin", api=True)
@operation("listWebhookEndpoints", tag="webhooks", response=WebhookEndpointList)
def webhooks_index():
    """The organisation's webhook endpoints (their secrets are never shown again)."""
    return WebhookEndpointList(data=[WebhookEndpoint.model_validate(e) for e in hooks.list_endpoints(g.actor)])


@bp.post("/webhooks")
@requires("admin", api=True)
@operation("createWebhookEndpoint", tag="webhooks", body=WebhookEndpointCreate, response=WebhookEndpointCreated,
           status=201, links={"DisableWebhookEndpoint": {"operationId": "disableWebhookEndpoint",
                                                         "parameters": {"endpoint_id": "$response.body#/id"}}})
def webhooks_create(body: WebhookEndpointCreate):
    """Add a webhook endpoint (a public address only); its signing secret is in this answer only."""
    endpoint, secret = hooks.create_endpoint(g.actor, body.url, body.description or "")
    return WebhookEndpointCreated.model_validate({**WebhookEndpoint.model_validate(endpoint).model_dump(),
                                                  "secret": secret})


@bp.post("/webhooks/<int:endpoint_id>/disable")
@requires("admin", api=True)
@operation("disableWebhookEndpoint", tag="webhooks", response=WebhookEndpoint)
def webhooks_disable(endpoint_id: int):
    """Stop sending to an endpoint."""
    return WebhookEndpoint.model_validate(hooks.disable_endpoint(g.actor, endpoint_id))


@bp.get("/webhooks/deliveries")
@requires("admin", api=True)
@operation("listWebhookDeliveries", tag="webhooks", query=WebhookDeliveryQuery, response=WebhookDeliveryList)
def webhooks_deliveries(query: WebhookDeliveryQuery):
    """The latest deliveries to the organisation's endpoints, newest first; `status` filters them."""
    status = query.status or None
    if status is not None and status not in m.WEBHOOK_STATUSES:
        raise ValidationFailed("Some fields are not valid.", fields={"status": "unknown status"})
    deliveries = hooks.recent_deliveries(g.actor, limit=query.limit, status=status)
    return WebhookDeliveryList(data=[_delivery(d) for d in deliveries])


@bp.post("/webhooks/deliveries/<int(max=9223372036854775807):delivery_id>/redeliver")  # a BIGINT key
@requires("admin", api=True)
@operation("redeliverWebhookDelivery", tag="webhooks", response=WebhookDelivery)
def webhooks_redeliver(delivery_id: int):
    """Send a delivery again now."""
    return _delivery(hooks.redeliver(g.actor, delivery_id))
