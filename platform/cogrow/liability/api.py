"""JSON routes of the liability domain, on the shared API blueprint."""
from __future__ import annotations
