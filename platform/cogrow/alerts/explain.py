"""Why an alert fired, in the reader's language, built at render time from the numbers stored with it."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import format_currency, format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cogrow.core.weeks import business_zone

TYPE_LABELS = {
    "excess_inventory": _l("Excess inventory"),
    "projected_excess": _l("Projected excess"),
    "shortage_risk": _l("Shortage risk"),
    "po_unacknowledged": _l("PO not acknowledged"),
    "asn_overdue": _l("ASN overdue"),
}
SEVERITY_LABELS = {"info": _l("Info"), "warning": _l("Warning"), "critical": _l("Critical")}
STATUS_LABELS = {"open": _l("Open"), "acknowledged": _l("Acknowledged"), "snoozed": _l("Snoozed"),
                 "resolved": _l("Resolved")}
EVENT_LABELS = {"raised": _l("Raised"), "updated": _l("Updated"), "escalated": _l("Escalated"),
                "acknowledged": _l("Acknowledged"), "commented": _l("Comment"), "snoozed": _l("Snoozed"),
                "resolved": _l("Resolved")}
EMAIL_MODE_LABELS = {"each": _l("An e-mail for every alert"), "digest": _l("A daily digest"), "off": _l("No e-mail")}
DELIVERY_LABELS = {"pending": _l("Pending"), "failed": _l("Retrying"), "delivered": _l("Delivered"),
                   "sent": _l("Sent"), "dead": _l("Failed for good"), "digest": _l("Waiting for the digest"),
                   "digested": _l("Sent in a digest")}


def type_label(value: str) -> str:
    return str(TYPE_LABELS.get(value, value))


def severity_label(value: str) -> str:
    return str(SEVERITY_LABELS.get(value, value))


def alert_status_label(value: str) -> str:
    return str(STATUS_LABELS.get(value, value))


def event_label(value: str) -> str:
    return str(EVENT_LABELS.get(value, value))


def delivery_label(value: str) -> str:
    return str(DELIVERY_LABELS.get(value, value))


def _num(numbers: dict[str, Any], key: str) -> Decimal:
    try:
        return Decimal(str(numbers.get(key) or "0"))
    except InvalidOperation:
        return Decimal("0")


def qty(value: Decimal) -> str:
    return format_decimal(value, format="#,##0.####")


def money(value: Decimal, currency: str) -> str:
    return format_currency(value, currency)


def _day(value: Any) -> str:
    if not value:
        return "—"
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    # A moment (a PO's issued_at, in UTC) is shown as its business day, not its UTC date.
    return format_date((parsed.astimezone(business_zone()) if parsed.tzinfo else parsed).date())


def explain(alert_type: str, numbers: dict[str, Any], context: dict[str, Any] | None, currency: str = "KRW") -> str:
    """One sentence with the numbers, e.g. 'FG 1,540 + WIP 200 against guaranteed 1,200 (...); 540 units, ...'."""
    n = numbers or {}
    context = context or {}
    if alert_type == "excess_inventory":
        demand = _num(n, "open_po") + _num(n, "firm_uncovered")
        authorized = _num(n, "fab_authorized") - _num(n, "cum_shipped")
        if authorized > demand:
            basis = _("FAB authorization %(fab)s − shipped %(shipped)s", fab=qty(_num(n, "fab_authorized")),
                      shipped=qty(_num(n, "cum_shipped")))
        else:
            basis = _("open PO %(po)s + firm forecast %(firm)s", po=qty(_num(n, "open_po")),
                      firm=qty(_num(n, "firm_uncovered")))
        text = _("FG %(fg)s + WIP %(wip)s against guaranteed %(guaranteed)s (%(basis)s); "
                 "%(excess)s units, %(exposure)s uncovered",
                 fg=qty(_num(n, "fg_on_hand")), wip=qty(_num(n, "wip")), guaranteed=qty(_num(n, "guaranteed")),
                 basis=basis, excess=qty(_num(n, "excess")), exposure=money(_num(n, "exposure_krw"), currency))
        if _num(n, "material_cover") > 0:
            text += _("; %(units)s of them covered by the material zone", units=qty(_num(n, "material_cover")))
        return text
    if alert_type == "projected_excess":
        return _("Supply %(supply)s plus planned output will exceed guaranteed %(guaranteed)s by %(qty)s units in "
                 "the week of %(week)s (%(value)s)",
                 supply=qty(_num(n, "supply")), guaranteed=qty(_num(n, "guaranteed")),
                 qty=qty(_num(n, "projected_excess_qty")), week=_day(n.get("projected_excess_week")),
                 value=money(_num(n, "value"), currency))
    if alert_type == "shortage_risk":
        return _("Firm demand due by the week of %(week)s exceeds supply %(supply)s plus planned output by "
                 "%(qty)s units (%(value)s at risk)",
                 week=_day(n.get("shortage_week")), supply=qty(_num(n, "supply")), qty=qty(_num(n, "shortage_qty")),
                 value=money(_num(n, "value"), currency))
    pos = ", ".join(context.get("po_numbers") or []) or "—"
    if alert_type == "po_unacknowledged":
        return _("PO %(pos)s: %(lines)s lines issued on %(since)s are not acknowledged after %(days)s days "
                 "(%(qty)s units, %(value)s)",
                 pos=pos, lines=n.get("lines", 0), since=_day(n.get("since")), days=n.get("ack_days", 0),
                 qty=qty(_num(n, "qty")), value=money(_num(n, "value"), currency))
    if alert_type == "asn_overdue":
        return _("PO %(pos)s: %(qty)s units due since %(since)s have no ASN (%(value)s)",
                 pos=pos, qty=qty(_num(n, "qty")), since=_day(n.get("since")), value=money(_num(n, "value"), currency))
    return type_label(alert_type)


def template_helpers() -> dict[str, Any]:
    """Functions the alert templates use, registered by the blueprint's context processor."""
    return {"alert_type_label": type_label, "severity_label": severity_label, "alert_status_label": alert_status_label,
            "event_label": event_label, "delivery_label": delivery_label, "explain_alert": explain,
            "format_money": money, "email_mode_labels": EMAIL_MODE_LABELS}


__all__ = ["explain", "type_label", "severity_label", "template_helpers"]
