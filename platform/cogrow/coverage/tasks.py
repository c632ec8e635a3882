"""Background tasks of coverage: thin wrappers that take ids and call one service."""
from __future__ import annotations
