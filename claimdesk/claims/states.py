"""The claim state machine as data, and its one choke point.

`TRANSITIONS` names every action on an existing claim, the roles that may
take it, the statuses it starts from and where it goes. `transition()` is the
only code that changes a claim's status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from claimdesk.accounts.roles import role_of
from claimdesk.core.bulk import update_row
from claimdesk.core.errors import Conflict, DomainError, Forbidden
from claimdesk.core.i18n import lazy_text as _
from claimdesk.orders.history import record_event

from .models import TERMINAL_STATUSES, Claim, ClaimStatus

if TYPE_CHECKING:
    from claimdesk.accounts.models import User

S = ClaimStatus


@dataclass(frozen=True)
class Transition:
    roles: frozenset[str]
    sources: frozenset[int]
    targets: frozenset[int]


def _t(roles: set[str], sources: set[int], *targets: int) -> Transition:
    return Transition(frozenset(roles), frozenset(sources), frozenset(targets))


TRANSITIONS: dict[str, Transition] = {
    "approve_cancel": _t({"seller"}, {S.CANCEL_REQUESTED}, S.CANCELLING),
    "reject_by_shipping": _t({"seller", "system"}, {S.CANCEL_REQUESTED}, S.REJECTED_SHIPPED),
    "refund_succeeded": _t({"system"}, {S.CANCELLING}, S.CANCEL_COMPLETED),
    "withdraw": _t(
        {"buyer"},
        {
            S.CANCEL_REQUESTED,
            S.RETURN_REQUESTED,
            S.RETURNING,
            S.EXCHANGE_REQUESTED,
            S.EXCHANGE_APPROVED,
            S.NON_RECEIPT_REPORTED,
        },
        S.WITHDRAWN,
    ),
    "operator_withdraw": _t(
        {"operator"},
        {
            S.CANCEL_REQUESTED,
            S.RETURN_REQUESTED,
            S.RETURNING,
            S.EXCHANGE_REQUESTED,
            S.EXCHANGE_APPROVED,
            S.REDELIVERING,
            S.NON_RECEIPT_REPORTED,
        },
        S.WITHDRAWN,
    ),
    "accept_return": _t({"seller"}, {S.RETURN_REQUESTED}, S.RETURNING),
    "complete_return": _t({"seller"}, {S.RETURN_REQUESTED, S.RETURNING}, S.RETURN_COMPLETED),
    "convert_to_exchange": _t({"seller"}, {S.RETURN_REQUESTED, S.RETURNING}, S.EXCHANGE_APPROVED),
    "approve_exchange": _t({"seller"}, {S.EXCHANGE_REQUESTED}, S.EXCHANGE_APPROVED),
    "redeliver": _t({"seller"}, {S.EXCHANGE_APPROVED, S.NON_RECEIPT_REPORTED}, S.REDELIVERING),
    "complete_redelivery": _t(
        {"buyer", "operator", "system"}, {S.REDELIVERING}, S.EXCHANGE_COMPLETED
    ),
    "refund_non_receipt": _t(
        {"seller"},
        {S.NON_RECEIPT_REPORTED},
        S.NON_RECEIPT_REFUNDED,
        S.NON_RECEIPT_PARTIALLY_REFUNDED,
    ),
    # an operator deciding an escalated case for the buyer (against: operator_withdraw)
    "operator_refund_return": _t(
        {"operator"}, {S.RETURN_REQUESTED, S.RETURNING}, S.RETURN_COMPLETED
    ),
    "operator_refund_non_receipt": _t(
        {"operator"}, {S.NON_RECEIPT_REPORTED}, S.NON_RECEIPT_REFUNDED
    ),
}


def check(action: str, claim: Claim, actor: User | None) -> Transition:
    """Refuse unless `actor` may take `action` on `claim` in its current status."""
    rule = TRANSITIONS[action]
    if role_of(actor) not in rule.roles:
        raise Forbidden(
            "role_not_allowed",
            _(
                "Your account cannot take this action on a claim. Ask the party who can, or contact the customer center."
            ),
            {"action": action},
        )
    if claim.status not in rule.sources:
        raise DomainError(
            "wrong_claim_status",
            _(
                "The claim on order %(order_no)s is “%(status)s”; this action is not possible now. "
                "Reload the order to see what can be done next, or contact the customer center."
            )
            % {"order_no": claim.order.order_no, "status": claim.get_status_display()},
            {"action": action, "status": claim.status},
        )
    return rule


def transition(
    claim: Claim,
    action: str,
    to: int,
    *,
    actor: User | None,
    reason: str = "",
    memo: str = "",
    data: dict[str, Any] | None = None,
) -> Claim:
    """Move `claim` to `to` by `action`. Call inside a transaction holding the order lock."""
    rule = check(action, claim, actor)
    if to not in rule.targets:
        raise AssertionError(f"{action} cannot lead to {to}")
    old = claim.status
    is_open = to not in TERMINAL_STATUSES
    completed_at = timezone.now() if not is_open else None
    changed = {
        "status": to,
        "is_open": is_open,
        "completed_at": completed_at,
        "previous_status": old,
    }
    updated = update_row(Claim, claim.pk, changed, where={"status": old})
    if updated != 1:
        raise Conflict(
            "claim_changed",
            _(
                "Someone else changed this claim a moment ago. Reload the page to see its current state."
            ),
        )
    claim.status = to
    claim.is_open = is_open
    claim.completed_at = completed_at
    claim.previous_status = old
    record_event(
        claim.order,
        actor=actor,
        claim=claim,
        kind=f"claim.{action}",
        field="claim_status",
        from_value=old,
        to_value=to,
        reason=reason,
        memo=memo,
        data=data,
    )
    return claim


def record_opened(
    claim: Claim,
    *,
    actor: User | None,
    kind: str,
    memo: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Write the history line of a claim's creation."""
    record_event(
        claim.order,
        actor=actor,
        claim=claim,
        kind=kind,
        field="claim_status",
        from_value="",
        to_value=claim.status,
        reason=claim.reason_code,
        memo=memo,
        data=data,
    )
