"""The Stripe adapter of the payment-gateway port: card refunds and the refund list.

Chosen with `CLAIMDESK_PAYMENT_GATEWAY=stripe`; keys come from the environment
(`STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`, and `STRIPE_API_BASE` to point
at another Stripe-compatible server). A refund is made against the order's
PaymentIntent (`pi_…`) or charge (`ch_…`), the cart's `payment_reference`.

Never twice: the attempt key (`claim-<id>:<attempt>`) is sent as Stripe's
idempotency key and stored in the refund's metadata. Before creating, the
payment's refunds are searched for that key, so a retry after a crash finds
the refund Stripe already made even after Stripe forgot the idempotency key
(it keeps them 24 hours).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import stripe

from claimdesk.core.conf import setting
from claimdesk.core.money import Money, minor_units

from .gateways import GatewayResult, GatewayTimeout, ProviderRefund

#: The metadata field that carries claimdesk's attempt key on a Stripe refund.
KEY_FIELD = "claimdesk_key"

#: Currencies Stripe counts in whole units (no minor unit), from Stripe's currency list.
STRIPE_ZERO_DECIMAL = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
        "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip

PENDING_STATUSES = frozenset({"pending", "requires_action"})

#: Stripe's refund `failure_reason` codes, as the operator reads them on the refund monitor.
FAILURE_TEXTS = {
    "expired_or_canceled_card": "Stripe: the card has expired or was cancelled.",
    "lost_or_stolen_card": "Stripe: the card was reported lost or stolen.",
    "declined": "Stripe: the card issuer declined the refund.",
    "insufficient_funds": "Stripe: the platform's Stripe balance cannot cover the refund.",
    "merchant_request": "Stripe: the refund was cancelled at the platform's request.",
    "unknown": "Stripe: the refund failed for a reason Stripe does not give.",
}


def stripe_client() -> stripe.StripeClient:
    """Return a Stripe client built from the settings (no retries: claimdesk retries itself)."""
    key = setting("STRIPE_SECRET_KEY")
    if not key:
        raise stripe.AuthenticationError("STRIPE_SECRET_KEY is not set")
    base = setting("STRIPE_API_BASE")
    return stripe.StripeClient(
        key,
        base_addresses={"api": base} if base else None,
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=setting("STRIPE_TIMEOUT_SECONDS")),
    )


def stripe_amount(amount: Money) -> int:
    """Return `amount` in the unit Stripe counts `amount.currency` in (¥100 is 100)."""
    stripe_places = 0 if amount.currency in STRIPE_ZERO_DECIMAL else 2
    shift = stripe_places - minor_units(amount.currency)
    if shift >= 0:
        return amount.minor * 10**shift
    whole, rest = divmod(amount.minor, 10**-shift)
    if rest:
        raise ValueError(f"{amount} cannot be expressed in Stripe's unit of {amount.currency}")
    return whole


def money_from_stripe(value: int, currency: str) -> Money:
    """Return a Stripe amount (`value` in Stripe's unit of `currency`) as Money."""
    code = currency.upper()
    stripe_places = 0 if code in STRIPE_ZERO_DECIMAL else 2
    shift = minor_units(code) - stripe_places
    minor = value * 10**shift if shift >= 0 else value // 10**-shift
    return Money(minor, code)


def payment_target(payment_reference: str) -> dict[str, str] | None:
    """Return the Stripe parameter naming the payment to refund, or None if it is not Stripe's."""
    if payment_reference.startswith("pi_"):
        return {"payment_intent": payment_reference}
    if payment_reference.startswith("ch_"):
        return {"charge": payment_reference}
    return None


def refund_result(refund: dict[str, Any]) -> GatewayResult:
    """Map a Stripe refund object to the gateway port's answer."""
    status = refund.get("status") or ""
    if status == "succeeded":
        return GatewayResult(True, refund["id"])
    if status in PENDING_STATUSES:
        return GatewayResult(False, refund["id"], code=status, pending=True)
    reason = refund.get("failure_reason") or status or "unknown"
    return GatewayResult(False, refund["id"], reason, failure_text(reason))


def failure_text(reason: str) -> str:
    """Return the operator's reading of a Stripe refund failure reason."""
    return FAILURE_TEXTS.get(reason, f"Stripe: the refund failed ({reason}).")


class StripeGateway:
    """Card refunds through Stripe's Refunds API."""

    name = "stripe"

    def __init__(self, client: stripe.StripeClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            self._client = stripe_client()
        return self._client

    def refund(self, *, key: str, amount: Money, payment_reference: str) -> GatewayResult:
        """Refund `amount` of the payment; the same `key` never refunds twice."""
        target = payment_target(payment_reference)
        if target is None:
            return GatewayResult(
                False,
                "",
                "not_a_stripe_payment",
                f"The order's payment reference {payment_reference!r} is not a Stripe "
                "PaymentIntent or charge; settle the refund to the platform balance.",
            )
        try:
            made = self._find(key, target)
            if made is None:
                params: Any = {
                    **target,
                    "amount": stripe_amount(amount),
                    "metadata": {KEY_FIELD: key},
                }
                made = self.client.v1.refunds.create(
                    params=params, options={"idempotency_key": key}
                )
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise GatewayTimeout(key) from exc
        except stripe.IdempotencyError as exc:
            # The key was used with other parameters: never send a second refund under it.
            return GatewayResult(False, "", "idempotency_conflict", f"Stripe: {exc.user_message}")
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            return GatewayResult(
                False, "", "provider_configuration", f"Stripe refused the API key: {exc}"
            )
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            code = exc.code or "invalid_request"
            return GatewayResult(False, "", code, f"Stripe: {exc.user_message or code}")
        except stripe.APIError as exc:
            # A 5xx: Stripe may or may not have made it; the same key asks again safely.
            raise GatewayTimeout(key) from exc
        return refund_result(made.to_dict())

    def _find(self, key: str, target: dict[str, str]) -> Any | None:
        """Return the refund of this payment made under `key` earlier, if any."""
        params: Any = {**target, "limit": 100}
        refund: Any
        for refund in self.client.v1.refunds.list(params=params).auto_paging_iter():
            if (refund.to_dict().get("metadata") or {}).get(KEY_FIELD) == key:
                return refund
        return None

    def refunds_since(self, since: dt.datetime) -> list[ProviderRefund]:
        """Return Stripe's refunds created at or after `since`, newest first.

        Stripe lists refunds newest first; paging stops at the first older one,
        so the `created` filter is not needed (nor relied on).
        """
        cutoff = int(since.timestamp())
        found: list[ProviderRefund] = []
        refund: Any
        for listed in self.client.v1.refunds.list(params={"limit": 100}).auto_paging_iter():
            refund = listed.to_dict()
            if refund["created"] < cutoff:
                break
            found.append(
                ProviderRefund(
                    reference=refund["id"],
                    key=(refund.get("metadata") or {}).get(KEY_FIELD, ""),
                    amount=money_from_stripe(refund["amount"], refund["currency"]),
                    status=refund.get("status") or "",
                    created=dt.datetime.fromtimestamp(refund["created"], tz=dt.UTC),
                )
            )
        return found
