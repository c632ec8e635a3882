"""The front door, language switch, health check."""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

from flask import Blueprint, Flask, current_app, g, jsonify, redirect, request, session, url_for

from cogrow.core import services
from cogrow.core.auth import public

bp = Blueprint("core", __name__)

# Where the app keeps the function that remembers a signed-in user's language: accounts registers it (core imports
# no domain), see remember_language_with.
_LANGUAGE_KEEPER = "cogrow.remember_language"


def remember_language_with(app: Flask, keep: Callable[[int, str], None]) -> None:
    """`keep(user_id, language)` stores the language a signed-in user chose, for their e-mail and next session."""
    app.extensions[_LANGUAGE_KEEPER] = keep


@bp.get("/")
@public
def index():
    return redirect(url_for("home.index") if g.get("actor") else url_for("accounts.login"))


@bp.post("/lang")
@public
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        actor = g.get("actor")
        keep = current_app.extensions.get(_LANGUAGE_KEEPER)
        if actor is not None and actor.user_id and keep is not None:
            keep(actor.user_id, lang)
    target = request.form.get("next") or url_for("core.index")
    if urlparse(target).netloc or not target.startswith("/"):
        target = url_for("core.index")
    return redirect(target)


@bp.get("/healthz")
@public
def health():
    return jsonify({"status": "ok", "database": services.database_ok()})
