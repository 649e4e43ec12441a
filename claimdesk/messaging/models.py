"""Notes between the parties and the notifications sent to them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class NoteCategory(models.TextChoices):
    CANCEL_REFUND = "cancel_refund", _("Cancel / refund")
    SHIPPING = "shipping", _("Shipping")
    RETURN_EXCHANGE = "return_exchange", _("Return / exchange")
    ITEM = "item", _("Item")
    OTHER = "other", _("Other")


class NoteParty(models.TextChoices):
    """Who writes or receives a note (the author_role / recipient_role values)."""

    BUYER = "buyer", _("Buyer")
    SELLER = "seller", _("Shop")
    CUSTOMER_CENTER = "customer_center", _("Customer center")


class Note(models.Model):
    """A message about an order, in the order's thread."""

    #: No index of its own: note_order_category starts with the order.
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="notes", db_index=False
    )
    #: The order's shop, copied when the note is written, so that a shop's unread notes
    #: are read without joining every order of the shop. Null only for a note written
    #: by code older than the column (a rolling upgrade); the sweep fills those.
    shop = models.ForeignKey(
        "accounts.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        editable=False,
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_role = models.CharField(max_length=16)
    recipient_role = models.CharField(max_length=16)
    category = models.CharField(max_length=32, choices=NoteCategory.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    by_mail = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "category"], name="note_order_category"),
            models.Index(fields=["recipient_role", "read_at"], name="note_recipient_unread"),
            # the seller home's unread notes, newest first
            models.Index(
                fields=["shop", "-created_at"],
                condition=Q(recipient_role="seller", read_at__isnull=True),
                name="note_shop_unread_seller",
            ),
            models.Index(fields=["id"], condition=Q(shop__isnull=True), name="note_shop_missing"),
        ]

    def __str__(self) -> str:
        return self.title


def note_attachment_storage() -> Any:
    """Return the storage of note attachments (resolved lazily from settings)."""
    from .storage import note_storage

    return note_storage


class NoteAttachment(models.Model):
    """A file sent with a note; served only to the parties of the order."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(storage=note_attachment_storage, max_length=255)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class DeliveryChannel(models.TextChoices):
    NOTE = "note", _("note")
    MAIL = "mail", _("mail")
    PUSH = "push", _("push")


class DeliveryStatus(models.TextChoices):
    NONE = "none", _("Nothing to send")
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    PARTIAL = "partial", _("Partly failed")
    FAILED = "failed", _("Failed")


class NoteDelivery(models.Model):
    """How one channel delivered one note: counts of sent and failed messages."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=DeliveryChannel.choices)
    total = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    last_error = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["note", "id"]
        constraints = [
            models.UniqueConstraint(fields=["note", "channel"], name="note_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.sent} sent, {self.failed} failed"

    @property
    def queued(self) -> int:
        return max(self.total - self.sent - self.failed, 0)


class PushPlatform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"
    WEB = "web", _("Web")


class PushDevice(models.Model):
    """A phone or browser registered to receive push messages for a user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices"
    )
    token = models.CharField(max_length=255, unique=True)
    platform = models.CharField(max_length=16, choices=PushPlatform.choices)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "id"]

    def __str__(self) -> str:
        return f"{self.platform}:{self.token[:8]}…"


class PushAttempt(models.Model):
    """One push of one note to one device, kept so that failed pushes can be resent."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="push_attempts")
    device = models.ForeignKey(PushDevice, on_delete=models.CASCADE, related_name="+")
    ok = models.BooleanField(default=False)
    error = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["note", "device"], name="push_attempt_once")]

    def __str__(self) -> str:
        return f"push {self.note_id}→{self.device_id}: {'ok' if self.ok else self.error}"


class SavedReply(models.Model):
    """A shop's reply template (常用的回复): a title and body per language."""

    shop = models.ForeignKey(
        "accounts.Shop", on_delete=models.CASCADE, related_name="saved_replies"
    )
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=32, choices=NoteCategory.choices)
    #: {"ja": {"title": ..., "body": ...}, "zh-hans": ..., "en": ..., "ko": ...}
    texts = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["shop", "name", "id"]

    def __str__(self) -> str:
        return self.name


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
    note = models.ForeignKey(
        Note, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
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
    #: The worker sending it now (claimed before the mail leaves, cleared with the outcome).
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} → {self.email} ({self.status})"


class WebhookEvent(models.TextChoices):
    """The events a shop's (or the marketplace's) webhook endpoints may subscribe to."""

    ORDER_STATUS_CHANGED = "order.status_changed", _("Order status changed")
    ORDER_CANCELLED = "order.cancelled", _("Order cancelled")
    RETURN_COMPLETED = "return.completed", _("Return completed")
    CLAIM_CREATED = "claim.created", _("Claim created")
    CLAIM_STATUS_CHANGED = "claim.status_changed", _("Claim status changed")
    REFUND_SUCCEEDED = "refund.succeeded", _("Refund succeeded")
    REFUND_FAILED = "refund.failed", _("Refund failed")
    NOTE_RECEIVED = "note.received", _("Note received")


class WebhookEndpoint(models.Model):
    """A URL that receives signed POSTs of the events it subscribed to.

    A shop's endpoint hears its own shop's events; the marketplace's own
    endpoints (no shop, created with a platform token or in the console) hear
    every shop's.
    """

    shop = models.ForeignKey(
        "accounts.Shop",
        on_delete=models.CASCADE,
        related_name="webhooks",
        null=True,
        blank=True,
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(max_length=100)
    events = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", pgettext_lazy("webhook delivery", "Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one endpoint: delivered once, retried with back-off until it is."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    #: The worker posting it now (claimed before the POST, cleared with the outcome).
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="one_delivery_per_event_endpoint"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: the delivery log shown in the settings page."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    manual = models.BooleanField(default=False)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.status_code or self.error}"
