"""Tables of the reliability domain."""
from __future__ import annotations
