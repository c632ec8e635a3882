"""Tables of the liability domain."""
from __future__ import annotations
