"""Import kind `production`: production reports from a CSV or XLSX file, one row per item and time.

Columns: part_number (the prime's or the supplier's), as_of (ISO 8601; naive times are Asia/Seoul),
good_qty, scrap_qty, wip_qty, fg_on_hand, raw_on_hand (optional), note (optional), and planned output
`plan_w1` … `plan_w8` (optional): plan_w1 is the ISO week that holds `as_of`, plan_w2 the week after, and so on.
Relative columns keep one template valid every week (a header such as 2026-W49 would go stale).

A blank cell is unchanged, as on the report pages: a blank WIP, finished goods, raw material or planned week keeps
the item's last report (an item without one needs WIP and finished goods); to clear a planned week, write 0.
Good and scrap are what was made since the last report: blank is 0. A row that reports nothing is an error, so
the downloaded template, whose quantity cells are empty, never reports zero stock when uploaded unchanged.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cogrow.core.weeks import business_zone, iso_label, week_start
from cogrow.imports import cells
from cogrow.imports.registry import Column, ImportKind, ParsedRow, RowError, register
from cogrow.production import schemas, services

PLAN_WEEKS = 8
_QTY = cells.decimal_cell(minimum=0, scale=4)
ZERO = Decimal(0)
_REPORTED = ("good_qty", "scrap_qty", "wip_qty", "fg_on_hand", "raw_on_hand")

COLUMNS = [
    Column("part_number", ("part_number", "part number", "part_no", "prime_part_number", "품번", "부품번호"),
           cells.code_cell(64, required=True), example="BRK-1001"),
    Column("as_of", ("as_of", "as of", "기준일시", "기준시각"), cells.datetime_cell(required=True),
           example="2026-03-04T08:30+09:00"),
    # Cells may be blank (see above); a missing column is a column of blanks.
    Column("good_qty", ("good_qty", "good", "양품", "양품수량"), _QTY, required=False, example=""),
    Column("scrap_qty", ("scrap_qty", "scrap", "불량", "불량수량"), _QTY, required=False, example=""),
    Column("wip_qty", ("wip_qty", "wip", "재공", "재공품"), _QTY, required=False, example=""),
    Column("fg_on_hand", ("fg_on_hand", "fg", "finished goods", "완제품", "완제품재고"), _QTY, required=False,
           example=""),
    Column("raw_on_hand", ("raw_on_hand", "raw", "raw material", "원자재", "원자재재고"), _QTY, required=False, example=""),
    Column("note", ("note", "비고", "메모"), cells.text_cell(500), required=False, example=""),
    *[Column(f"plan_w{n}", (f"plan_w{n}", f"plan w{n}", f"계획_{n}주", f"계획{n}주"), _QTY, required=False,
             example="") for n in range(1, PLAN_WEEKS + 1)],
]


def _validate(actor, rel, rows: list[ParsedRow]) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Business checks: known part numbers, times not in the future, no row twice for the same item and time."""
    errors: list[RowError] = []
    if rel.status != "active":
        return [], [RowError(1, None, _("The relationship is %(status)s: production cannot be reported.",
                                        status=rel.status))]
    now = datetime.now(timezone.utc)
    reports: list[dict[str, Any]] = []
    rows_of: list[int] = []
    for row in rows:
        v = row.values
        as_of = v["as_of"]
        checked = schemas.check_moment(as_of, now) if as_of is not None else None
        if isinstance(checked, str):
            errors.append(RowError(row.row, "as_of", checked))
            continue
        first = week_start(as_of.astimezone(business_zone()).date())
        plan = [(first + timedelta(weeks=n - 1), v.get(f"plan_w{n}")) for n in range(1, PLAN_WEEKS + 1)
                if v.get(f"plan_w{n}") is not None]
        if not plan and all(v.get(name) is None for name in _REPORTED):
            errors.append(RowError(row.row, None, _("This row reports nothing: fill in at least one quantity.")))
            continue
        reports.append({"part_number": v["part_number"], "as_of": as_of,
                        "good_qty": v.get("good_qty") or ZERO, "scrap_qty": v.get("scrap_qty") or ZERO,
                        "wip_qty": v.get("wip_qty"), "fg_on_hand": v.get("fg_on_hand"),
                        "raw_on_hand": v.get("raw_on_hand"), "note": v.get("note") or "", "plan": plan})
        rows_of.append(row.row)
    for key, message in services.resolve_items(rel.id, reports, prefix="{i}|").items():
        index, _sep, column = key.partition("|")
        errors.append(RowError(rows_of[int(index)], column, message))
    # Blank WIP or finished goods keep the last report: an item without one must give them. Checked on copies:
    # the values are carried when the file is applied, from the reports current then.
    known = [r for r in reports if r.get("item_id") is not None]
    rows_known = [row_no for row_no, r in zip(rows_of, reports) if r.get("item_id") is not None]
    for (index, column), message in services.fill_unchanged(rel.id, [dict(r) for r in known]).items():
        errors.append(RowError(rows_known[index], column, message))
    seen: dict[tuple[int, datetime], int] = {}
    for row_no, report in zip(rows_of, reports):
        if report.get("item_id") is None:
            continue
        key = (report["item_id"], report["as_of"])
        if key in seen:
            errors.append(RowError(row_no, None, _("The same item and time as row %(row)s.", row=seen[key])))
        else:
            seen[key] = row_no
    return reports, errors


def _preview(actor, rel, reports: list[dict[str, Any]]) -> dict[str, Any]:
    unchanged = str(_l("unchanged"))
    lines = [[r["part_number"], r["as_of"].isoformat(), str(r["good_qty"]), str(r["scrap_qty"]),
              unchanged if r["wip_qty"] is None else str(r["wip_qty"]),
              unchanged if r["fg_on_hand"] is None else str(r["fg_on_hand"]),
              unchanged if r["raw_on_hand"] is None else str(r["raw_on_hand"]),
              ", ".join(f"{iso_label(w)}: {q}" for w, q in r["plan"])] for r in reports[:200]]
    return {"summary": {"reports": len(reports), "items": len({r.get("item_id") for r in reports})},
            "headers": [str(_l("Part number")), str(_l("As of")), str(_l("Good")), str(_l("Scrap")), str(_l("WIP")),
                        str(_l("Finished goods")), str(_l("Raw material")), str(_l("Planned output"))],
            "lines": lines}


def _apply(actor, rel, reports: list[dict[str, Any]], batch, progress) -> dict[str, Any]:
    """Write every report inside the importer's transaction (it commits), in chunks that move the progress bar."""
    done, chunk, first = 0, 1000, None
    for start in range(0, len(reports), chunk):
        part = reports[start:start + chunk]
        ids = services.write_reports(actor, rel.id, part, source="file", announce=False)
        first = first if first is not None else ids[0]
        done += len(part)
        progress(done, len(reports))
    if done:
        services.announce_reports(actor, rel.id, done, "file", (r["item_id"] for r in reports), first)
    return {"reports": done}


def _examples(actor, rel):
    from cogrow.catalog import services as catalog

    items = catalog.list_items(actor, rel.id, limit=3)
    now = datetime.now(business_zone()).replace(second=0, microsecond=0).isoformat()
    # Only the part number and the time: every quantity is left blank for the user to fill in (a blank is
    # "unchanged", and a row with nothing filled in is refused), so the template uploaded as it is reports nothing.
    return [[item.prime_part_number, now, "", "", "", "", "", "", *([""] * PLAN_WEEKS)] for item in items]


register(ImportKind(
    name="production",
    label=lambda: _("Production reports"),
    org_kind="supplier",
    roles=services.WRITER_ROLES,
    columns=COLUMNS,
    validate=_validate,
    preview=_preview,
    apply=_apply,
    example_rows=_examples,
))
