"""Production pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("production", __name__)
