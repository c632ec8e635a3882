"""Tables of the scorecards domain."""
from __future__ import annotations
