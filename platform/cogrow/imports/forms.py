"""The import pages' forms on WTForms (cogrow.core.forms)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from cogrow.core.forms import BaseForm, TextAreaField


class ConfirmImportForm(BaseForm):
    """Confirming a previewed import; a forecast that cuts firm-zone quantities needs the reason here."""

    reason = TextAreaField(_l("Reason for the cuts (the supplier sees it)"), max_length=500)
