"""JSON routes of the reliability domain, on the shared API blueprint."""
from __future__ import annotations
