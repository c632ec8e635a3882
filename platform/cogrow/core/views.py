"""The front door, language switch, health check."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, redirect, request, session, url_for
from urllib.parse import urlparse

from cogrow.accounts import services as accounts
from cogrow.core import services
from cogrow.core.auth import public

bp = Blueprint("core", __name__)


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
        if actor is not None and actor.user_id:
            accounts.set_locale(actor.user_id, lang)
    target = request.form.get("next") or url_for("core.index")
    if urlparse(target).netloc or not target.startswith("/"):
        target = url_for("core.index")
    return redirect(target)


@bp.get("/healthz")
@public
def health():
    return jsonify({"status": "ok", "database": services.database_ok()})
