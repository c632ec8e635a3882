"""The machine feed on the production lines page: output per business day (Asia/Seoul), by line, as a chart drawn
from its table. The table's figures are the readings' produced units summed per local day, and the page runs the
same number of statements whatever the number of readings."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import event, select

from cogrow.core.weeks import business_zone, local_today
from cogrow.production import services
from cogrow.production.models import MachineReading, ProductionLine
from tests import factories as f
from tests.conftest import actor_of, sign_in


def _lines(db, tenant, count=2):
    second = f.ItemFactory(supply_relationship=tenant.relationship)
    db.session.commit()
    actor = actor_of(tenant.users["supplier:production"], tenant.supplier)
    made = [services.create_line(actor, tenant.relationship.id, {"code": f"PRESS-{n + 1}", "name": "",
                                                                  "item_id": (tenant.item, second)[n % 2].id})
            for n in range(count)]
    return actor, made


def _feed(db, tenant, actor, lines, days=5, per_day=6, start_counter=0, shift=0):
    """Readings every few hours over the last `days` local days (ending before now), including ones right after a
    local midnight (UTC's previous day) and a counter reset."""
    zone = business_zone()
    now = datetime.now(timezone.utc)
    today = local_today()
    for n, line in enumerate(lines):
        readings, counter = [], start_counter
        for back in range(days - 1, -1, -1):
            day = today - timedelta(days=back)
            midnight = datetime.combine(day, time(0, 0), zone)
            for k in range(per_day):
                at = (midnight + timedelta(minutes=5 + k * 97 + shift)).astimezone(timezone.utc)
                if at >= now:
                    break
                counter = 3 if (back == 2 and k == 3 and n == 0) else counter + 10 * (n + 1) + k
                readings.append((at, counter))
        services.record_readings(actor, tenant.relationship.id, line.id, readings)


def _expected(db, tenant):
    zone = business_zone()
    out = defaultdict(Decimal)
    for line_id, read_at, produced in db.session.execute(
            select(MachineReading.line_id, MachineReading.read_at, MachineReading.produced)
            .where(MachineReading.relationship_id == tenant.relationship.id)):
        out[(read_at.astimezone(zone).date().isoformat(), line_id)] += produced
    return out


def _table(html):
    """{day: ([per line values], total)} and the line codes of the header, read from the page's feed table."""
    table = re.search(r'<table[^>]*data-test="feed-table".*?</table>', html, re.S).group(0)
    codes = re.findall(r'data-line="([^"]+)"', table)
    rows = {}
    for day, cells in re.findall(r'<tr data-day="([^"]+)">(.*?)</tr>', table, re.S):
        values = [Decimal(v) for v in re.findall(r'data-value="([^"]*)"', cells)]
        rows[day] = (values[:-1], values[-1])
    return codes, rows


def test_the_feed_table_sums_the_readings_per_local_day_and_line(client, db, tenant_a):
    actor, lines = _lines(db, tenant_a)
    _feed(db, tenant_a, actor, lines)
    sign_in(client, tenant_a.users["prime:planner"])  # the prime sees the supplier's machine feed too
    page = client.get(f"/relationships/{tenant_a.relationship.id}/production-lines")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-test="chart-machine-feed"' in html and "data-chart-table" in html
    codes, rows = _table(html)
    ids = {line.code: line.id for line in lines}
    assert codes == ["PRESS-1", "PRESS-2"]
    expected = _expected(db, tenant_a)
    today = local_today()
    assert list(rows) == [(today - timedelta(days=n)).isoformat() for n in range(services.FEED_DAYS - 1, -1, -1)]
    for day, (values, total) in rows.items():
        want = [expected.get((day, ids[code]), Decimal(0)) for code in codes]
        assert values == want, day
        assert total == sum(want)
    assert sum(total for _v, total in rows.values()) == sum(expected.values()) > 0


def test_readings_older_than_the_window_or_of_another_relationship_are_not_counted(client, db, tenant_a, tenant_b):
    actor, lines = _lines(db, tenant_a, count=1)
    old = datetime.now(timezone.utc) - timedelta(days=services.FEED_DAYS + 2)
    services.record_readings(actor, tenant_a.relationship.id, lines[0].id, [(old, 0), (old + timedelta(hours=1), 500)])
    actor_b, lines_b = _lines(db, tenant_b, count=1)
    _feed(db, tenant_b, actor_b, lines_b, days=2)
    sign_in(client, tenant_a.users["supplier:production"])
    html = client.get(f"/relationships/{tenant_a.relationship.id}/production-lines").get_data(as_text=True)
    assert 'data-test="no-feed"' in html and 'data-test="feed-table"' not in html


def test_the_lines_page_runs_a_bounded_number_of_statements(client, db, tenant_a):
    actor, lines = _lines(db, tenant_a)
    sign_in(client, tenant_a.users["supplier:production"])
    url = f"/relationships/{tenant_a.relationship.id}/production-lines"

    def run():
        statements = []
        db.session.expire_all()

        def count(_conn, _cursor, statement, *_args):
            if not statement.startswith(("SAVEPOINT", "RELEASE")):
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return statements

    _feed(db, tenant_a, actor, lines, days=1, per_day=2)
    few = run()
    _feed(db, tenant_a, actor, lines, days=services.FEED_DAYS, per_day=8, start_counter=10_000, shift=1)
    assert db.session.query(MachineReading).count() > 100
    more = run()
    assert len(more) == len(few), "\n".join(more)
    assert sum("machine_reading" in s for s in more) == 1  # one grouped query for the feed


def test_the_item_page_lists_its_readings_with_their_line(client, db, tenant_a):
    actor, lines = _lines(db, tenant_a, count=1)
    _feed(db, tenant_a, actor, lines, days=1, per_day=3)
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(f"/relationships/{tenant_a.relationship.id}/items/{tenant_a.item.id}/production")
    assert page.status_code == 200
    readings = re.search(r'data-test="readings".*?</table>', page.get_data(as_text=True), re.S).group(0)
    assert "PRESS-1" in readings
