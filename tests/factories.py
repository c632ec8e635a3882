"""factory-boy factories for the models; they flush into the test's session."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from cogrow.accounts.models import Membership, Organisation, User
from cogrow.accounts.services import hash_password
from cogrow.catalog.models import Item
from cogrow.core.types import utcnow
from cogrow.core.weeks import current_week, local_today
from cogrow.extensions import db
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastPublication
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.production.models import ProductionReport
from cogrow.relationships.models import SupplyRelationship

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)  # one argon2 hash for every factory user keeps the suite fast


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class OrganisationFactory(_Base):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = "prime"


class UserFactory(_Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password_hash = _PASSWORD_HASH
    locale = "en"


class MembershipFactory(_Base):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = "admin"


class RelationshipFactory(_Base):
    class Meta:
        model = SupplyRelationship

    prime = factory.SubFactory(OrganisationFactory, kind="prime")
    supplier = factory.SubFactory(OrganisationFactory, kind="supplier")
    status = "active"
    firm_fence_weeks = 4
    material_fence_weeks = 8
    currency = "KRW"
    material_share = Decimal("0.4")


class ItemFactory(_Base):
    class Meta:
        model = Item

    supply_relationship = factory.SubFactory(RelationshipFactory)
    prime_part_number = factory.Sequence(lambda n: f"PN-{n:05d}")
    supplier_part_number = factory.Sequence(lambda n: f"SP-{n:05d}")
    description = "Bracket"
    uom = "EA"
    unit_price = Decimal("1500")
    currency = "KRW"
    lead_time_days = 7


# Demand and supply. Factories write rows directly (no services, no outbox): tests of a service call the service.

class PurchaseOrderFactory(_Base):
    class Meta:
        model = PurchaseOrder

    supply_relationship = factory.SubFactory(RelationshipFactory)
    number = factory.Sequence(lambda n: f"PO-{n:06d}")
    status = "issued"
    currency = "KRW"
    issued_at = factory.LazyFunction(utcnow)


class PurchaseOrderLineFactory(_Base):
    class Meta:
        model = PurchaseOrderLine

    purchase_order = factory.SubFactory(PurchaseOrderFactory)
    relationship_id = factory.SelfAttribute("purchase_order.relationship_id")
    line_no = factory.Sequence(lambda n: n + 1)
    item = factory.SubFactory(ItemFactory)
    quantity = Decimal("100")
    due_date = factory.LazyFunction(lambda: local_today() + timedelta(days=14))
    unit_price = Decimal("1500")


class PublicationFactory(_Base):
    class Meta:
        model = ForecastPublication

    supply_relationship = factory.SubFactory(RelationshipFactory)
    version_no = factory.Sequence(lambda n: n + 1)
    base_week = factory.LazyFunction(lambda: current_week())
    firm_fence_weeks = factory.SelfAttribute("supply_relationship.firm_fence_weeks")
    material_fence_weeks = factory.SelfAttribute("supply_relationship.material_fence_weeks")


class BucketFactory(_Base):
    class Meta:
        model = ForecastBucket

    publication = factory.SubFactory(PublicationFactory)
    relationship_id = factory.SelfAttribute("publication.relationship_id")
    item = factory.SubFactory(ItemFactory)
    week_start = factory.LazyFunction(lambda: current_week())
    quantity = Decimal("50")
    zone = "firm"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        publication = kwargs.pop("publication")
        kwargs["publication_id"] = publication.id
        return super()._create(model_class, *args, **kwargs)


class AuthorizationFactory(_Base):
    class Meta:
        model = Authorization

    item = factory.SubFactory(ItemFactory)
    relationship_id = factory.SelfAttribute("item.relationship_id")
    kind = "FAB"
    cum_start_date = factory.LazyFunction(lambda: date(local_today().year, 1, 1))
    quantity = Decimal("100")


class ProductionReportFactory(_Base):
    class Meta:
        model = ProductionReport

    item = factory.SubFactory(ItemFactory)
    relationship_id = factory.SelfAttribute("item.relationship_id")
    as_of = factory.LazyFunction(utcnow)
    good_qty = Decimal("0")
    scrap_qty = Decimal("0")
    wip_qty = Decimal("0")
    fg_on_hand = Decimal("0")
    source = "api"
