"""The home page: one work queue per role, each built by its own module."""
from __future__ import annotations

import importlib

from flask import Blueprint, g, render_template

from cogrow.core.auth import requires
from cogrow.home import partnership

bp = Blueprint("home", __name__)

# role -> the module whose `context(actor)` builds that role's page (templates/home/<role>.html).
ROLE_PAGES = {"procurement": "procurement", "planner": "planner", "production": "production", "admin": "admin"}
# Roles whose page ends with the partnership panel (home/partnership.py), below their work queue.
PARTNERSHIP_ROLES = ("planner", "procurement", "production")


@bp.get("/home")
@requires()
def index():
    actor = g.actor
    module = importlib.import_module(f"cogrow.home.{ROLE_PAGES[actor.role]}")
    context = module.context(actor)
    if actor.role in PARTNERSHIP_ROLES:
        context.update(partnership.context(actor, context.get("relationships")))
    return render_template(f"home/{actor.role}.html", **context)
