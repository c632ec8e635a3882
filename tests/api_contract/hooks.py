"""Schemathesis hooks for the contract run (loaded through SCHEMATHESIS_HOOKS by run_schemathesis.py).

- `no_foreign_tenant_data`: a check that fails when an answer carries any marker of the other tenant
  (COGROW_CONTRACT_MARKERS, comma-separated; compared without regard to case).
- Every request is counted; the count is written to COGROW_CONTRACT_COUNT_FILE when the run ends.
- In the workflow run (COGROW_CONTRACT_TOKENS set: a JSON map "side:role" -> raw token), each request carries the
  token of a role the operation allows (its `x-cogrow-roles`), so one stateful run can chain the planner's and the
  supplier's steps (create a PO, issue it, acknowledge it).
"""
from __future__ import annotations

import atexit
import json
import os
import threading

import schemathesis

MARKERS = tuple(m.lower() for m in os.environ.get("COGROW_CONTRACT_MARKERS", "").split(",") if m)
COUNT_FILE = os.environ.get("COGROW_CONTRACT_COUNT_FILE")
TOKENS: dict[str, str] = json.loads(os.environ.get("COGROW_CONTRACT_TOKENS") or "{}")
# The order in which a workflow request picks a role the operation allows.
PREFERENCE = ("planner", "production", "admin", "procurement")

_lock = threading.Lock()
_count = {"requests": 0}


@schemathesis.check
def no_foreign_tenant_data(ctx, response, case):
    """No answer carries the other tenant's names, part numbers or notes."""
    if not MARKERS:
        return None
    body = response.text.lower() if response.content else ""
    found = [m for m in MARKERS if m in body]
    if found:
        raise AssertionError(f"the answer carries the other tenant's marker(s) {found}")
    return None


@schemathesis.hook
def before_call(context, case, kwargs):
    if not TOKENS:
        return
    token = _token_for(case.operation.definition.raw if hasattr(case.operation.definition, "raw")
                       else case.operation.definition)
    if token:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def _token_for(definition) -> str | None:
    access = (definition or {}).get("x-cogrow-roles") or {}
    side = access.get("side", "")
    roles = access.get("roles") or PREFERENCE
    sides = ("prime", "supplier") if side not in ("prime", "supplier") else (side,)
    for role in PREFERENCE:
        for s in sides:
            if role in roles and f"{s}:{role}" in TOKENS:
                return TOKENS[f"{s}:{role}"]
    return None


# The workflow run's world (COGROW_CONTRACT_WORLD: the relationship of the tokens' tenant and its item ids): a PO
# that the generator drafts names real items with a positive quantity, so the links createPurchaseOrder ->
# issuePurchaseOrder -> acknowledgePurchaseOrder get past validation and chain the planner's and supplier's steps.
WORLD: dict = json.loads(os.environ.get("COGROW_CONTRACT_WORLD") or "{}")


@schemathesis.hook
def map_case(context, case):
    """A link's first step (a create) happens in the tenant's relationship; a drafted PO names its real items."""
    if not WORLD:
        return case
    label = f"{case.operation.method.upper()} {case.operation.path}"
    if label in WORLD["sources"] and "relationship_id" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "relationship_id": WORLD["relationship_id"]}
    if label != WORLD["create_po"]:
        return case
    if isinstance(case.body, dict) and isinstance(case.body.get("lines"), list):
        items = WORLD["item_ids"]
        for n, line in enumerate(case.body["lines"][:len(items)]):
            if isinstance(line, dict):
                line.pop("prime_part_number", None)
                line.pop("line_no", None)
                line.update(item_id=items[n % len(items)], quantity=str(10 + n), due_date=WORLD["due_date"])
        del case.body["lines"][len(items):]
    return case


@schemathesis.hook
def after_call(context, case, response):
    with _lock:
        _count["requests"] += 1


def _write_count() -> None:
    if COUNT_FILE:
        with open(COUNT_FILE, "w", encoding="utf-8") as handle:
            json.dump(_count, handle)


atexit.register(_write_count)
