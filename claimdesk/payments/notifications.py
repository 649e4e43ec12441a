"""The payment provider's notifications: verified, read into plain values, kept once.

The Stripe webhook endpoint hands the raw body and its `Stripe-Signature`
header to `stripe_notice_read`, which verifies the signature with the SDK and
returns what the event says (a refund's new status, a dispute), or None for
events claimdesk does not act on. Settling the refund is the refund
lifecycle's business; this module only reads, remembers which events were
handled (`provider_event_first`), finds the refund an event is about, records
a refund the provider keeps pending, and writes disputes into the order's
history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone

from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.money import Money
from claimdesk.orders.history import record_event
from claimdesk.orders.models import Order, OrderEvent

from .models import ProviderEvent, Refund
from .stripe_gateway import KEY_FIELD, money_from_stripe

#: Stripe event types whose object is a refund.
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
DISPUTE_EVENTS = frozenset({"charge.dispute.created"})


@dataclass(frozen=True)
class RefundNotice:
    """A refund's status as the provider reports it."""

    provider: str
    event_id: str
    kind: str
    reference: str  #: the provider's refund id
    key: str  #: claimdesk's attempt key from the refund's metadata ("" if none)
    status: str  #: succeeded, pending, requires_action, failed, canceled
    reason: str  #: the provider's failure reason, if it failed
    amount: Money


@dataclass(frozen=True)
class DisputeNotice:
    """A buyer disputed a payment with their card issuer."""

    provider: str
    event_id: str
    kind: str
    reference: str  #: the provider's dispute id
    payment_references: tuple[str, ...]  #: the disputed charge and PaymentIntent
    amount: Money
    reason: str
    status: str


Notice = RefundNotice | DisputeNotice


def stripe_notice_read(*, payload: bytes, signature: str) -> tuple[str, str, Notice | None]:
    """Verify a Stripe webhook and return (event id, event type, what it says).

    Refuses a notification without a valid signature of the configured
    webhook secret, or signed too long ago (a replayed capture).
    """
    secret = setting("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise DomainError(
            "provider_not_configured",
            _(
                "Stripe notifications are not set up on this server. "
                "Set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret."
            ),
        )
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature,
            secret,
            tolerance=setting("STRIPE_WEBHOOK_TOLERANCE_SECONDS"),
        )
    except stripe.SignatureVerificationError as exc:
        raise DomainError(
            "signature_invalid",
            _(
                "The notification's signature does not match the webhook secret, or it is too "
                "old. Nothing was changed; check the signing secret of the endpoint."
            ),
        ) from exc
    except ValueError as exc:
        raise DomainError(
            "payload_invalid",
            _("The notification is not valid JSON. Nothing was changed."),
        ) from exc
    return event["id"], event["type"], _stripe_notice(event.to_dict())


def _stripe_notice(event: Any) -> Notice | None:
    obj = event["data"]["object"]
    kind = event["type"]
    if kind in REFUND_EVENTS and obj.get("object") == "refund":
        return RefundNotice(
            provider="stripe",
            event_id=event["id"],
            kind=kind,
            reference=obj["id"],
            key=(obj.get("metadata") or {}).get(KEY_FIELD, ""),
            status=obj.get("status") or "",
            reason=obj.get("failure_reason") or "",
            amount=money_from_stripe(obj["amount"], obj["currency"]),
        )
    if kind in DISPUTE_EVENTS:
        references = tuple(r for r in (obj.get("charge"), obj.get("payment_intent")) if r)
        return DisputeNotice(
            provider="stripe",
            event_id=event["id"],
            kind=kind,
            reference=obj["id"],
            payment_references=references,
            amount=money_from_stripe(obj["amount"], obj["currency"]),
            reason=obj.get("reason") or "",
            status=obj.get("status") or "",
        )
    return None


def provider_event_first(*, provider: str, event_id: str, kind: str) -> ProviderEvent | None:
    """Remember a provider event as handled; None if it was handled before (a replay).

    Call inside the transaction that acts on the event, so that an event is
    remembered exactly when its effects are committed.
    """
    try:
        with transaction.atomic():
            return ProviderEvent.objects.create(provider=provider, event_id=event_id, kind=kind)
    except IntegrityError:
        return None


def refund_for_notice(notice: RefundNotice) -> Refund | None:
    """Return the refund a notice is about, locked; None if claimdesk did not make it.

    Call inside a transaction. Found by the attempt key in the provider's
    metadata, else by the provider's refund id.
    """
    refunds = Refund.objects.select_for_update(of=("self",)).select_related("order", "claim")
    if notice.key and ":" in notice.key:
        base, _sep, attempt = notice.key.rpartition(":")
        refund = refunds.filter(idempotency_key=base).first()
        if refund is not None and str(refund.attempt) == attempt:
            return refund
        if refund is not None:
            return None  # an earlier attempt's news: that attempt is over
    return refunds.filter(gateway_reference=notice.reference).first()


def refund_mark_pending_at_provider(refund: Refund, *, reference: str, status: str) -> Refund:
    """Record that the provider holds `refund` pending; its notification settles it later.

    Call inside the transaction that holds the refund's lock. The refund stays
    pending; the history says so once per attempt and provider status.
    """
    refund.gateway_reference = reference
    refund.updated_at = timezone.now()
    refund.save(update_fields=["gateway_reference", "updated_at"])
    told = OrderEvent.objects.filter(
        order_id=refund.order_id,
        kind="refund.provider_pending",
        reason=status,
        data__reference=reference,
    ).exists()
    if not told:
        record_event(
            refund.order,
            actor=None,
            claim=refund.claim,
            kind="refund.provider_pending",
            reason=status,
            data={"refund": refund.pk, "attempt": refund.attempt, "reference": reference},
        )
    return refund


def dispute_record(notice: DisputeNotice) -> list[Order]:
    """Write a dispute into the history of every order of the disputed payment."""
    orders = list(
        Order.objects.filter(cart__payment_reference__in=notice.payment_references).order_by("pk")
    )
    for order in orders:
        record_event(
            order,
            actor=None,
            kind="payment.disputed",
            reason=notice.reason,
            data={
                "dispute": notice.reference,
                "amount": notice.amount.minor,
                "currency": notice.amount.currency,
                "status": notice.status,
                "provider": notice.provider,
            },
        )
    return orders
