"""The import list shows when each file came in on Seoul's clock, not the server's UTC clock."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.imports.support import HEADER, csv_bytes
from tests.imports.test_corpus import latest, upload


def test_the_import_list_shows_the_upload_time_in_the_business_time_zone(db, planner, tenant_a, test_kind):
    upload(planner, tenant_a.relationship.id, csv_bytes([HEADER, ["PN-1", "5", ""]]))
    batch = latest(db)
    batch.created_at = datetime(2026, 12, 31, 15, 30, tzinfo=timezone.utc)  # 2027-01-01 00:30 in Seoul
    db.session.commit()
    html = planner.get(f"/relationships/{tenant_a.relationship.id}/imports").get_data(as_text=True)
    assert "Jan 1, 2027, 12:30" in html and "Dec 31, 2026" not in html  # |datetime, in Asia/Seoul
