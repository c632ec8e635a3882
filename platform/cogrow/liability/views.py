"""HTML pages of the liability domain."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("liability", __name__)
