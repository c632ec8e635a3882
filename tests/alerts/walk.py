"""What the tenant-isolation walk needs to know about the alerts routes."""
from __future__ import annotations

from sqlalchemy import select

from cogrow.alerts.models import (
    Alert, AlertEvent, EmailDelivery, InboxEntry, NotificationPreference, WebhookDelivery, WebhookEndpoint,
)


def _alert(tenant, db) -> Alert:
    from tests.alerts.factories import AlertEventFactory, AlertFactory

    alert = db.session.scalar(select(Alert).where(Alert.relationship_id == tenant.relationship.id).limit(1))
    if alert is None:
        alert = AlertFactory(item=tenant.item)
        AlertEventFactory(alert=alert)
        db.session.commit()
    return alert


def _endpoint(tenant, org, db) -> WebhookEndpoint:
    from tests.alerts.factories import WebhookEndpointFactory

    endpoint = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.organisation_id == org.id).limit(1))
    if endpoint is None:
        endpoint = WebhookEndpointFactory(organisation_id=org.id)
        db.session.commit()
    return endpoint


def _delivery(tenant, org, db) -> int:
    from tests.alerts.factories import WebhookDeliveryFactory

    endpoint = _endpoint(tenant, org, db)
    existing = db.session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id).limit(1))
    if existing:
        return existing
    event_id = db.session.scalar(select(AlertEvent.id).where(AlertEvent.alert_id == _alert(tenant, db).id).limit(1))
    delivery = WebhookDeliveryFactory(event_id=event_id, endpoint_id=endpoint.id)
    db.session.commit()
    return delivery.id


WALK_VALUES = {
    "alert_id": lambda tenant, org, db: _alert(tenant, db).id,
    "endpoint_id": lambda tenant, org, db: _endpoint(tenant, org, db).id,
    "delivery_id": _delivery,
}


def snapshot(db, tenant):
    """Tenant's alerts, their history, inbox, preferences and webhooks: a denied request changes none of it.

    The walk's objects are made first, so that the snapshot taken before the walk already holds them.
    """
    _delivery(tenant, tenant.prime, db)
    orgs = (tenant.prime.id, tenant.supplier.id)
    users = [u.id for u in tenant.users.values()]
    alerts = select(Alert.id).where(Alert.relationship_id == tenant.relationship.id)
    return (
        db.session.execute(select(Alert.id, Alert.status, Alert.version, Alert.snoozed_until)
                           .where(Alert.relationship_id == tenant.relationship.id).order_by(Alert.id)).all(),
        db.session.execute(select(AlertEvent.id, AlertEvent.kind).where(AlertEvent.alert_id.in_(alerts))
                           .order_by(AlertEvent.id)).all(),
        db.session.execute(select(InboxEntry.id, InboxEntry.read_at).where(InboxEntry.user_id.in_(users))
                           .order_by(InboxEntry.id)).all(),
        db.session.execute(select(NotificationPreference.user_id, NotificationPreference.email_mode)
                           .where(NotificationPreference.user_id.in_(users))).all(),
        db.session.execute(select(EmailDelivery.id, EmailDelivery.status).where(EmailDelivery.user_id.in_(users))
                           .order_by(EmailDelivery.id)).all(),
        db.session.execute(select(WebhookEndpoint.id, WebhookEndpoint.active, WebhookEndpoint.version)
                           .where(WebhookEndpoint.organisation_id.in_(orgs)).order_by(WebhookEndpoint.id)).all(),
        db.session.execute(select(WebhookDelivery.id, WebhookDelivery.status, WebhookDelivery.attempts)
                           .join(WebhookEndpoint).where(WebhookEndpoint.organisation_id.in_(orgs))
                           .order_by(WebhookDelivery.id)).all(),
    )
