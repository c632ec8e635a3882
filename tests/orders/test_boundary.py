"""Only the orders domain writes the orders' tables: a static check over platform/cogrow.

Shipments (and any other domain) move a PO through orders.fulfilment, which goes through the state machine and its
audit. This test reads every module outside cogrow/orders (migrations aside) and refuses:
- an assignment (or setattr) of `.shipped_qty` / `.received_qty`, which only PO lines have;
- an assignment of `.status` on something named like a PO (`po`, `order`, `purchase_order`, `x.purchase_order`);
- an UPDATE, INSERT or DELETE statement on PurchaseOrder, PurchaseOrderLine or ChangeProposal (SQLAlchemy's
  `update(...)`, `Model.__table__.update()`, or SQL text naming the tables), and `.values(shipped_qty=...)`.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import cogrow

ROOT = Path(cogrow.__file__).resolve().parent
OWNED = (ROOT / "orders", ROOT / "migrations")
ORDER_MODELS = {"PurchaseOrder", "PurchaseOrderLine", "ChangeProposal"}
LINE_COUNTERS = {"shipped_qty", "received_qty"}
PO_NAME = re.compile(r"(^|[._])(po|pos|order|orders|purchase_order)$")
SQL_WRITE = re.compile(r"\b(update|insert\s+into|delete\s+from)\s+\"?"
                       r"(purchase_order|purchase_order_line|po_change_proposal)\b", re.IGNORECASE)


def _name(node: ast.AST) -> str:
    return ast.unparse(node)


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        found = []
        for target in node.targets:
            found.extend(target.elts if isinstance(target, ast.Tuple | ast.List) else [target])
        return found
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    return []


def _is_order_model(node: ast.AST) -> bool:
    text = _name(node)
    return text.split(".")[-1] in ORDER_MODELS or any(text.startswith(f"{m}.__table__") for m in ORDER_MODELS)


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Where `source` writes the orders' tables, as "file:line: what"."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        for target in _targets(node):
            if isinstance(target, ast.Attribute):
                if target.attr in LINE_COUNTERS:
                    found.append(f"{where}: assigns {_name(target)}")
                elif target.attr == "status" and PO_NAME.search(_name(target.value)):
                    found.append(f"{where}: assigns {_name(target)}")
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called == "setattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                attr = node.args[1].value
                if attr in LINE_COUNTERS or (attr == "status" and PO_NAME.search(_name(node.args[0]))):
                    found.append(f"{where}: setattr {attr}")
            if called in ("update", "insert", "delete"):
                if node.args and _is_order_model(node.args[0]):
                    found.append(f"{where}: {called}({_name(node.args[0])})")
                if isinstance(func, ast.Attribute) and _is_order_model(func.value):
                    found.append(f"{where}: {_name(func)}()")
            if called == "values" and {kw.arg for kw in node.keywords} & LINE_COUNTERS:
                found.append(f"{where}: .values() sets a PO line counter")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_WRITE.search(node.value):
            found.append(f"{where}: SQL writes {SQL_WRITE.search(node.value).group(2)}")
    return found


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not any(p.is_relative_to(owned) for owned in OWNED))


def test_no_module_outside_orders_writes_purchase_orders_or_their_lines():
    modules = _modules()
    assert ROOT / "shipments" / "services.py" in modules and len(modules) > 50
    found = [v for path in modules for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not found, "write POs through cogrow.orders (services or fulfilment):\n" + "\n".join(found)


def test_the_check_catches_the_ways_a_po_could_be_written():
    caught = [
        "po.status = 'closed'",
        "line.purchase_order.status = 'partially_shipped'",
        "line.shipped_qty = line.shipped_qty + 1",
        "pl.received_qty += q",
        "po.status, po.closed_at = 'closed', now",
        "setattr(line, 'shipped_qty', 5)",
        "db.session.execute(update(PurchaseOrder).where(PurchaseOrder.id == 1).values(status='closed'))",
        "db.session.execute(sa.update(PurchaseOrderLine).values(x=1))",
        "PurchaseOrder.__table__.update().values(status='closed')",
        "stmt.values(shipped_qty=PurchaseOrderLine.shipped_qty + 1)",
        "db.session.execute(text('UPDATE purchase_order SET status = :s'))",
        "db.session.execute(delete(ChangeProposal))",
    ]
    for source in caught:
        assert violations(source), source
    allowed = [
        "rel.status = 'active'",
        "batch.status = 'applied'",
        "shipment.status = 'received'",
        "db.session.execute(update(Shipment).values(status='cancelled'))",
        "select(PurchaseOrder.status).where(PurchaseOrder.id == 1)",
        "fulfilment.record_shipment(actor, rel, lines)",
        "x = 'purchase orders update nightly'",
    ]
    for source in allowed:
        assert not violations(source), source
