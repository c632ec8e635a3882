"""factory-boy factories for the models; they flush into the test's session."""
from __future__ import annotations

from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from cogrow.accounts.models import Membership, Organisation, User
from cogrow.accounts.services import hash_password
from cogrow.catalog.models import Item
from cogrow.extensions import db
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
