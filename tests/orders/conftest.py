"""Fixtures of the orders tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def request_ctx(app, db):
    """Services translate their messages: calling one directly needs a request (for the locale)."""
    with app.test_request_context("/"):
        yield
