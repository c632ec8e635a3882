"""The alerts pages' forms (WTForms through cogrow.core.forms): actions on an alert, bulk actions in the inbox,
notifications read, the e-mail preference and webhook endpoints.

An action form carries the alert's version (the 412 rule is `form_version`'s, as for every page form) and which
fragment of the page it answers with when it posts through htmx ("row" in the inbox, "detail" on the alert's page).
The CSRF token comes with BaseForm (`hidden_fields(form)`); htmx requests also send it in the X-CSRFToken header that
base.html puts on <body>.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import fields as wtf
from wtforms.validators import StopValidation
from wtforms.widgets import DateTimeLocalInput

from cogrow.alerts.explain import EMAIL_MODE_LABELS, alert_status_label, severity_label, type_label
from cogrow.alerts.models import ALERT_STATUSES, ALERT_TYPES, EMAIL_MODES, SEVERITIES
from cogrow.core import fields as parse
from cogrow.core.types import utcnow
from cogrow.core.forms import BaseForm, BooleanField, HiddenField, SelectField, TextField, choices
from cogrow.core.validation import MAX_BIG_ID, MAX_ID, parse_id

SNOOZE_DAYS = (1, 3, 7, 14)
BULK_ACTIONS = ("acknowledge", "resolve")
FRAGMENTS = ("row", "detail")


class MomentField(TextField):
    """A date and time (<input type=datetime-local>); without an offset it is read in the business time zone."""

    widget = DateTimeLocalInput()

    def parse(self, text: str) -> datetime:
        return parse.moment(text)


class IdListField(wtf.Field):
    """The ids of the rows ticked in a table (checkboxes named after the field); never rendered by itself."""

    def __init__(self, label=None, validators=None, *, maximum: int = MAX_ID, **kwargs) -> None:
        self.maximum = maximum
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist) -> None:
        ids = [parse_id(value, self.maximum) for value in valuelist]
        if any(i is None for i in ids):
            self.data = None
            raise ValueError(str(_l("Must be a list of ids.")))
        self.data = ids


class RadioField(wtf.RadioField):
    """One of a few choices as radio buttons; a value outside them is refused with a translated message."""

    def pre_validate(self, form) -> None:
        if self.data is None or self.data not in {choice.value for choice in self.choices}:
            raise StopValidation(str(_l("Choose one of the options.")))


class _AlertAction(BaseForm):
    """What every action on one alert posts: which fragment htmx wants back."""

    fragment = HiddenField(default="detail")

    @property
    def kind(self) -> str:
        return "row" if self.fragment.data == "row" else "detail"

    def for_alert(self, alert_id: int, kind: str) -> "_AlertAction":
        """Ids unique on the page (one form per inbox row): `row12-snooze-days`; the names stay as posted."""
        for field in self:
            field.id = f"{kind}{alert_id}-{self.action}-{field.name}"
        return self

    action = "act"


class _Versioned(_AlertAction):
    version = HiddenField()


class AcknowledgeForm(_Versioned):
    action = "acknowledge"


class SnoozeForm(_Versioned):
    """Until a date and time (the alert's page), or for a number of days (an inbox row)."""

    action = "snooze"
    until = MomentField(_l("Snooze until"))
    days = SelectField(_l("Snooze for"), coerce=int, choices=choices((d, d) for d in SNOOZE_DAYS))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The labels in the user's language, at request time.
        self.days.choices = choices((d, ngettext("%(num)s day", "%(num)s days", d)) for d in SNOOZE_DAYS)

    @property
    def uses_days(self) -> bool:
        return bool(self.days.raw_data and self.days.raw_data[0])

    def validate(self, extra_validators=None) -> bool:
        # The days select is read only when it is posted (an inbox row); otherwise the date and time is required.
        super().validate(extra_validators)
        if self.uses_days:
            self.until.errors = []
        else:
            self.days.errors = []
            if self.until.data is None and not self.until.errors:
                self.until.errors = [str(_l("This field is required."))]
        return not any(field.errors for field in self)

    def until_value(self) -> datetime:
        return utcnow() + timedelta(days=self.days.data) if self.uses_days else self.until.data


class ResolveForm(_Versioned):
    action = "resolve"
    note = TextField(_l("Note (optional)"), max_length=2000, render_kw={"maxlength": 2000})


class CommentForm(_AlertAction):
    action = "comment"
    comment = TextField(_l("Comment"), max_length=2000, required=True, render_kw={"maxlength": 2000})


ACTION_FORMS = {"acknowledge": AcknowledgeForm, "snooze": SnoozeForm, "resolve": ResolveForm,
                "comment": CommentForm}


class BulkForm(BaseForm):
    """The inbox's bulk actions: the button pressed is the action; the ticked rows' checkboxes are the ids."""

    action = SelectField(_l("Action"), required=True,
                         choices=choices((a, a) for a in BULK_ACTIONS))
    ids = IdListField(_l("Alerts"))


class MarkReadForm(BaseForm):
    """Notifications to mark as read: the ticked ones ("Mark selected as read" posts `selected`, and then needs at
    least one), or all of them when no id is given ("Mark all as read")."""

    ids = IdListField(_l("Notifications"), maximum=MAX_BIG_ID)  # inbox entries have BIGINT keys
    selected = BooleanField()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.selected.data and not self.ids.data:
            self.ids.errors = [str(_l("Choose at least one notification."))]
            ok = False
        return ok


class EmailModeForm(BaseForm):
    email_mode = RadioField(_l("E-mail"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.email_mode.choices = choices((m, EMAIL_MODE_LABELS[m]) for m in EMAIL_MODES)  # in the user's language


class WebhookForm(BaseForm):
    url = TextField(_l("URL"), max_length=2000, required=True, render_kw={"type": "url", "inputmode": "url"})
    description = TextField(_l("Purpose"), max_length=200)


class AlertFilterForm(BaseForm):
    """The inbox filters (a GET form: no CSRF token). `services.parse_filter` validates them, for the page and the
    API alike; this form renders them and shows its errors beside each select."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"))
    type = SelectField(_l("Type"))
    severity = SelectField(_l("Severity"))
    relationship_id = SelectField(_l("Relationship"))
    sort = SelectField(_l("Sort by"))

    def __init__(self, relationships, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        every = ("", _l("All"))
        self.status.choices = choices([("live", _l("Not resolved")),
                                       ("unresolved", _l("Not resolved, snoozed included")),
                                       *((s, alert_status_label(s)) for s in ALERT_STATUSES), ("all", _l("All"))])
        self.type.choices = choices([every, *((t, type_label(t)) for t in ALERT_TYPES)])
        self.severity.choices = choices([every, *((s, severity_label(s)) for s in SEVERITIES)])
        self.relationship_id.choices = choices([every, *((r.id, f"{r.prime.name} → {r.supplier.name}")
                                                         for r in relationships)])
        self.sort.choices = choices([("severity", _l("Severity")), ("updated", _l("Last updated")),
                                     ("exposure", _l("Amount"))])
