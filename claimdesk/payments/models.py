"""Payment fees, refunds, the double-entry ledger and the simulated card processor."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claimdesk.core.money import Money


class PaymentFeeRule(models.Model):
    """A row of the payment-fee table: the fee for a method from an amount upward."""

    method = models.CharField(max_length=32)
    currency = models.CharField(max_length=3, default="JPY")
    min_amount_minor = models.BigIntegerField(default=0)
    fee_minor = models.BigIntegerField()

    class Meta:
        ordering = ["method", "currency", "min_amount_minor"]
        constraints = [
            models.UniqueConstraint(
                fields=["method", "currency", "min_amount_minor"], name="unique_fee_band"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} ≥{self.min_amount_minor}: {self.fee_minor} {self.currency}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Refund pending")
    SUCCEEDED = "succeeded", _("Refund completed")
    FAILED = "failed", _("Refund failed")


class RefundDestination(models.TextChoices):
    CARD = "card", _("Card")
    BALANCE = "balance", _("Platform balance")


class Refund(models.Model):
    """Money going back to a buyer for one claim; never runs twice.

    The breakdown columns say where the amount comes from: the item, the
    cart's shipping fee, the payment fee, less the return shipping deducted.
    """

    claim = models.OneToOneField("claims.Claim", on_delete=models.PROTECT, related_name="refund")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refunds"
    )
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    item_minor = models.BigIntegerField()
    shipping_minor = models.BigIntegerField(default=0)
    payment_fee_minor = models.BigIntegerField(default=0)
    deduction_minor = models.BigIntegerField(default=0)
    payment_fee_borne_by_seller = models.BooleanField(default=False)
    destination = models.CharField(max_length=16, choices=RefundDestination.choices)
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    idempotency_key = models.CharField(max_length=80, unique=True)
    attempt = models.PositiveIntegerField(default=1)
    auto_retries = models.PositiveIntegerField(default=0)
    gateway_reference = models.CharField(max_length=80, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    #: When the refund (re)entered pending: set on creation and on each retry, never
    #: touched by recovery, so "pending too long" is measured from here.
    pending_since = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="refund_status_updated")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_minor__gte=0), name="refund_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} {self.amount_minor} {self.currency} {self.status}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def attempt_key(self) -> str:
        """Return the key the gateway sees for this attempt (a retry is a new attempt)."""
        return f"{self.idempotency_key}:{self.attempt}"


class Account(models.TextChoices):
    BUYER_BALANCE = "buyer_balance", _("Buyer balance")
    SELLER_PAYABLE = "seller_payable", _("Seller payable")
    PLATFORM_REVENUE = "platform_revenue", _("Platform revenue")
    PLATFORM_COMMISSION = "platform_commission", _("Platform commission")
    GATEWAY_CLEARING = "gateway_clearing", _("Gateway clearing")


class LedgerTransaction(models.Model):
    """A balanced set of ledger entries: their amounts sum to zero per currency."""

    kind = models.CharField(max_length=32)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cart = models.ForeignKey(
        "orders.Cart", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.ForeignKey(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions"
    )
    memo = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    def get_kind_label(self) -> str:
        """Return the kind as the buyer reads it on the balance page."""
        labels = {"payment": _("Payment"), "refund": _("Refund"), "top_up": _("Balance charge")}
        return str(labels.get(self.kind, self.kind))


class LedgerEntry(models.Model):
    """One side of a ledger transaction; positive is a debit, negative a credit.

    `party_id` names the buyer (buyer_balance) or the shop (seller_payable).
    """

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.CharField(max_length=32, choices=Account.choices)
    party_id = models.BigIntegerField(null=True, blank=True)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        indexes = [models.Index(fields=["account", "party_id"], name="ledger_account_party")]

    def __str__(self) -> str:
        return f"{self.account}:{self.party_id} {self.amount_minor} {self.currency}"


class GatewayMode(models.TextChoices):
    OK = "ok", _("Answer at once")
    FAIL = "fail", _("Decline")
    TIMEOUT = "timeout", _("Time out without processing")
    LATE = "late", _("Process, but answer after the caller gave up")


class SimulatedGatewaySwitch(models.Model):
    """The switches of the built-in card processor (one row)."""

    mode = models.CharField(max_length=16, choices=GatewayMode.choices, default=GatewayMode.OK)
    #: After this many calls in `mode`, go back to answering normally (0 = stay).
    remaining = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"simulated gateway: {self.mode}"


class SimulatedGatewayRefund(models.Model):
    """What the simulated processor has done, by idempotency key (its own records)."""

    key = models.CharField(max_length=100, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    approved = models.BooleanField()
    reference = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.key}: {'approved' if self.approved else 'declined'}"


class ProviderEvent(models.Model):
    """A payment provider's notification, kept by its id so that a replay is handled once."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=64)
    #: What handling it did: "settled", "failed", "pending", "dispute", "ignored".
    outcome = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} {self.kind}"


class ReconciliationReport(models.Model):
    """The result of comparing claimdesk's refunds and ledger with the provider's list."""

    provider = models.CharField(max_length=32)
    since = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    #: Refunds compared on each side.
    checked_local = models.PositiveIntegerField(default=0)
    checked_provider = models.PositiveIntegerField(default=0)
    #: One dict per difference: kind, refund, reference, amounts, currency.
    differences = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"reconciliation {self.provider} since {self.since}: {len(self.differences)}"
