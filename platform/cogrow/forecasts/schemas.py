"""What valid forecast entries, grants and commits are, from JSON bodies and forms alike."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Mapping

from flask_babel import gettext as _

from cogrow.core import fields
from cogrow.core.validation import clean_text, has_control_chars, parse_decimal, parse_id
from cogrow.core.weeks import parse_iso_label
from cogrow.forecasts.models import AUTHORIZATION_KINDS
from cogrow.forecasts.services import REASON_CODES

MAX_ENTRIES = 200_000


def parse_week(value: Any, *, monday: bool) -> date | str:
    """An ISO week label ('2026-W50') or, with monday=False, any ISO date (its week); or the reason it is not."""
    if not isinstance(value, str) or not value.strip():
        return _("Must be an ISO week such as 2026-W50.") if monday is False else _("Must be a date (YYYY-MM-DD).")
    text = clean_text(value)
    if not monday:
        try:
            return parse_iso_label(text)
        except ValueError:
            return _("Must be an ISO week such as 2026-W50.")
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return _("Must be a date (YYYY-MM-DD).")
    if day.weekday() != 0:
        return _("Must be a Monday: a week starts on Monday.")
    return day


def parse_date(value: Any) -> date | str:
    if not isinstance(value, str):
        return _("Must be a date (YYYY-MM-DD).")
    text = clean_text(value)
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        return _("Must be a date (YYYY-MM-DD).")


def parse_code(value: Any) -> str | None:
    """A part number by the one rule of cogrow.core.fields (NFKC, trimmed, upper-cased, no spaces or invisible
    characters), or None if it cannot be one."""
    try:
        text = fields.part_number(value)
    except fields.FieldError:
        return None
    return text or None


def _item(entry: Mapping[str, Any], parts: dict[str, int], item_ids: set[int], prefix: str,
          errors: dict[str, str]) -> int | None:
    if "item_id" in entry and "part_number" in entry:
        errors[f"{prefix}.item_id"] = _("Give item_id or part_number, not both.")
        return None
    if "part_number" in entry:
        part = parse_code(entry["part_number"])
        if part is None or part not in parts:
            errors[f"{prefix}.part_number"] = _("No such part number in this relationship.")
            return None
        return parts[part]
    value = entry.get("item_id")
    if isinstance(value, bool) or not isinstance(value, int):
        errors[f"{prefix}.item_id"] = _("Give item_id (a number) or part_number.")
        return None
    if value not in item_ids:
        errors[f"{prefix}.item_id"] = _("No such item in this relationship.")
        return None
    return value


def _week(entry: Mapping[str, Any], prefix: str, errors: dict[str, str]) -> tuple[date | None, str]:
    if "week" in entry and "week_start" in entry:
        errors[f"{prefix}.week"] = _("Give week or week_start, not both.")
        return None, "week"
    key = "week_start" if "week_start" in entry else "week"
    parsed = parse_week(entry.get(key), monday=key == "week_start")
    if isinstance(parsed, str):
        errors[f"{prefix}.{key}"] = parsed
        return None, key
    return parsed, key


def _quantity(entry: Mapping[str, Any], prefix: str, errors: dict[str, str]) -> Decimal | None:
    parsed = parse_decimal(entry.get("quantity"), scale=4)
    if isinstance(parsed, str):
        errors[f"{prefix}.quantity"] = parsed
        return None
    if parsed < 0:
        errors[f"{prefix}.quantity"] = _("Must be at least %(n)s.", n=0)
        return None
    return parsed


def _entries(data: Mapping[str, Any], name: str, errors: dict[str, str]) -> list[Any]:
    entries = data.get(name)
    if not isinstance(entries, list) or not entries:
        errors[name] = _("Must be a non-empty list.")
        return []
    if len(entries) > MAX_ENTRIES:
        errors[name] = _("At most %(n)s entries per request.", n=MAX_ENTRIES)
        return []
    return entries


def _unknown_keys(entry: Mapping[str, Any], allowed: set[str], prefix: str, errors: dict[str, str]) -> None:
    for key in entry:
        if key not in allowed:
            errors[f"{prefix}.{key}"] = _("Unknown field.")


def parse_publication(data: Mapping[str, Any], parts: dict[str, int], item_ids: set[int]
                      ) -> tuple[str, list[tuple[int, date, Decimal]], list[str], dict[str, str]]:
    """The note, the (item, week, quantity) entries, the week key each entry used, and every error by field."""
    errors: dict[str, str] = {}
    for key in data:
        if key not in ("note", "buckets", "reason"):
            errors[key] = _("Unknown field.")
    reason = data.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500
                               or has_control_chars(reason.replace("\n", " ").replace("\r", " "))):
        errors["reason"] = _("Text of at most %(n)s characters.", n=500)
    note = data.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        errors["note"] = _("Must be text.")
        note = ""
    elif has_control_chars(note.replace("\n", " ").replace("\r", " ").replace("\t", " ")):
        errors["note"] = _("Contains invisible or control characters.")
    elif len(note) > 500:
        errors["note"] = _("At most %(n)s characters.", n=500)
    buckets: list[tuple[int, date, Decimal]] = []
    week_keys: list[str] = []
    for index, entry in enumerate(_entries(data, "buckets", errors)):
        prefix = f"buckets[{index}]"
        if not isinstance(entry, dict):
            errors[prefix] = _("Must be an object.")
            continue
        _unknown_keys(entry, {"item_id", "part_number", "week", "week_start", "quantity"}, prefix, errors)
        item_id = _item(entry, parts, item_ids, prefix, errors)
        week, week_key = _week(entry, prefix, errors)
        quantity = _quantity(entry, prefix, errors)
        week_keys.append(week_key)
        buckets.append((item_id, week, quantity))  # type: ignore[arg-type]
    return note.strip(), buckets, week_keys, errors


def parse_grant(data: Mapping[str, Any], parts: dict[str, int], item_ids: set[int], *, form: bool = False
                ) -> tuple[tuple[int, str, date, Decimal] | None, dict[str, str]]:
    """One grant from a JSON object or a form: item_id or part_number, kind, cum_start_date, quantity."""
    errors: dict[str, str] = {}
    names = ("item_id", "part_number", "kind", "cum_start_date", "quantity")
    if form:  # numbers arrive as text; an empty field means "not given"
        entry: dict[str, Any] = {k: data.get(k) for k in names if data.get(k) not in (None, "")}
        if isinstance(entry.get("item_id"), str) and parse_id(entry["item_id"]) is not None:
            entry["item_id"] = parse_id(entry["item_id"])
    else:
        entry = dict(data)
        for key in entry:
            if key not in names:
                errors[key] = _("Unknown field.")
    found: dict[str, str] = {}
    item_id = _item(entry, parts, item_ids, "g", found)
    quantity = _quantity(entry, "g", found)
    errors.update({k[2:]: v for k, v in found.items()})
    kind = entry.get("kind")
    kind = clean_text(kind).upper() if isinstance(kind, str) else kind
    if kind not in AUTHORIZATION_KINDS:
        errors["kind"] = _("Must be one of: %(choices)s.", choices=", ".join(AUTHORIZATION_KINDS))
    start = parse_date(entry.get("cum_start_date"))
    if isinstance(start, str):
        errors["cum_start_date"] = start
    if errors:
        return None, errors
    return (item_id, kind, start, quantity), errors  # type: ignore[return-value]


def parse_commits(data: Mapping[str, Any], parts: dict[str, int], item_ids: set[int]
                  ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Commit rows from {"commits": [{bucket_id | (item_id|part_number, week|week_start), quantity, reason_code,
    comment}]}."""
    errors: dict[str, str] = {}
    for key in data:
        if key != "commits":
            errors[key] = _("Unknown field.")
    rows: list[dict[str, Any]] = []
    for index, entry in enumerate(_entries(data, "commits", errors)):
        prefix = f"commits[{index}]"
        if not isinstance(entry, dict):
            errors[prefix] = _("Must be an object.")
            continue
        _unknown_keys(entry, {"bucket_id", "item_id", "part_number", "week", "week_start", "quantity", "reason_code",
                              "comment"}, prefix, errors)
        row: dict[str, Any] = {}
        if "bucket_id" in entry:
            value = entry["bucket_id"]
            if isinstance(value, bool) or not isinstance(value, int):
                errors[f"{prefix}.bucket_id"] = _("Must be a whole number.")
            row["bucket_id"] = value
        else:
            row["item_id"] = _item(entry, parts, item_ids, prefix, errors)
            row["week_start"] = _week(entry, prefix, errors)[0]
        row["quantity"] = _quantity(entry, prefix, errors)
        reason = entry.get("reason_code")
        if reason is not None:
            if not isinstance(reason, str) or clean_text(reason).upper() not in REASON_CODES:
                errors[f"{prefix}.reason_code"] = _("Must be one of: %(choices)s.", choices=", ".join(REASON_CODES))
            else:
                reason = clean_text(reason).upper()
        row["reason_code"] = reason or None
        comment = entry.get("comment") or ""
        if not isinstance(comment, str) or len(comment) > 500:
            errors[f"{prefix}.comment"] = _("Text of at most %(n)s characters.", n=500)
            comment = ""
        row["comment"] = comment.strip()
        rows.append(row)
    return rows, errors
