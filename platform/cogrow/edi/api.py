"""JSON routes of the edi domain, on the shared API blueprint."""
from __future__ import annotations
