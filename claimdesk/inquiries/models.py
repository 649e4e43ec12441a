"""Sellers' inquiries to the customer center (向Qoo10进行咨询) and their threads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claimdesk.messaging.models import note_attachment_storage


class InquiryCategory(models.TextChoices):
    """The seed's category tree, flattened; `CATEGORY_TREE` gives the groups."""

    JQSM_CLAIMS = "jqsm_claims", _("Claim management (return · exchange · not received)")
    WITHDRAW_COMPLAINT = "withdraw_complaint", _("Complaint withdrawal")
    FULL_CANCEL_REFUND = "full_cancel_refund", _("Order cancellation · refund (full)")
    BULK_CANCEL = "bulk_cancel", _("Bulk cancellation")
    OTHER = "other", _("Other")


#: (group label, categories) in the order the seed lists them.
CATEGORY_TREE: list[tuple[object, list[InquiryCategory]]] = [
    (_("J·QSM how-to"), [InquiryCategory.JQSM_CLAIMS, InquiryCategory.BULK_CANCEL]),
    (
        _("Refund · complaint withdrawal"),
        [InquiryCategory.WITHDRAW_COMPLAINT, InquiryCategory.FULL_CANCEL_REFUND],
    ),
    (_("Other"), [InquiryCategory.OTHER]),
]


def category_path(category: str) -> str:
    """Return the category as the seed writes it: `[group] > [category]`."""
    for group, members in CATEGORY_TREE:
        if category in members:
            return f"[{group}] > [{InquiryCategory(category).label}]"
    return str(category)


class InquiryStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING_SELLER = "waiting_seller", _("Waiting for the seller")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class Inquiry(models.Model):
    """One ticket of a shop to the customer center, with its thread."""

    shop = models.ForeignKey("accounts.Shop", on_delete=models.PROTECT, related_name="inquiries")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    category = models.CharField(_("category"), max_length=32, choices=InquiryCategory.choices)
    subject = models.CharField(_("subject"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=InquiryStatus.choices, default=InquiryStatus.OPEN
    )
    orders = models.ManyToManyField("orders.Order", blank=True, related_name="inquiries")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_inquiries",
    )
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_reference = models.CharField(_("error reference"), max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    #: When the seller last wrote (the SLA clock runs from here while it waits on us).
    waiting_since = models.DateTimeField(null=True, blank=True)
    first_answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        indexes = [
            models.Index(fields=["status", "waiting_since"], name="inquiry_queue"),
            models.Index(fields=["shop", "-updated_at"], name="inquiry_shop"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def category_path(self) -> str:
        return category_path(self.category)


class InquiryMessage(models.Model):
    """One message of an inquiry's thread: the seller's, an operator's, or an action line."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_role = models.CharField(max_length=16)
    body = models.TextField()
    #: The operator action this line records (`claim.operator_withdraw`…), if any.
    action = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.inquiry_id}: {self.body[:40]}"


class InquiryAttachment(models.Model):
    """A file (a screenshot, say) sent with an inquiry message; served to its parties only."""

    message = models.ForeignKey(
        InquiryMessage, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(storage=note_attachment_storage, max_length=255)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
