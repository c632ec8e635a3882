"""HTML pages of the edi domain."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("edi", __name__)
