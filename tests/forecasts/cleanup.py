"""Remove a tenant committed outside the rolled-back `db` fixture (concurrency tests on PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import text


def tenant_ids(tenant) -> dict:
    """The ids to delete later, read while the tenant's objects are still attached."""
    return {"rel": tenant.relationship.id, "p": tenant.prime.id, "s": tenant.supplier.id,
            "users": [u.id for u in tenant.users.values()]}


def remove_tenant(db, ids: dict) -> None:
    statements = [
        "DELETE FROM forecast_commit WHERE relationship_id = :rel",
        "DELETE FROM forecast_bucket WHERE relationship_id = :rel",
        "DELETE FROM forecast_authorization WHERE relationship_id = :rel",
        "DELETE FROM forecast_publication WHERE relationship_id = :rel",
        "DELETE FROM outbox_event WHERE relationship_id = :rel",
        "DELETE FROM audit_log WHERE organisation_id IN (:p, :s)",
        "DELETE FROM item WHERE relationship_id = :rel",
        "DELETE FROM supply_relationship WHERE id = :rel",
        "DELETE FROM api_token WHERE organisation_id IN (:p, :s)",
        "DELETE FROM membership WHERE organisation_id IN (:p, :s)",
        "DELETE FROM organisation WHERE id IN (:p, :s)",
    ]
    params = {k: ids[k] for k in ("rel", "p", "s")}
    for sql in statements:
        db.session.execute(text(sql), params)
    for user_id in ids["users"]:
        db.session.execute(text("DELETE FROM user_account WHERE id = :u"), {"u": user_id})
    db.session.commit()
