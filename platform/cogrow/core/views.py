"""Home pages per role, language switch, health check."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, session, url_for
from urllib.parse import urlparse

from cogrow.accounts import services as accounts
from cogrow.catalog import services as catalog
from cogrow.core import services
from cogrow.core.auth import public, requires
from cogrow.relationships import services as relationships

bp = Blueprint("core", __name__)


@bp.get("/")
@public
def index():
    return redirect(url_for("core.home") if g.get("actor") else url_for("accounts.login"))


@bp.get("/home")
@requires()
def home():
    actor = g.actor
    rels = relationships.list_relationships(actor)
    counts = catalog.count_items_by_relationship(actor)
    context = {"relationships": rels, "item_counts": counts}
    if actor.role == "admin":
        context["members"] = accounts.list_members(actor)
        context["tokens"] = [t for t in accounts.list_tokens(actor) if t.revoked_at is None]
        context["heartbeats"] = services.heartbeats()
    return render_template(f"home/{actor.role}.html", **context)


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
