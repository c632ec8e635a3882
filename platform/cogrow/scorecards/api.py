"""JSON routes of the scorecards domain, on the shared API blueprint."""
from __future__ import annotations
