"""Forecasts pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("forecasts", __name__)
