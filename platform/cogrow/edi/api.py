"""JSON routes of the edi domain, on the shared API blueprint."""
from __future__ import annotations

from cogrow.edi import importers  # noqa: F401  (registers the EDI import kinds with the import pipeline)
