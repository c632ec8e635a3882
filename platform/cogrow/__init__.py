"""Cogrow: supply-chain collaboration between prime contractors and their supplier SMEs."""
from __future__ import annotations

import logging
import warnings
from decimal import Decimal
from typing import Any

from flask import Flask, g, has_request_context, request, session

from cogrow.config import REPO_ROOT, Config

__all__ = ["create_app"]


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints. Nothing happens at import time."""
    app = Flask(
        __name__,
        template_folder=str(REPO_ROOT / "templates"),
        static_folder="static",
    )
    cfg = config if isinstance(config, Config) else Config()
    cfg.validate()
    app.config.from_object(cfg)
    if isinstance(config, dict):
        app.config.update(config)

    # SQLite has no decimal type; values are quantised back to the column's scale on read.
    warnings.filterwarnings("ignore", message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic announces each of its autogenerate plugins at INFO when imported (7 lines in every process);
    # migrations still log what they run.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    import cogrow.models  # noqa: F401  (the whole schema, for Alembic and relationship() strings)
    from cogrow.core.validation import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route: every <int:...> refuses ids no row can have

    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)

    from cogrow.celery import celery_init_app
    from cogrow.cli import register_cli
    from cogrow.core.outbox import install_kick

    celery_init_app(app)
    install_kick()  # a commit that writes outbox rows asks the worker for a relay at once
    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from cogrow.accounts.loading import init_loading
    from cogrow.core.db import init_db
    from cogrow.core.errors import register_error_handlers
    from cogrow.extensions import babel, csrf, db, limiter, login_manager, migrate

    init_db(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "platform" / "cogrow" / "migrations"), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: app.config["BABEL_DEFAULT_TIMEZONE"])
    limiter.init_app(app)
    init_loading(app, login_manager, limiter)  # who is acting: sets g.actor before every view
    register_error_handlers(app)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        return response


def _select_locale() -> str:
    choices = ("ko", "en")
    if not has_request_context():
        # Celery tasks and the CLI choose a language explicitly (force_locale); otherwise the default.
        from flask import current_app

        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang") if request else None
    if chosen in choices:
        return chosen
    from flask_login import current_user

    if current_user and current_user.is_authenticated and current_user.locale in choices:
        return current_user.locale
    return request.accept_languages.best_match(choices) or "en"


def _register_blueprints(app: Flask) -> None:
    import importlib

    from cogrow.core import api as core_api

    # Each domain has views.py (a blueprint named after it) and api.py (routes on the shared API blueprint).
    for domain in ("core", "accounts", "relationships", "catalog", "orders", "forecasts", "imports", "production",
                   "shipments", "coverage", "alerts", "home", "money", "reliability", "scorecards", "liability", "edi"):
        app.register_blueprint(importlib.import_module(f"cogrow.{domain}.views").bp)
        if domain not in ("core", "home", "money"):
            importlib.import_module(f"cogrow.{domain}.api")
    for domain in ("orders", "forecasts", "production"):
        importlib.import_module(f"cogrow.{domain}.importers")  # registers its import kinds
    app.register_blueprint(core_api.bp)
    app.register_blueprint(importlib.import_module("cogrow.accounts.devmail").bp)  # 404 outside development/testing
    app.register_blueprint(importlib.import_module("cogrow.apidocs").bp)  # /api/docs: the API's reference page


def _register_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from cogrow.core.fields import decimal_text, grouped_text
    from cogrow.core.labels import role_label, status_label

    @app.context_processor
    def _globals() -> dict[str, Any]:
        from cogrow.core import forms

        actor = g.get("actor")
        main, settings = _navigation(actor)
        context = {"actor": actor, "current_locale": str(get_locale()), "navigation": main,
                   "settings_navigation": settings}
        if has_request_context():
            # The top bar's forms (CSRF token, and the page to come back to after a language switch).
            context["language_form"] = forms.LanguageForm(formdata=None, next=request.full_path)
            context["logout_form"] = forms.CsrfOnlyForm(formdata=None)
            if actor is not None and actor.user_id is not None:
                from flask_login import current_user

                # Only for people in several organisations (names are read only then: no extra query otherwise).
                if len(getattr(current_user, "memberships", ())) > 1:
                    context["organisation_form"] = forms.OrganisationSwitchForm.for_actor(actor)
        return context

    # Globals, not context: macros imported without context still see them.
    app.jinja_env.globals.update(role_label=role_label, status_label=status_label)

    app.jinja_env.filters["qty"] = grouped_text  # 1234.5000 as 1,234.5
    app.jinja_env.filters["dec"] = lambda v: decimal_text(v) if isinstance(v, Decimal) else v

    from cogrow.core import formatting

    formatting.init_app(app)


def _navigation(actor) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(main menu, settings menu) as (endpoint, label) pairs."""
    from flask_babel import gettext as _

    if actor is None or actor.user_id is None:
        return [], []
    main = [("home.index", _("Home")),
            ("relationships.list_page", _("Suppliers") if actor.is_prime else _("Customers")),
            ("alerts.inbox", _("Alerts")), ("orders.list_page", _("Purchase orders")),
            ("forecasts.list_page", _("Forecasts")),
            # Not "Production": that word is also the role's name, and Korean names the role 생산 담당.
            ("production.list_page", _("Production status")),
            ("shipments.list_page", _("Shipments"))]
    settings = [("accounts.account", _("My account")), ("alerts.settings", _("Notification settings"))]
    if actor.role == "admin":
        settings += [("accounts.members", _("Users")), ("accounts.invitations", _("Invitations")),
                     ("accounts.tokens", _("API tokens")), ("alerts.webhooks", _("Webhooks")),
                     ("accounts.audit_log", _("Audit log"))]
        if actor.is_prime:
            settings.append(("money.fx_rates", _("Exchange rates")))
    return main, settings
