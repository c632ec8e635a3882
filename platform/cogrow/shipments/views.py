"""Shipments pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("shipments", __name__)
