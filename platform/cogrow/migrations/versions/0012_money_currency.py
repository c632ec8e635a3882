"""money: amounts carry their currency (placeholder, filled in by the money work)

Revision ID: 0012_money_currency
Revises: 0011_document_numbers
"""
from __future__ import annotations

revision = "0012_money_currency"
down_revision = "0011_document_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
