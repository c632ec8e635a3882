"""Background tasks of imports: thin wrappers that take ids and call one service."""
from __future__ import annotations
