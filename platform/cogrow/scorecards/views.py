"""HTML pages of the scorecards domain."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("scorecards", __name__)
