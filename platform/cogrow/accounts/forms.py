"""The accounts pages' forms (WTForms through cogrow.core.forms)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from cogrow.accounts.models import ROLES_BY_KIND
from cogrow.core.forms import (
    BaseForm, EmailField, IntegerField, PasswordField, SelectField, TextField, choices,
)
from cogrow.core.labels import role_label


def role_choices(org_kind: str):
    return choices((role, role_label(role)) for role in ROLES_BY_KIND[org_kind])


class LoginForm(BaseForm):
    # Any text: an account's address is compared as stored (lower-case), never refused for its shape here.
    email = TextField(_l("E-mail"), max_length=254, required=True, render_kw={"autocomplete": "username",
                                                                               "autofocus": True, "type": "email"})
    password = PasswordField(_l("Password"), required=True, render_kw={"autocomplete": "current-password"})


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(_l("Current password"), required=True,
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), required=True, render_kw={"autocomplete": "new-password"})


class AcceptInvitationForm(BaseForm):
    name = TextField(_l("Your name"), max_length=200, render_kw={"autocomplete": "name"})
    password = PasswordField(_l("Password"), required=True, render_kw={"autocomplete": "new-password"})


class _RoleChoice(BaseForm):
    role = SelectField(_l("Role"), required=True)

    def __init__(self, org_kind: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(org_kind)


class InviteUserForm(_RoleChoice):
    email = EmailField(_l("E-mail"), required=True)


class RoleForm(_RoleChoice):
    """A member's role on the Users page (one form per row)."""


class TokenForm(_RoleChoice):
    name = TextField(_l("Name"), max_length=100, required=True)
    expires_in_days = IntegerField(_l("Expires after (days)"), minimum=1, maximum=3650)
