"""The purchase order's state machine: one table of transitions, from which every question about it is answered.

Each row reads: `action`, taken by `who` (the prime, the supplier, or the system when shipments move the PO), takes
a PO in any of `from_states` to `to_state`. Where the outcome of an action depends on the facts (a proposal decision
while others are still open, an ASN that does or does not finish every line), the action has one row per outcome:
the service works out the target, and the table says whether that move is legal.

Derived from the table, and from nowhere else:
- which actions a side may take on a PO in a given state (`actions_for`, what the pages and the API offer);
- whether a move is legal (`move`, which every change of a PO's status goes through, or refuses with a 409);
- the states in which a PO takes shipments (`states_for("ship")`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cogrow.core.errors import Conflict
from cogrow.orders.models import OPEN_STATES, PO_STATES

if TYPE_CHECKING:
    from cogrow.orders.models import PurchaseOrder

PRIME, SUPPLIER, SYSTEM = "prime", "supplier", "system"

# States in which the supplier has seen the PO: a revision of its lines asks the supplier to answer again.
SEEN_STATES = ("issued", "acknowledged", "change_proposed", "rejected")
# States in which a PO takes an ASN (read them through `states_for("ship")`).
_SHIPPABLE = ("issued", "acknowledged", "partially_shipped")


@dataclass(frozen=True)
class Transition:
    action: str
    from_states: tuple[str, ...]
    to_state: str
    who: str  # PRIME, SUPPLIER or SYSTEM
    label: Any  # a lazy string: what the pages call this move


PO_TRANSITIONS: tuple[Transition, ...] = (
    # The prime's own document until it is issued.
    Transition("issue", ("draft", "rejected"), "issued", PRIME, _l("Issue to the supplier")),
    Transition("revise", ("draft",), "draft", PRIME, _l("Save changes")),
    Transition("revise", SEEN_STATES, "issued", PRIME, _l("Save changes")),
    Transition("cancel", OPEN_STATES, "cancelled", PRIME, _l("Cancel the purchase order")),
    # Short-closing the rest of a partly shipped PO; a PO with nothing shipped is cancelled instead.
    Transition("close", ("partially_shipped",), "closed", PRIME, _l("Close the rest of this order")),
    # The supplier's answer (X12 855 / ORDRSP).
    Transition("acknowledge", ("issued", "change_proposed"), "acknowledged", SUPPLIER, _l("Acknowledge")),
    Transition("reject", ("issued", "change_proposed"), "rejected", SUPPLIER, _l("Reject the purchase order")),
    Transition("propose", ("issued", "acknowledged", "change_proposed"), "change_proposed", SUPPLIER, _l("Propose")),
    # The prime decides a proposal. While other proposals are open the PO stays change_proposed; the last decision
    # acknowledges it if every proposal of the round was accepted, else sends it back to issued.
    Transition("accept_proposal", ("change_proposed",), "acknowledged", PRIME, _l("Accept")),
    Transition("accept_proposal", ("change_proposed",), "issued", PRIME, _l("Accept")),
    Transition("accept_proposal", ("change_proposed",), "change_proposed", PRIME, _l("Accept")),
    Transition("reject_proposal", ("change_proposed",), "issued", PRIME, _l("Reject")),
    Transition("reject_proposal", ("change_proposed",), "change_proposed", PRIME, _l("Reject")),
    # Shipments (orders.fulfilment): an ASN leaves the PO partially shipped, or closes it once every line has
    # shipped in full.
    Transition("ship", _SHIPPABLE, "partially_shipped", SYSTEM, _l("Shipped in part")),
    Transition("ship", _SHIPPABLE, "closed", SYSTEM, _l("Shipped in full")),
    # A cancelled ASN gives its quantities back: the PO stays partially shipped while another ASN holds some, else
    # it returns to where its first ASN found it (acknowledged if the supplier had acknowledged it, else issued).
    # A closed PO is final: the prime records what really arrived through the receipt instead.
    Transition("release", ("partially_shipped",), "partially_shipped", SYSTEM, _l("Shipment cancelled")),
    Transition("release", ("partially_shipped",), "acknowledged", SYSTEM, _l("Shipment cancelled, nothing shipped")),
    Transition("release", ("partially_shipped",), "issued", SYSTEM, _l("Shipment cancelled, nothing shipped")),
)

def _check_table() -> None:
    """The table's own consistency, checked on import: a broken table must not serve a single request."""
    sides = {t.action: t.who for t in PO_TRANSITIONS}
    for t in PO_TRANSITIONS:
        unknown = {t.to_state, *t.from_states} - set(PO_STATES)
        if unknown:
            raise ValueError(f"{t.action}: unknown states {sorted(unknown)}")
        if t.who not in (PRIME, SUPPLIER, SYSTEM) or sides[t.action] != t.who:
            raise ValueError(f"{t.action}: every row of an action is taken by the same side")
    seen: set[tuple[str, str, str]] = set()
    for t in PO_TRANSITIONS:
        for state in t.from_states:
            if (t.action, state, t.to_state) in seen:
                raise ValueError(f"{t.action}: {state} -> {t.to_state} appears twice")
            seen.add((t.action, state, t.to_state))


_check_table()


def actions() -> tuple[str, ...]:
    """Every action of the table, in the table's order."""
    return tuple(dict.fromkeys(t.action for t in PO_TRANSITIONS))


def who(action: str) -> str:
    """The side that takes `action` (PRIME, SUPPLIER or SYSTEM); KeyError for an action the table does not know."""
    for t in PO_TRANSITIONS:
        if t.action == action:
            return t.who
    raise KeyError(action)


def targets(action: str, state: str) -> tuple[str, ...]:
    """The states `action` may take a PO in `state` to, in the table's order (empty: not allowed there)."""
    return tuple(t.to_state for t in PO_TRANSITIONS if t.action == action and state in t.from_states)


def can_act(action: str, state: str) -> bool:
    """Whether `action` is allowed on a PO in `state` (a move that leaves the state as it is counts)."""
    return bool(targets(action, state))


def is_legal(action: str, state: str, to_state: str) -> bool:
    return to_state in targets(action, state)


def states_for(action: str) -> tuple[str, ...]:
    """The states in which `action` is allowed, in PO_STATES order."""
    return tuple(s for s in PO_STATES if can_act(action, s))


def actions_for(side: str, state: str) -> list[str]:
    """The actions `side` may take on a PO in `state`, in the table's order (before the services' own rules)."""
    return list(dict.fromkeys(t.action for t in PO_TRANSITIONS if t.who == side and state in t.from_states))


def can_move(state: str, to_state: str) -> bool:
    """Whether any action takes a PO from `state` to `to_state`."""
    return any(t.to_state == to_state and state in t.from_states for t in PO_TRANSITIONS)


def label(action: str) -> str:
    """What the pages call `action` (its first row's label)."""
    return str(next(t.label for t in PO_TRANSITIONS if t.action == action))


def refusal(action: str, state: str, **extra: Any) -> Conflict:
    """The 409 for an action the table does not allow in `state`; it names the current state."""
    return Conflict(_("A purchase order that is %(state)s cannot be changed this way (%(action)s).",
                      state=state, action=action), **{"state": state, **extra})


def move(po: PurchaseOrder, action: str, to_state: str | None = None) -> Transition:
    """Move `po` by `action` (to `to_state`, or to the action's only target from its state), or raise the 409.

    Only the status changes here; timestamps, audit and outbox are the caller's. A move to the state the PO is
    already in leaves the row untouched (no version bump).
    """
    state = po.status
    possible = targets(action, state)
    if to_state is None:
        if len(possible) > 1:
            raise ValueError(f"{action} from {state} has several outcomes: name the target")
        to_state = possible[0] if possible else None
    if to_state is None or to_state not in possible:
        raise refusal(action, state)
    if state != to_state:
        po.status = to_state
    return next(t for t in PO_TRANSITIONS if t.action == action and state in t.from_states and t.to_state == to_state)
