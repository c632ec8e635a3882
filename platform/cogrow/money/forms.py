"""The exchange-rate form: a month, a currency and how many KRW one unit is worth."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import fields as wtf
from wtforms.validators import ValidationError

from cogrow.core import fields as parse
from cogrow.core.fields import FieldError
from cogrow.core.forms import BaseForm, DecimalField, SelectField, _Parsed, choices
from cogrow.money.services import FOREIGN, MAX_RATE

_MONTH = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


class MonthField(_Parsed, wtf.StringField):
    """A month written year first (2026-12), or a day in it; the value is the month's first day."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"type": "month", "placeholder": "2026-12"})
        super().__init__(label, validators, **kwargs)

    def parse(self, text: str) -> date:
        value = parse.text(text, max_length=10)
        match = _MONTH.fullmatch(value)
        if match is None:
            raise FieldError(_("Write the month as YYYY-MM, e.g. 2026-12."))
        year, month = int(match.group(1)), int(match.group(2))
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            raise FieldError(_("Write the month as YYYY-MM, e.g. 2026-12."))
        if match.group(3):
            parse.date_value(value)  # a day must exist (2026-02-30 is refused)
        return date(year, month, 1)

    def _value(self) -> str:
        if self.raw_data or self.data is None:
            return super()._value()
        return self.data.strftime("%Y-%m")


class FxRateForm(BaseForm):
    month = MonthField(_l("Month"), required=True)
    currency = SelectField(_l("Currency"), choices=choices((c, c) for c in FOREIGN), required=True)
    krw_per_unit = DecimalField(_l("KRW per unit"), required=True, minimum=0, maximum=MAX_RATE, scale=6)

    def validate_krw_per_unit(self, field) -> None:
        if field.data is not None and field.data <= 0:
            raise ValidationError(str(_l("Must be more than 0.")))
