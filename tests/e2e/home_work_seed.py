"""Work for the planner and production journeys, entered through the domain services into the live server's
database (through its app), so each journey run has its own proposal or PO to act on.

Each run also gets its own user with the locale it tests, so no demo user's stored language is changed.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LOCALES = ("ko", "en")
VIEWPORTS = ((1366, 768), (390, 844))
_serial = itertools.count(1)


class Seeder:
    """The domain services, run in a request context of the live server's app."""

    def __init__(self, app):
        self.app = app

    def _run(self, fn):
        from cogrow.extensions import db

        with self.app.test_request_context("/", headers={"Accept-Language": "en"}):
            try:
                return fn(db)
            finally:
                db.session.remove()

    def relationship(self, prime: str, supplier: str) -> tuple[int, int]:
        """(relationship id, first item id) between the demo organisations whose names start with these."""
        from sqlalchemy import select
        from sqlalchemy.orm import aliased

        from cogrow.accounts.models import Organisation
        from cogrow.catalog.models import Item
        from cogrow.relationships.models import SupplyRelationship

        def fn(db):
            p, s = aliased(Organisation), aliased(Organisation)
            rel_id = db.session.scalar(select(SupplyRelationship.id)
                                       .join(p, p.id == SupplyRelationship.prime_id)
                                       .join(s, s.id == SupplyRelationship.supplier_id)
                                       .where(p.name.startswith(prime), s.name.startswith(supplier)))
            item_id = db.session.scalar(select(Item.id).where(Item.relationship_id == rel_id).order_by(Item.id))
            return rel_id, item_id

        return self._run(fn)

    def actor(self, email: str):
        from sqlalchemy import select

        from cogrow.accounts.models import Membership, Organisation, User
        from cogrow.core.auth import Actor

        def fn(db):
            row = db.session.execute(select(Membership.role, Organisation.id, Organisation.kind, User.id)
                                     .join(User, User.id == Membership.user_id)
                                     .join(Organisation, Organisation.id == Membership.organisation_id)
                                     .where(User.email == email)).one()
            return Actor(organisation_id=row[1], org_kind=row[2], role=row[0], user_id=row[3])

        return self._run(fn)

    def user_like(self, email: str, locale: str, tag: str) -> str:
        """A new user with the same organisation and role as `email`, speaking `locale`; returns its e-mail."""
        from sqlalchemy import select

        from cogrow.accounts import services as accounts
        from cogrow.accounts.models import Membership, User
        from cogrow.demo import DEMO_PASSWORD

        new_email = email.replace("@", f"+{tag}@")

        def fn(db):
            membership = db.session.scalar(select(Membership).join(User).where(User.email == email))
            user = accounts.create_user(new_email, f"Journey {tag}", DEMO_PASSWORD, locale)
            db.session.add(Membership(user_id=user.id, organisation_id=membership.organisation_id,
                                      role=membership.role))
            db.session.commit()
            return new_email

        return self._run(fn)

    def issued_po(self, planner_email: str, rel_id: int, item_id: int, note: str) -> tuple[int, str]:
        """A PO issued by the planner of `rel_id`: (its id, its number)."""
        from cogrow.core.weeks import local_today
        from cogrow.orders import schemas
        from cogrow.orders import services as orders

        actor = self.actor(planner_email)

        def fn(db):
            due = (local_today() + timedelta(days=30)).isoformat()
            po = orders.create_po(actor, rel_id, schemas.parse_po(
                {"note": note, "lines": [{"item_id": item_id, "quantity": "120", "due_date": due}]}))
            po = orders.issue_po(actor, rel_id, po.id, po.version)
            return po.id, po.number

        return self._run(fn)

    def proposal(self, producer_email: str, rel_id: int, po_id: int, quantity: str, reason: str) -> int:
        from cogrow.orders import schemas
        from cogrow.orders import services as orders

        actor = self.actor(producer_email)

        def fn(db):
            po = orders.get_po(actor, rel_id, po_id)
            values = schemas.parse_proposal({"line_id": po.lines[0].id, "quantity": quantity, "reason": reason})
            return orders.propose_change(actor, rel_id, po_id, values, po.version).id

        return self._run(fn)


@pytest.fixture(scope="session")
def seeder(live_app) -> Iterator[Seeder]:
    """The live server's own app, for entering work through the services."""
    yield Seeder(live_app)


def tag_of(locale: str, viewport: tuple[int, int]) -> str:
    return f"{locale}{viewport[0]}n{next(_serial)}"


def no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def chart_data(page, chart_id: str) -> dict:
    """What the chart draws: Chart.js's own data, read back from the canvas."""
    canvas = page.locator(f"#chart-{chart_id} canvas")
    return canvas.evaluate("c => { const d = Chart.getChart(c).data; return {labels: d.labels, "
                           "datasets: d.datasets.map(s => ({label: s.label, data: s.data}))}; }")
