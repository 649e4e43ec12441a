"""Payment gateway adapters, and the built-in simulated card processor."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Protocol

from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from claimdesk.core.conf import setting
from claimdesk.core.money import Money

from .models import GatewayMode, SimulatedGatewayRefund, SimulatedGatewaySwitch


class GatewayTimeout(Exception):
    """The gateway did not answer in time: the refund may or may not have happened."""


@dataclass(frozen=True)
class GatewayResult:
    """The gateway's answer to one refund attempt.

    `pending`: the provider accepted the refund but settles it later (a bank
    refund, or one waiting for the buyer's details); the refund stays pending
    until the provider's notification says how it ended.
    """

    approved: bool
    reference: str
    code: str = ""
    message: str = ""
    pending: bool = False


@dataclass(frozen=True)
class ProviderRefund:
    """A refund as the provider lists it (for reconciliation)."""

    reference: str
    key: str  #: the attempt key claimdesk sent with it ("" if not claimdesk's)
    amount: Money
    status: str  #: "succeeded", "pending", "failed", ...
    created: dt.datetime


class PaymentGateway(Protocol):
    name: str

    def refund(self, *, key: str, amount: Money, payment_reference: str) -> GatewayResult:
        """Refund `amount` of the payment; the same `key` must never refund twice."""

    def refunds_since(self, since: dt.datetime) -> list[ProviderRefund]:
        """Return the provider's refunds created at or after `since`."""


def get_gateway() -> PaymentGateway:
    """Return the configured gateway adapter."""
    cls = import_string(setting("PAYMENT_GATEWAY"))
    return cls()


def set_simulated_mode(mode: str, remaining: int = 0) -> None:
    """Switch the simulated processor (demo, tests, benchmarks)."""
    SimulatedGatewaySwitch.objects.update_or_create(
        pk=1, defaults={"mode": mode, "remaining": remaining}
    )


class SimulatedCardGateway:
    """A card processor that remembers every key it has seen, like a real one.

    Its switch makes it decline, time out without processing, or process and
    answer too late (the caller sees a timeout; asking again with the same key
    returns the stored answer).
    """

    name = "simulated"

    def refunds_since(self, since: dt.datetime) -> list[ProviderRefund]:
        """Return the refunds the processor approved since `since` (its own records)."""
        rows = SimulatedGatewayRefund.objects.filter(created_at__gte=since, approved=True)
        return [
            ProviderRefund(
                reference=r.reference,
                key=r.key,
                amount=Money(r.amount_minor, r.currency),
                status="succeeded",
                created=r.created_at,
            )
            for r in rows.order_by("created_at", "pk")
        ]

    def refund(self, *, key: str, amount: Money, payment_reference: str) -> GatewayResult:
        with transaction.atomic():
            existing = SimulatedGatewayRefund.objects.filter(key=key).first()
            if existing is not None:
                return _result(existing)
            switch = SimulatedGatewaySwitch.objects.select_for_update().filter(pk=1).first()
            mode = switch.mode if switch else GatewayMode.OK
            if switch is not None and switch.remaining:
                switch.remaining -= 1
                if switch.remaining == 0:
                    switch.mode = GatewayMode.OK
                switch.save(update_fields=["mode", "remaining"])
            if mode == GatewayMode.TIMEOUT:
                timed_out = True
                record = None
            else:
                timed_out = mode == GatewayMode.LATE
                try:
                    with transaction.atomic():
                        record = SimulatedGatewayRefund.objects.create(
                            key=key,
                            amount_minor=amount.minor,
                            currency=amount.currency,
                            approved=mode != GatewayMode.FAIL,
                            reference=f"sim_{uuid.uuid4().hex[:16]}",
                        )
                except IntegrityError:
                    # The same key arrived twice at once: answer as the first call did.
                    return _result(SimulatedGatewayRefund.objects.get(key=key))
        if timed_out or record is None:
            raise GatewayTimeout(key)
        return _result(record)


def _result(record: SimulatedGatewayRefund) -> GatewayResult:
    if record.approved:
        return GatewayResult(True, record.reference)
    return GatewayResult(
        False, record.reference, "card_declined", "The card issuer declined the refund."
    )
