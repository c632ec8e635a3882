"""How scorecard figures read on pages (the scorecard pages and the home pages' partnership panel)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import format_decimal, format_percent
from flask_babel import lazy_gettext as _l

from cogrow.scorecards import services

# The codes a drill-down row carries (a change, a proposal's status), as the page shows them.
CODE_LABELS = {"revised": _l("revised"), "cancelled": _l("cancelled"), "removed": _l("removed, due date not recorded"), "accepted": _l("accepted"),
               "rejected": _l("rejected"), "open": _l("open")}


def show(value: Decimal | None, kind: str) -> str:
    """A figure as people read it: a share as a percentage, a mean in days, a count; "—" when there is none."""
    if value is None:
        return "—"
    if kind in ("share", "ratio"):
        return format_percent(value, "#,##0.0%")
    if kind == "count":
        return format_decimal(value, "#,##0")
    return format_decimal(value, "#,##0.0")


def chart_value(value: Decimal | None, kind: str) -> str:
    """What a chart plots: percentages for shares and ratios, otherwise the figure; empty for a gap."""
    if value is None:
        return ""
    scaled = value * 100 if kind in ("share", "ratio") else value
    return str(scaled.quantize(Decimal("0.01")))


def helpers() -> dict[str, Any]:
    return {"show": show, "chart_value": chart_value, "code_label": lambda code: CODE_LABELS.get(code, code),
            "measures_of": services.measures_of, "forecast_rows": services.FORECAST_ROWS}
