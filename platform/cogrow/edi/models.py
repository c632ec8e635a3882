"""Tables of the edi domain."""
from __future__ import annotations
