"""Factories for the alert tables; they flush into the test's session."""
from __future__ import annotations

import uuid
from decimal import Decimal

import factory

from cogrow.alerts.models import Alert, AlertEvent, WebhookDelivery, WebhookEndpoint
from cogrow.alerts.webhooks import new_secret
from cogrow.core.types import utcnow
from tests.factories import _Base


class AlertFactory(_Base):
    class Meta:
        model = Alert

    type = "excess_inventory"
    relationship_id = factory.SelfAttribute("item.relationship_id")
    item = None
    status = "open"
    severity = "warning"
    exposure = Decimal("1500000")
    numbers = factory.LazyFunction(lambda: {"fg_on_hand": "1000", "wip": "0", "guaranteed": "0", "excess": "1000",
                                            "exposure_amount": "1500000", "open_po": "0", "firm_uncovered": "0"})
    context = factory.LazyFunction(dict)
    opened_at = factory.LazyFunction(utcnow)
    updated_at = factory.LazyFunction(utcnow)


class AlertEventFactory(_Base):
    class Meta:
        model = AlertEvent

    uuid = factory.LazyFunction(lambda: str(uuid.uuid4()))
    alert = None
    alert_id = factory.SelfAttribute("alert.id")
    kind = "raised"
    at = factory.LazyFunction(utcnow)
    severity = factory.SelfAttribute("alert.severity")
    status = factory.SelfAttribute("alert.status")
    numbers = factory.SelfAttribute("alert.numbers")


class WebhookEndpointFactory(_Base):
    class Meta:
        model = WebhookEndpoint

    organisation_id = None
    url = "https://hooks.example.com/cogrow"
    description = "test"
    secret = factory.LazyFunction(new_secret)
    active = True


class WebhookDeliveryFactory(_Base):
    class Meta:
        model = WebhookDelivery

    event_id = None
    endpoint_id = None
    status = "dead"
    attempts = 8
    last_error = "HTTP 500"
