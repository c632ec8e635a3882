"""HTML forms on WTForms: a base form with CSRF, and fields that parse through `cogrow.core.fields`.

A field here reads its text with the same parser as the JSON API and the importers (a part number, a quantity or
a date means the same thing everywhere); a value the parser refuses becomes the field's error, in the user's
language. Templates render forms with the macros in templates/_macros/forms.html (`form_field`, `hidden_fields`,
`form_errors`).

    class InviteForm(BaseForm):
        email = EmailField(_l("E-mail"), required=True)
        role = SelectField(_l("Role"), choices=[...])

    form = InviteForm()
    if form.validate_on_submit(): ...
    else: form.errors_by_name()  -> {"email": "..."} for the page (status 422)
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import fields as wtf
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, StopValidation

from cogrow.core import fields as parse
from cogrow.core.fields import FieldError

__all__ = ["BaseForm", "Required", "TextField", "PartNumberField", "QuantityField", "IntegerField", "DateField",
           "WeekField", "EmailField", "PasswordField", "SelectField", "HiddenField", "BooleanField", "CsrfOnlyForm",
           "TextAreaField", "DecimalField", "choices", "record_id", "LanguageForm", "OrganisationSwitchForm"]

REQUIRED_MESSAGE = _l("This field is required.")


class BaseForm(FlaskForm):
    """FlaskForm with the CSRF token (WTF_CSRF_* settings) and errors shaped for the pages: one message per field."""

    def errors_by_name(self) -> dict[str, str]:
        """{field name: first message}; a CSRF failure is reported under "csrf_token"."""
        return {name: str(messages[0]) for name, messages in self.errors.items() if messages}

    def add_error(self, name: str, message: str) -> None:
        """An error found after validation (by a service): shown beside the field like the others."""
        field = self._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]

    def add_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            self.add_error(name, message)


class CsrfOnlyForm(BaseForm):
    """A form with nothing but its CSRF token (sign out, revoke, remove: buttons that post)."""


class Required(InputRequired):
    """The field must be filled in (text that is only spaces counts as empty)."""

    field_flags = {"required": True}

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)

    def __call__(self, form, field) -> None:
        raw = field.raw_data[0] if field.raw_data else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            field.errors[:] = []
            raise StopValidation(str(self.message or REQUIRED_MESSAGE))


class _Parsed:
    """A field whose text goes through one parser of cogrow.core.fields; the parser's refusal is the error."""

    parser_kwargs: dict[str, Any] = {}

    def __init__(self, label=None, validators=None, *, required: bool = False, **kwargs) -> None:
        validators = list(validators or [])
        if required and not any(isinstance(v, InputRequired) for v in validators):
            validators.insert(0, Required())
        super().__init__(label, validators, **kwargs)  # type: ignore[call-arg]

    def parse(self, text: str) -> Any:
        raise NotImplementedError

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        raw = valuelist[0]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            self.data = None
            return
        try:
            self.data = self.parse(raw)
        except FieldError as exc:
            self.data = None
            raise ValueError(exc.message) from None

    def _value(self) -> str:
        # Redisplay what the user typed after a refusal, not the parsed value.
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class TextField(_Parsed, wtf.StringField):
    """One line of free text (names, notes): invisible and control characters refused, NFKC, trimmed."""

    def __init__(self, label=None, validators=None, *, max_length: int = 200, multiline: bool = False, **kwargs):
        self.max_length, self.multiline = max_length, multiline
        super().__init__(label, validators, **kwargs)

    def parse(self, text: str) -> str:
        return parse.text(text, max_length=self.max_length, multiline=self.multiline)


class TextAreaField(TextField, wtf.TextAreaField):
    def __init__(self, label=None, validators=None, *, max_length: int = 2000, **kwargs):
        super().__init__(label, validators, max_length=max_length, multiline=True, **kwargs)


class PartNumberField(_Parsed, wtf.StringField):
    def __init__(self, label=None, validators=None, *, max_length: int = 64, **kwargs):
        self.max_length = max_length
        super().__init__(label, validators, **kwargs)

    def parse(self, text: str) -> str:
        return parse.part_number(text, max_length=self.max_length)


class QuantityField(_Parsed, wtf.StringField):
    """A quantity as the pages show it: "1,280" and "1280.5" (the locale's grouping separator is accepted)."""

    def __init__(self, label=None, validators=None, *, scale: int = 4, **kwargs):
        self.scale = scale
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)

    def parse(self, text: str):
        return parse.quantity(text, grouping=True, scale=self.scale)


class DecimalField(_Parsed, wtf.StringField):
    """A decimal number in bounds, written as the pages show it (grouping separator accepted)."""

    def __init__(self, label=None, validators=None, *, minimum=0, maximum=None, scale: int = 4, **kwargs):
        self.minimum, self.maximum, self.scale = minimum, maximum, scale
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)

    def parse(self, text: str):
        return parse.decimal(text, minimum=self.minimum, maximum=self.maximum, scale=self.scale, grouping=True)

    def _value(self) -> str:
        if self.raw_data or self.data is None:
            return super()._value()
        from cogrow.core.fields import decimal_text  # 0.4000 shown as 0.4

        return decimal_text(self.data) if isinstance(self.data, Decimal) else str(self.data)


class IntegerField(_Parsed, wtf.StringField):
    def __init__(self, label=None, validators=None, *, minimum: int | None = 0, maximum: int | None = None, **kwargs):
        self.minimum, self.maximum = minimum, maximum
        kwargs.setdefault("render_kw", {"inputmode": "numeric"})
        super().__init__(label, validators, **kwargs)

    def parse(self, text: str) -> int:
        return parse.integer(text, minimum=self.minimum, maximum=self.maximum, grouping=True)


class DateField(_Parsed, wtf.StringField):
    """A date written year first (2026-03-04); rendered as <input type=date>."""

    widget = wtf.DateField.widget

    def parse(self, text: str):
        return parse.date_value(text)


class WeekField(_Parsed, wtf.StringField):
    """An ISO week (2026-W48) or a date in it; the value is the week's Monday."""

    def parse(self, text: str):
        return parse.iso_week(text)


class EmailField(_Parsed, wtf.EmailField):
    """An e-mail address, normalised and lower-cased (as accounts stores it)."""

    def parse(self, text: str) -> str:
        value = parse.text(text, max_length=254)
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise FieldError(str(_l("Not a valid e-mail address."))) from None


class PasswordField(wtf.PasswordField):
    """A password as typed (never trimmed or normalised: the hash compares it byte for byte)."""

    def __init__(self, label=None, validators=None, *, required: bool = False, **kwargs):
        validators = list(validators or [])
        if required:
            validators.insert(0, Required())
        super().__init__(label, validators, **kwargs)


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (values as text; the field's `coerce` reads them back)."""
    return [SelectChoice(str(value), str(label)) for value, label in pairs]


class SelectField(wtf.SelectField):
    """A choice among `choices((value, label), ...)`; a value outside them is refused with a translated message."""

    def __init__(self, label=None, validators=None, *, required: bool = False, **kwargs):
        validators = list(validators or [])
        if required:
            validators.insert(0, Required())
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form) -> None:
        allowed = {self.coerce(choice.value) for choice in self._choices_from_input(self.choices) or []}
        if self.data is None or self.data not in allowed:
            raise StopValidation(str(_l("Choose one of the options.")))


HiddenField = wtf.HiddenField
BooleanField = wtf.BooleanField


# --- the top bar's forms (base.html) ---------------------------------------------------------------------------

class LanguageForm(BaseForm):
    """The language switch: the button carries `lang`; `next` is the page to come back to."""

    next = HiddenField()


def record_id(value: Any) -> int:
    """A row id from a choice's value: ASCII digits only ("١٢" is not 12), through core.fields."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return parse.integer(value, minimum=1, maximum=2**63 - 1)
    except FieldError as exc:
        raise ValueError(exc.message) from None


class OrganisationSwitchForm(BaseForm):
    organisation_id = SelectField(_l("Organisation"), coerce=record_id, required=True)

    @classmethod
    def for_actor(cls, actor, formdata=None) -> "OrganisationSwitchForm":
        """The signed-in user's organisations, the current one selected."""
        from flask_login import current_user

        form = cls(formdata=formdata, organisation_id=actor.organisation_id)
        form.organisation_id.choices = choices((m.organisation_id, m.organisation.name)
                                               for m in getattr(current_user, "memberships", []))
        return form
