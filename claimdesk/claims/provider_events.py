"""Act on the payment provider's notifications: settle the refunds it decided, once.

`payments.notifications` reads and verifies a notification into a plain
value; this module applies it, in one transaction with the record that the
event was handled, so a notification delivered twice (or twice at once) acts
once. The refund lifecycle is reached through `_settle` only.
"""

from __future__ import annotations

from django.db import transaction

from claimdesk.payments.models import Refund, RefundStatus
from claimdesk.payments.notifications import (
    DisputeNotice,
    Notice,
    RefundNotice,
    dispute_record,
    provider_event_first,
    refund_for_notice,
    refund_mark_pending_at_provider,
)
from claimdesk.payments.stripe_gateway import PENDING_STATUSES, failure_text

from .refunds import _refund_fail, _refund_settled_later


def provider_notice_apply(*, event_id: str, kind: str, notice: Notice | None) -> str:
    """Apply a verified provider notification once; return what it did.

    Outcomes: "replay" (handled before), "ignored" (nothing claimdesk acts
    on), "unknown" (a refund claimdesk did not make: reconciliation reports
    it), "dispute", "pending", "settled", "failed", "unchanged" (the refund
    was settled already, or the news is about an earlier attempt).
    """
    provider = notice.provider if notice is not None else "stripe"
    with transaction.atomic():
        event = provider_event_first(provider=provider, event_id=event_id, kind=kind)
        if event is None:
            return "replay"
        if notice is None:
            outcome = "ignored"
        elif isinstance(notice, DisputeNotice):
            outcome = "dispute" if dispute_record(notice) else "unknown"
        else:
            refund = refund_for_notice(notice)
            outcome = "unknown" if refund is None else _settle(refund, notice)
        event.outcome = outcome
        event.save(update_fields=["outcome"])
    return outcome


def _settle(refund: Refund, notice: RefundNotice) -> str:
    """Move a pending refund as the provider says (the one call into the refund lifecycle).

    Call inside the transaction that holds the refund's lock.
    """
    if refund.status != RefundStatus.PENDING:
        return "unchanged"
    if notice.status == "succeeded":
        _refund_settled_later(refund, reference=notice.reference)
        return "settled"
    if notice.status in PENDING_STATUSES:
        refund_mark_pending_at_provider(refund, reference=notice.reference, status=notice.status)
        return "pending"
    reason = notice.reason or notice.status or "unknown"
    _refund_fail(refund, code=reason, message=failure_text(reason))
    return "failed"
