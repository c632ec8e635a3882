"""How dates, times, weeks and numbers are shown to people: in the user's time zone and locale, through Babel."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the display filters on the app's Jinja environment."""
