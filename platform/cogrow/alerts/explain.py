"""Why an alert fired, in the reader's language, built at render time from the numbers stored with it."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import has_app_context
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cogrow.core import formatting, labels

TYPE_LABELS = {
    "excess_inventory": _l("Excess inventory"),
    "projected_excess": _l("Projected excess"),
    "shortage_risk": _l("Shortage risk"),
    "po_unacknowledged": _l("PO not acknowledged"),
    "asn_overdue": _l("ASN overdue"),
}
SEVERITY_LABELS = {"info": _l("Info"), "warning": _l("Warning"), "critical": _l("Critical")}
EVENT_LABELS = {"raised": _l("Raised"), "updated": _l("Updated"), "escalated": _l("Escalated"),
                "acknowledged": _l("Acknowledged"), "commented": _l("Comment"), "snoozed": _l("Snoozed"),
                "resolved": _l("Resolved"), "reopened": _l("Reopened")}
# What an alert's amount measures, per type: only the excess types' amounts are exposure.
MEASURE_LABELS = {
    "excess_inventory": _l("Exposure"),
    "projected_excess": _l("Projected exposure"),
    "shortage_risk": _l("Revenue at risk"),
    "po_unacknowledged": _l("Value not acknowledged"),
    "asn_overdue": _l("Value overdue"),
}
# Machine names of the measures, for the API and webhooks.
MEASURES = {"excess_inventory": "exposure", "projected_excess": "projected_exposure",
            "shortage_risk": "revenue_at_risk", "po_unacknowledged": "open_value", "asn_overdue": "overdue_value"}
QTY_LABELS = {
    "excess_inventory": _l("Units in excess"),
    "projected_excess": _l("Units of projected excess"),
    "shortage_risk": _l("Units short"),
    "po_unacknowledged": _l("Units not acknowledged"),
    "asn_overdue": _l("Units overdue"),
}
SIDE_LABELS = {"prime": _l("Customer"), "supplier": _l("Supplier")}
SKIP_LABELS = {
    "resolved": _l("already resolved"),
    "acknowledged": _l("already acknowledged"),
    "snoozed": _l("snoozed (a snooze is kept; acknowledge it on its own to end the snooze)"),
    "not_owner": _l("only the other side can resolve them"),
}
EMAIL_MODE_LABELS = {"each": _l("An e-mail for every alert"), "digest": _l("A daily digest"), "off": _l("No e-mail")}
DELIVERY_LABELS = {"pending": _l("Pending"), "failed": _l("Retrying"), "delivered": _l("Delivered"),
                   "sent": _l("Sent"), "dead": _l("Failed for good"), "digest": _l("Waiting for the digest"),
                   "digested": _l("Sent in a digest")}


def type_label(value: str) -> str:
    return str(TYPE_LABELS.get(value, value))


def severity_label(value: str) -> str:
    return str(SEVERITY_LABELS.get(value, value))


def alert_status_label(value: str) -> str:
    return labels.status_label(value, "alert")


def event_label(value: str) -> str:
    return str(EVENT_LABELS.get(value, value))


def delivery_label(value: str) -> str:
    return str(DELIVERY_LABELS.get(value, value))


def measure_label(alert_type: str) -> str:
    return str(MEASURE_LABELS.get(alert_type, _l("Amount")))


def qty_label(alert_type: str) -> str:
    return str(QTY_LABELS.get(alert_type, _l("Units")))


def side_label(value: str | None) -> str:
    return str(SIDE_LABELS.get(value or "", "")) if value else ""


def skip_label(reason: str) -> str:
    return str(SKIP_LABELS.get(reason, reason))


def reason_text(alert_type: str, reason: str | None, numbers: dict[str, Any] | None) -> str:
    """Why an alert resolved or reopened, from the reason and the figures stored with the event."""
    why = (numbers or {}).get("why") or {}
    before, after = qty(_num(why, "before")), qty(_num(why, "after"))
    date = _day(why.get("date")) if why.get("date") else None
    now_qty = qty(_num(why, "qty"))
    if reason == "manual":
        return _("Resolved by hand.")
    if reason == "condition_holds":
        return _("Reopened: the condition still holds after the manual resolution.")
    if reason == "po_issued":
        return _("A PO covering it was issued (open PO %(before)s → %(after)s).", before=before, after=after)
    if reason == "forecast_firmed":
        return _("Firm forecast now covers it (%(before)s → %(after)s).", before=before, after=after)
    if reason == "authorized":
        return _("A FAB authorization covers it (%(before)s → %(after)s).", before=before, after=after)
    if reason == "shipped":
        return _("Shipments took the stock down (shipped %(before)s → %(after)s).", before=before, after=after)
    if reason == "below_threshold":
        return _("The excess of %(qty)s units is below the relationship's alert thresholds.", qty=now_qty)
    if reason == "demand_fell":
        return _("The firm demand fell (guaranteed %(before)s → %(after)s).", before=before, after=after)
    if reason == "production_report":
        if alert_type == "shortage_risk":
            return (_("The shortage fell to %(qty)s after the production report of %(date)s.", qty=now_qty, date=date)
                    if date else _("The shortage fell to %(qty)s after a production report.", qty=now_qty))
        if alert_type == "projected_excess":
            return (_("The projected excess fell to %(qty)s after the production report of %(date)s.", qty=now_qty,
                      date=date)
                    if date else _("The projected excess fell to %(qty)s after a production report.", qty=now_qty))
        return (_("The excess fell to %(qty)s after the production report of %(date)s.", qty=now_qty, date=date)
                if date else _("The excess fell to %(qty)s after a production report.", qty=now_qty))
    if reason == "po_acknowledged":
        return _("The PO was acknowledged, or no longer waits for an acknowledgement.")
    if reason == "asn_received":
        return _("ASNs cover the overdue lines, or the PO is no longer binding.")
    if reason == "no_ledger":
        return _("The item has no coverage ledger row any more.")
    if reason == "recomputed":
        return _("The condition cleared when the ledger was recomputed.")
    return ""


def _num(numbers: dict[str, Any], key: str) -> Decimal:
    try:
        return Decimal(str(numbers.get(key) or "0"))
    except InvalidOperation:
        return Decimal("0")


def qty(value: Decimal) -> str:
    return format_decimal(value, format="#,##0.####")


def money(value: Decimal, currency: str) -> str:
    return formatting.format_money(value, currency, locale=_reader_locale())


def _reader_locale():
    """The locale in force (a request's, or force_locale's in a worker rendering an e-mail)."""
    return get_locale() if has_app_context() else None


def _day(value: Any) -> str:
    if not value:
        return "—"
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    # A moment (a PO's issued_at, in UTC) is shown as its day on the reader's clock, not its UTC date.
    return formatting.format_day(parsed if parsed.tzinfo else parsed.date(), locale=_reader_locale())


def explain(alert_type: str, numbers: dict[str, Any], context: dict[str, Any] | None,
            currency: str | None = None) -> str:
    """One sentence with the numbers, e.g. 'FG 1,540 + WIP 200 against guaranteed 1,200 (...); 540 units, ...'.

    Amounts are in the currency the numbers carry (the relationship's), else in `currency`.
    """
    n = numbers or {}
    context = context or {}
    currency = n.get("currency") or currency or "KRW"
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
                 basis=basis, excess=qty(_num(n, "excess")), exposure=money(_num(n, "exposure_amount"), currency))
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
            "format_money": money, "email_mode_labels": EMAIL_MODE_LABELS, "measure_label": measure_label,
            "qty_label": qty_label, "side_label": side_label, "reason_text": reason_text, "skip_label": skip_label}


__all__ = ["explain", "type_label", "severity_label", "template_helpers"]
