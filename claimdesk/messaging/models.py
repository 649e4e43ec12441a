"""Notes between the parties and the notifications sent to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NoteCategory(models.TextChoices):
    CANCEL_REFUND = "cancel_refund", _("Cancel / refund")
    SHIPPING = "shipping", _("Shipping")
    RETURN_EXCHANGE = "return_exchange", _("Return / exchange")
    ITEM = "item", _("Item")
    OTHER = "other", _("Other")


class Note(models.Model):
    """A message about an order, in the order's thread."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_role = models.CharField(max_length=16)
    recipient_role = models.CharField(max_length=16)
    category = models.CharField(max_length=32, choices=NoteCategory.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "category"], name="note_order_category")]

    def __str__(self) -> str:
        return self.title


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Notification(models.Model):
    """One mail to one person, written in the transaction that caused it."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    shop = models.ForeignKey(
        "accounts.Shop", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    email = models.EmailField()
    language = models.CharField(max_length=10)
    kind = models.CharField(max_length=48)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    claim = models.ForeignKey(
        "claims.Claim", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    context = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} → {self.email} ({self.status})"
