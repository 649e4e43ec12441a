"""Claims: cancel, return, exchange, non-receipt and unpaid-cancel cases on one order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .reasons import Fault

if TYPE_CHECKING:
    from django.db.models import OuterRef

    from claimdesk.orders.models import Order


class ClaimType(models.TextChoices):
    CANCEL = "cancel", _("Cancel")
    RETURN = "return", _("Return")
    EXCHANGE = "exchange", _("Exchange")
    NON_RECEIPT = "non_receipt", _("Not received")
    UNPAID_CANCEL = "unpaid_cancel", _("Unpaid cancel")


class ClaimStatus(models.IntegerChoices):
    """Qoo10's claim status codes, and ours (90+) beside them."""

    CANCEL_REQUESTED = 1, _("Cancel requested")
    CANCELLING = 2, _("Cancelling")
    CANCEL_COMPLETED = 3, _("Cancel completed")
    RETURN_REQUESTED = 4, _("Return requested")
    RETURNING = 5, _("Returning")
    RETURN_COMPLETED = 6, _("Return completed")
    EXCHANGE_REQUESTED = 11, _("Exchange requested")
    EXCHANGE_APPROVED = 12, _("Exchange approved")
    REDELIVERING = 13, _("Re-delivering")
    NON_RECEIPT_REFUNDED = 14, _("Not received, fully refunded")
    NON_RECEIPT_PARTIALLY_REFUNDED = 15, _("Not received, partly refunded")
    UNPAID_CANCELLED = 16, _("Unpaid order cancelled")
    NON_RECEIPT_REPORTED = 91, _("Not received, reported")
    EXCHANGE_COMPLETED = 92, _("Exchange / re-delivery completed")
    WITHDRAWN = 93, _("Withdrawn")
    REJECTED_SHIPPED = 94, _("Rejected: shipped")


TERMINAL_STATUSES = frozenset(
    {
        ClaimStatus.CANCEL_COMPLETED,
        ClaimStatus.RETURN_COMPLETED,
        ClaimStatus.NON_RECEIPT_REFUNDED,
        ClaimStatus.NON_RECEIPT_PARTIALLY_REFUNDED,
        ClaimStatus.UNPAID_CANCELLED,
        ClaimStatus.EXCHANGE_COMPLETED,
        ClaimStatus.WITHDRAWN,
        ClaimStatus.REJECTED_SHIPPED,
    }
)


class PickupMethod(models.TextChoices):
    SELLER_COLLECTS = "seller_collects", _("Seller collects")
    BUYER_SENDS = "buyer_sends", _("Buyer sends back")
    NOT_NEEDED = "not_needed", _("No return needed")


class NonReceiptDuty(models.TextChoices):
    SC = "SC", _("Nothing arrived")
    SL = "SL", _("Part of the quantity missing")


class NonReceiptSolution(models.TextChoices):
    ND = "ND", _("Re-deliver")
    NC = "NC", _("Refund")


class ClaimQuerySet(models.QuerySet["Claim"]):
    def open_for(self, order: Order | OuterRef | int) -> ClaimQuerySet:
        """The open claim on `order` (an order, its pk or an `OuterRef`): at most one."""
        return self.filter(order=order, is_open=True)


class Claim(models.Model):
    """A case on one order; at most one per order is open at a time."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="claims")
    shop = models.ForeignKey("accounts.Shop", on_delete=models.PROTECT, related_name="claims")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="claims"
    )
    type = models.CharField(_("claim type"), max_length=16, choices=ClaimType.choices)
    status = models.PositiveSmallIntegerField(_("status"), choices=ClaimStatus.choices)
    is_open = models.BooleanField(default=True)
    reason_code = models.CharField(_("reason"), max_length=32)
    fault = models.CharField(_("responsible party"), max_length=16, choices=Fault.choices)
    requested_by = models.CharField(max_length=16)
    buyer_memo = models.TextField(_("buyer's reason"), blank=True)
    seller_memo = models.TextField(_("seller memo"), blank=True)
    operator_memo = models.TextField(_("operator memo"), blank=True)
    pickup_method = models.CharField(
        _("return collection"), max_length=20, choices=PickupMethod.choices, blank=True
    )
    pickup_carrier = models.CharField(_("return carrier"), max_length=100, blank=True)
    return_address = models.JSONField(default=dict, blank=True)
    non_receipt_duty = models.CharField(max_length=2, choices=NonReceiptDuty.choices, blank=True)
    non_receipt_solution = models.CharField(
        max_length=2, choices=NonReceiptSolution.choices, blank=True
    )
    missing_quantity = models.PositiveIntegerField(null=True, blank=True)
    redelivery_date = models.DateField(null=True, blank=True)
    redelivery_carrier = models.CharField(max_length=100, blank=True)
    redelivery_tracking_no = models.CharField(max_length=100, blank=True)
    grant_payment_fee = models.BooleanField(default=False)
    return_shipping_deduction_minor = models.BigIntegerField(default=0)
    cancelled_without_notice = models.BooleanField(default=False)
    requested_at = models.DateTimeField(_("request date"), default=timezone.now)
    #: The order's `ordered_at`, copied when the claim is opened (an order's date never
    #: changes), so that the order-date period reads the claims alone. Null only for a
    #: claim written by code older than the column; the migration filled the rest.
    ordered_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("completion date"), null=True, blank=True)
    flagged_overdue_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    previous_status = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(is_open=True), name="one_open_claim_per_order"
            ),
        ]
        indexes = [
            # a status box's list in index order: with the id the LIMIT comes before the
            # joins (without it PostgreSQL sorted every claim of the box with its order)
            models.Index(
                fields=["shop", "status", "-requested_at", "-id"], name="claim_shop_status_req"
            ),
            models.Index(fields=["buyer", "-requested_at"], name="claim_buyer_requested"),
            # perf (bench/): the claims page's period lists and status counts, and the
            # home box counts, read from the index alone.
            models.Index(
                fields=["shop", "-requested_at", "-id", "status"],
                name="claim_shop_requested_cov",
            ),
            models.Index(
                fields=["shop", "-completed_at", "-id", "status"],
                name="claim_shop_completed",
            ),
            models.Index(
                fields=["shop", "status"], condition=Q(is_open=True), name="claim_shop_open"
            ),
            # the order-date period, as claim_shop_requested_cov serves the request date
            models.Index(
                fields=["shop", "-ordered_at", "-id", "status"], name="claim_shop_ordered_cov"
            ),
            # the home boxes' lists (open claims of any age, newest request first)
            models.Index(
                fields=["shop", "-requested_at", "-id", "status"],
                condition=Q(is_open=True),
                name="claim_shop_open_requested",
            ),
            # Claims still without the order's date (the sweep fills them): a tiny index.
            models.Index(
                fields=["id"], condition=Q(ordered_at__isnull=True), name="claim_ordered_at_missing"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.order_id} ({self.status})"


class TallyKind(models.IntegerChoices):
    """What a claim tally row counts by: a date of the claim, or being open."""

    REQUEST = 1  # requested_at's UTC day
    ORDER = 2  # ordered_at's UTC day
    COMPLETE = 3  # completed_at's UTC day
    OPEN = 4  # open claims, any age (no day)
    OPEN_REQUEST = 5  # open claims by requested_at's UTC day
    OPEN_ORDER = 6  # open claims by ordered_at's UTC day


class ClaimTally(models.Model):
    """Claims per shop, status and UTC day of one of their dates (see `claims.tally`).

    Written only by the database triggers on claims_claim and by `compact()`; read
    by the seller's status and home boxes.
    """

    shop_id = models.BigIntegerField()
    kind = models.PositiveSmallIntegerField(choices=TallyKind.choices)
    day = models.DateField(null=True)
    status = models.PositiveSmallIntegerField()
    n = models.IntegerField()
    merged = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["shop_id", "kind", "day", "status", "n"], name="claimtally_key"),
            models.Index(fields=["id"], condition=Q(merged=False), name="claimtally_unmerged"),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.get_kind_display()} {self.day} {self.status}: {self.n}"


class BulkJobStatus(models.TextChoices):
    PREVIEW = "preview", _("Checked, waiting for confirmation")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Finished")


class BulkCancelJob(models.Model):
    """One uploaded bulk-cancellation sheet: its dry run, then its processing."""

    shop = models.ForeignKey("accounts.Shop", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=BulkJobStatus.choices, default=BulkJobStatus.PREVIEW
    )
    confirm_without_notice = models.BooleanField(default=False)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "-created_at"], name="bulkjob_shop_created")]

    def __str__(self) -> str:
        return f"bulk cancel {self.pk} ({self.status})"


class BulkCancelRow(models.Model):
    """One row of a bulk-cancellation sheet: what the dry run said, and what happened."""

    job = models.ForeignKey(BulkCancelJob, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()
    order_no = models.CharField(max_length=40)
    reason = models.CharField(max_length=100, blank=True)
    reason_code = models.CharField(max_length=32, blank=True)
    memo = models.TextField(blank=True)
    plan = models.CharField(max_length=40)
    plan_message = models.TextField(blank=True)
    done = models.BooleanField(default=False)
    result = models.CharField(max_length=40, blank=True)
    result_message = models.TextField(blank=True)
    claim = models.ForeignKey(
        Claim, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["line"]
        constraints = [
            models.UniqueConstraint(fields=["job", "line"], name="one_bulk_row_per_line"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.line} {self.order_no} {self.plan}/{self.result}"
