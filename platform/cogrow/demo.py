"""The demo network: 2 primes, 6 suppliers (one serving both primes), items on every relationship."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import func, select

from cogrow.accounts import services as accounts
from cogrow.accounts.models import Membership, Organisation
from cogrow.catalog.models import Item
from cogrow.extensions import db
from cogrow.relationships.models import SupplyRelationship

DEMO_PASSWORD = "cogrow-demo-2026"

PRIMES = [
    ("hanbit", "Hanbit Motors", "한빛자동차"),
    ("daesung", "Daesung Heavy Industries", "대성중공업"),
]
SUPPLIERS = [
    ("seoul-precision", "Seoul Precision Co.", "서울정밀"),
    ("mirae-cast", "Mirae Casting", "미래주조"),
    ("hana-rubber", "Hana Rubber Tech", "하나고무"),
    ("jinwoo-press", "Jinwoo Press Works", "진우프레스"),
    ("kumho-wire", "Kumho Wire Harness", "금호하네스"),
    ("taeyang-plastics", "Taeyang Plastics", "태양플라스틱"),
]
# (prime, supplier): Seoul Precision serves both primes.
LINKS = [
    ("hanbit", "seoul-precision"), ("hanbit", "mirae-cast"), ("hanbit", "hana-rubber"), ("hanbit", "kumho-wire"),
    ("daesung", "seoul-precision"), ("daesung", "jinwoo-press"), ("daesung", "taeyang-plastics"),
]
PARTS = [
    ("BRK-1001", "Brake caliper bracket", Decimal("15000"), 14),
    ("HSG-2040", "Gearbox housing", Decimal("48000"), 21),
    ("BSH-0310", "Rubber bushing", Decimal("1200"), 7),
    ("CLP-0777", "Hose clamp", Decimal("350"), 5),
    ("HRN-5500", "Door wiring harness", Decimal("22000"), 10),
]


# (relationship index, item index) -> weeks of forecast kept on hand; 2 elsewhere. Every supplier has one item at
# least with stock no one guaranteed, so every supplier home (production and admin) has an item at risk.
OVER_PRODUCED = {(0, 0): 12, (4, 1): 8, (4, 0): 6, (1, 1): 7, (3, 0): 7, (2, 0): 6, (5, 0): 6, (6, 0): 5}
# The item (index within its relationship) whose only production report is STALE_DAYS old, on every relationship:
# it fills the production home's "last report older than N days" queue (home.queues.STALE_REPORT_DAYS is 3).
STALE_ITEM, STALE_DAYS = 2, 5
# Relationships (index) whose supplier proposes a change to a line of its acknowledged first PO (one per prime).
PROPOSING = (2, 6)
# The item (index) whose firm-zone week (current week + CUT_WEEK) the second forecast version cuts, and the share
# it keeps; the first item's planning weeks go up in the same version and the second item's go down a little.
CUT_ITEM, CUT_WEEK, CUT_KEEPS = 2, 1, Decimal("0.7")
# Firm and material weeks the supplier commits to on the second version; the first item's COMMIT_SHORT weeks are
# committed below the forecast (a capacity reason), so the planner's "commits below forecast" queue has work.
COMMIT_WEEKS, COMMIT_SHORT = 8, (1, 2)
# Weeks of exposure history written behind the current week (a 13-week trend with the current one).
HISTORY_WEEKS = 12
# Hanbit buys its wiring harnesses from Kumho in US dollars: prices, the threshold and exposure are in USD there,
# and Hanbit's totals convert them with the monthly rates Hanbit keeps (set for the months of the trend).
USD_LINK = ("hanbit", "kumho-wire")
# This month first, then the months before: enough for every week of the 13-week trend.
DEMO_USD_RATES = (Decimal("1392.40"), Decimal("1384.10"), Decimal("1378.75"), Decimal("1371.20"), Decimal("1366.90"))
USD_THRESHOLD = Decimal("700")


def _price_in(currency: str, krw: Decimal) -> Decimal:
    """A demo price in the relationship's currency: KRW as listed, USD at about 1,400 won to the dollar."""
    return krw if currency == "KRW" else (krw / Decimal(1400)).quantize(Decimal("0.01"))


def _email(role: str, slug: str) -> str:
    return f"{role}@{slug}.example.com"


def demo_logins() -> list[tuple[str, str, str]]:
    """(e-mail, role, organisation) of the users worth signing in as first."""
    return [
        (_email("planner", "hanbit"), "planner", "Hanbit Motors"),
        (_email("procurement", "hanbit"), "procurement", "Hanbit Motors"),
        (_email("admin", "hanbit"), "admin", "Hanbit Motors"),
        (_email("production", "seoul-precision"), "production", "Seoul Precision Co."),
        (_email("admin", "seoul-precision"), "admin", "Seoul Precision Co."),
    ]


def load_demo() -> bool:
    """Load the demo network into an empty database; returns False (and changes nothing) otherwise."""
    if db.session.scalar(select(func.count()).select_from(Organisation)):
        return False
    orgs: dict[str, Organisation] = {}
    for slug, name, name_ko in PRIMES:
        orgs[slug] = accounts.create_organisation(f"{name} ({name_ko})", "prime")
        for role in ("admin", "planner", "procurement"):
            _member(slug, role, orgs[slug], locale="en" if slug == "hanbit" else "ko")
    for slug, name, name_ko in SUPPLIERS:
        orgs[slug] = accounts.create_organisation(f"{name} ({name_ko})", "supplier")
        for role in ("admin", "production"):
            _member(slug, role, orgs[slug], locale=None)
    now = datetime.now(timezone.utc)
    for n, (prime, supplier) in enumerate(LINKS):
        currency = "USD" if (prime, supplier) == USD_LINK else "KRW"
        rel = SupplyRelationship(
            prime_id=orgs[prime].id, supplier_id=orgs[supplier].id, status="active", accepted_at=now,
            firm_fence_weeks=4, material_fence_weeks=8, currency=currency, material_share=Decimal("0.4"),
            threshold_units=Decimal("100"), threshold_pct=Decimal("0.1"),
            threshold_amount=USD_THRESHOLD if currency == "USD" else Decimal("1000000"),
            due_date_tolerance_days=2,  # OTIF counts a line shipped complete up to two days late as on time
        )
        db.session.add(rel)
        db.session.flush()
        for k in range(3):
            part, description, price, lead = PARTS[(n + k) % len(PARTS)]
            db.session.add(Item(
                relationship_id=rel.id, prime_part_number=f"{prime[:2].upper()}-{part}",
                supplier_part_number=f"{supplier[:3].upper()}{part[-4:]}", description=description,
                uom="EA", unit_price=_price_in(currency, price), currency=currency, lead_time_days=lead,
            ))
    _demo_rates(orgs[USD_LINK[0]], now)
    db.session.commit()
    _load_activity(orgs)
    return True


def _demo_rates(prime: Organisation, now: datetime) -> None:
    """The USD rates the USD relationship's prime keeps for this month and the ones before (the trend's months)."""
    from datetime import timedelta

    from cogrow.core.weeks import local_today
    from cogrow.money.models import FxRate
    from cogrow.money.services import month_of

    month = month_of(local_today(now))
    for rate in DEMO_USD_RATES:
        db.session.add(FxRate(prime_id=prime.id, month=month, currency="USD", krw_per_unit=rate, updated_at=now))
        month = month_of(month - timedelta(days=1))  # the month before


def _actor(slug: str, role: str, orgs: dict[str, Organisation]):
    from cogrow.core.auth import Actor

    org = orgs[slug]
    user_id = db.session.scalar(select(Membership.user_id).where(
        Membership.organisation_id == org.id, Membership.role == role))
    return Actor(organisation_id=org.id, org_kind=org.kind, role=role, user_id=user_id)


def _load_activity(orgs: dict[str, Organisation]) -> None:
    """Forecasts, POs, authorizations, production reports and a shipment, entered through the real services.

    Hanbit's first item at Seoul Precision is over-produced on purpose: its ledger shows excess inventory and
    an alert waits in Hanbit procurement's inbox once the reconciliation has run.
    """
    from datetime import timedelta

    from cogrow.core.weeks import current_week, local_today
    from cogrow.forecasts import services as forecasts
    from cogrow.orders import schemas as order_schemas
    from cogrow.orders import services as orders
    from cogrow.production import schemas as production_schemas
    from cogrow.production import services as production
    from cogrow.shipments import schemas as shipment_schemas
    from cogrow.shipments import services as shipments

    week0 = current_week()
    now = datetime.now(timezone.utc)
    from cogrow.reliability import demo as reliability_demo

    reliability_demo.forecast_history(week0)  # past versions and orders, before today's versions (numbered after them)
    rels = db.session.scalars(select(SupplyRelationship).order_by(SupplyRelationship.id)).all()
    for n, rel in enumerate(rels):
        prime_slug = next(slug for slug, org in orgs.items() if org.id == rel.prime_id)
        supplier_slug = next(slug for slug, org in orgs.items() if org.id == rel.supplier_id)
        planner = _actor(prime_slug, "planner", orgs)
        producer = _actor(supplier_slug, "production", orgs)
        items = db.session.scalars(select(Item).where(Item.relationship_id == rel.id).order_by(Item.id)).all()
        weekly = [Decimal(100 + 50 * ((n + k) % 4)) for k in range(len(items))]
        buckets = [(item.id, week0 + timedelta(weeks=w), qty) for item, qty in zip(items, weekly) for w in range(26)]
        forecasts.publish(planner, rel.id, buckets, note="Demo forecast")
        # A binding PO for the first two weeks of every item, issued; the first item's is acknowledged.
        lines = [{"item_id": item.id, "quantity": str(qty * 2), "due_date": (week0 + timedelta(days=11)).isoformat()}
                 for item, qty in zip(items, weekly)]
        po = orders.create_po(planner, rel.id, order_schemas.parse_po({"lines": lines, "note": "Demo order"}))
        po = orders.issue_po(planner, rel.id, po.id, po.version)
        if n % 2 == 0:
            po = orders.acknowledge_po(producer, rel.id, po.id, po.version)
        forecasts.grant_authorization(planner, rel.id, items[0].id, "FAB", week0 - timedelta(weeks=4), weekly[0] * 3)
        forecasts.grant_authorization(planner, rel.id, items[0].id, "RAW", week0 - timedelta(weeks=4), weekly[0] * 6)
        reports = []
        for k, (item, qty) in enumerate(zip(items, weekly)):
            # The showcase: far more on hand than anyone guaranteed; a few more items over-produced so that the
            # homes have a ranking (Seoul Precision's SEO1001 sits with both primes, under two prime part numbers).
            fg = qty * OVER_PRODUCED.get((n, k), 2)
            # One item per relationship was last reported days ago: the production home lists it as stale.
            as_of = now - (timedelta(days=STALE_DAYS) if k == STALE_ITEM else timedelta(hours=1))
            reports.append(production_schemas.parse_report({
                "item_id": item.id, "as_of": as_of.isoformat(),
                "good_qty": str(qty), "scrap_qty": "3", "wip_qty": str(qty / 2), "fg_on_hand": str(fg),
                "plan": [{"week": (week0 + timedelta(weeks=w)).isoformat(), "quantity": str(qty * Decimal("0.6"))}
                         for w in range(4)],
            }, now))
        production.record_reports(producer, rel.id, reports, source="form")
        if n == 1:
            line = po.lines[0]
            shipment = shipment_schemas.parse_shipment({
                "ship_date": local_today(now).isoformat(), "lines": [{"po_line_id": line.id, "quantity": str(weekly[0])}]})
            shipments.create_shipment(producer, rel.id, shipment)
        _queue_work(n, rel, items, weekly, po, planner, producer, week0, now)
    from cogrow.coverage import services as coverage

    coverage.full_sweep()
    _history(week0, now)
    from cogrow.reliability import services as reliability

    reliability.refresh()  # the finished weeks of that history, as the nightly run would store them


def _queue_work(n: int, rel: SupplyRelationship, items: list[Item], weekly: list[Decimal], po, planner, producer,
                week0, now: datetime) -> None:
    """Work waiting in every queue of the planner's and the production user's homes, through the real services.

    - a second PO, one line due today (this week, not shipped), issued "days ago" and not acknowledged: past the
      relationship's po_ack_days on the planner's home, overdue on the supplier's;
    - on PROPOSING relationships, the supplier proposes a change to a line of its acknowledged first PO;
    - a second forecast version that cuts a firm-zone week (with its reason), raises some planning weeks and
      lowers others, so the supplier's "new versions" show changes and the planner's "firm-zone cuts" list it;
    - the supplier's commits on that version's firm and material weeks, a few of them below the forecast.
    """
    from datetime import timedelta

    from cogrow.core.weeks import local_today
    from cogrow.forecasts import services as forecasts
    from cogrow.orders import schemas as order_schemas
    from cogrow.orders import services as orders

    today = local_today(now)
    due = orders.create_po(planner, rel.id, order_schemas.parse_po({"note": "Demo order, due this week", "lines": [
        {"item_id": items[1].id, "quantity": str(weekly[1] / 2), "due_date": today.isoformat()}]}))
    due = orders.issue_po(planner, rel.id, due.id, due.version)
    # The services stamp the issue with the clock and take no time: back-date the stored issue (and nothing else)
    # so that the relationship's po_ack_days have run out, as if the PO had been issued a few days ago.
    due.issued_at = now - timedelta(days=rel.po_ack_days + 2)
    db.session.commit()

    if n in PROPOSING:
        line = po.lines[1]
        orders.propose_change(producer, rel.id, po.id, order_schemas.parse_proposal({
            "line_id": line.id, "quantity": str((line.quantity * Decimal("0.8")).quantize(Decimal("1"))),
            "due_date": (line.due_date + timedelta(days=7)).isoformat(),
            "reason": "Die maintenance: 80% by the due date, the rest a week later"}), po.version)

    changed = []
    for k, (item, qty) in enumerate(zip(items, weekly)):
        for w in range(26):
            week = week0 + timedelta(weeks=w)
            if k == CUT_ITEM and w == CUT_WEEK:
                qty_w = (qty * CUT_KEEPS).quantize(Decimal("1"))
            elif k == 0 and 12 <= w < 18:
                qty_w = qty + 50
            elif k == 1 and 14 <= w < 17:
                qty_w = qty - 20
            else:
                qty_w = qty
            changed.append((item.id, week, qty_w))
    pub = forecasts.publish(planner, rel.id, changed, note="Demo forecast, revised",
                            reason="Line changeover moved to next month: less needed next week")
    forecast_of = {(item_id, week): qty for item_id, week, qty in changed}
    commits = []
    for k, item in enumerate(items):
        for w in range(COMMIT_WEEKS):
            week = week0 + timedelta(weeks=w)
            forecast = forecast_of[(item.id, week)]
            if k == 0 and w in COMMIT_SHORT:
                commits.append({"item_id": item.id, "week_start": week, "quantity": forecast - 40,
                                "reason_code": "CAPACITY", "comment": "Second shift not staffed yet"})
            else:
                commits.append({"item_id": item.id, "week_start": week, "quantity": forecast})
    forecasts.commit_buckets(producer, rel.id, pub.id, commits)


def _history(week0, now: datetime) -> None:
    """Twelve past weeks of exposure snapshots, so the trend and "grew since last week" have something to show.

    The exposed items' exposure climbs towards today's at an item's own pace (one statement, a few hundred rows);
    one item of the second prime's was exposed in past weeks and has since been resolved.
    """
    from datetime import timedelta

    from sqlalchemy import insert

    from cogrow.coverage import services as coverage
    from cogrow.coverage.models import CoverageLedger, ExposureSnapshot

    ledgers = db.session.scalars(select(CoverageLedger).order_by(CoverageLedger.item_id)).all()
    rows = []
    for n, ledger in enumerate(ledgers):
        pace = Decimal("0.04") * (1 + n % 3)
        for back in range(1, HISTORY_WEEKS + 1):
            factor = max(Decimal("0"), 1 - pace * back)
            exposure = (ledger.exposure_amount * factor).quantize(Decimal("0.01"))
            excess = (ledger.excess * factor).quantize(Decimal("1"))
            if ledger.exposure_amount == 0 and n == len(ledgers) - 1 and 3 <= back <= 8 and ledger.currency == "KRW":
                exposure, excess = Decimal(1_500_000 - 100_000 * back), Decimal(60)  # exposed once, since resolved
            rows.append({"item_id": ledger.item_id, "relationship_id": ledger.relationship_id,
                         "week_start": week0 - timedelta(weeks=back), "exposure_amount": exposure,
                         "currency": ledger.currency, "excess_qty": excess,
                         "shortage_qty": Decimal("0"), "updated_at": now - timedelta(weeks=back)})
    if rows:
        db.session.execute(insert(ExposureSnapshot), rows)
    coverage.rebuild_exposure_weeks()
    db.session.commit()


def _member(slug: str, role: str, org: Organisation, locale: str | None) -> None:
    user = accounts.create_user(_email(role, slug), f"{role.title()} · {org.name.split(' (')[0]}", DEMO_PASSWORD, locale)
    db.session.add(Membership(user_id=user.id, organisation_id=org.id, role=role))
