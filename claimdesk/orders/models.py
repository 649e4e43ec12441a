"""Items, carts, orders and the order history."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from claimdesk.core.money import Money


class ShippingStatus(models.IntegerChoices):
    """Qoo10's shipping status codes."""

    AWAITING_PAYMENT = 1, _("Awaiting payment")
    REQUESTED = 2, _("New order")
    CONFIRMED = 3, _("Awaiting shipment")
    ON_DELIVERY = 4, _("On delivery")
    DELIVERED = 5, pgettext_lazy("shipping status", "Delivered")


class DelayType(models.IntegerChoices):
    PREPARING = 1, _("Preparing the item")
    MADE_TO_ORDER = 2, _("Made to order")
    CUSTOMER_REQUEST = 3, _("Customer request")
    OTHER = 4, _("Other")


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Credit card")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CONVENIENCE_STORE = "convenience_store", _("Convenience store")
    BALANCE = "balance", _("Platform balance")


class Item(models.Model):
    """A listed item of a shop."""

    shop = models.ForeignKey("accounts.Shop", on_delete=models.PROTECT, related_name="items")
    item_code = models.CharField(_("item code"), max_length=20, unique=True)
    seller_item_code = models.CharField(_("seller item code"), max_length=50, blank=True)
    title = models.CharField(_("item name"), max_length=200)
    price_minor = models.BigIntegerField(_("price"))
    currency = models.CharField(max_length=3, default="JPY")
    returnable = models.BooleanField(default=True)

    class Meta:
        ordering = ["item_code"]

    def __str__(self) -> str:
        return f"{self.item_code} {self.title}"


class ItemOption(models.Model):
    """A purchasable option of an item (e.g. `Color:Black / Size:M`)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="options")
    option_code = models.CharField(_("option code"), max_length=50)
    text = models.CharField(_("option"), max_length=200)
    price_minor = models.BigIntegerField(_("option price"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "option_code"], name="unique_option_code"),
        ]

    def __str__(self) -> str:
        return self.text


class Cart(models.Model):
    """One checkout of one buyer at one shop; it shares a shipping fee and a payment."""

    cart_no = models.BigIntegerField(_("cart no"), unique=True)
    shop = models.ForeignKey("accounts.Shop", on_delete=models.PROTECT, related_name="carts")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="carts"
    )
    currency = models.CharField(max_length=3, default="JPY")
    shipping_fee_minor = models.BigIntegerField(_("shipping fee"), default=0)
    payment_method = models.CharField(
        _("payment method"), max_length=32, choices=PaymentMethod.choices
    )
    payment_fee_minor = models.BigIntegerField(_("payment fee"), default=0)
    payment_reference = models.CharField(max_length=64, blank=True)
    ordered_at = models.DateTimeField(_("order date"), default=timezone.now)
    paid_at = models.DateTimeField(_("payment date"), null=True, blank=True)
    payment_deadline = models.DateTimeField(null=True, blank=True)
    #: The marketplace's own id of the checkout (platform intake upserts by it).
    external_id = models.CharField(  # noqa: DJ001 - NULL: no marketplace id (unique among those given)
        _("marketplace id"), max_length=128, null=True, blank=True
    )

    class Meta:
        ordering = ["-cart_no"]
        # Partial: an index of the given ids only (and SQLite adds it without rebuilding the table).
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="cart_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return str(self.cart_no)

    @property
    def shipping_fee(self) -> Money:
        return Money(self.shipping_fee_minor, self.currency)

    @property
    def payment_fee(self) -> Money:
        return Money(self.payment_fee_minor, self.currency)


class OrderQuerySet(models.QuerySet["Order"]):
    def live(self) -> OrderQuerySet:
        """Orders that are not cancelled (they appear in the shipping lists)."""
        return self.filter(cancelled_at__isnull=True)

    def delayed(self, today: dt.date | None = None) -> OrderQuerySet:
        """Orders in 2 or 3 with a registered delay or a passed estimated ship date."""
        today = today or timezone.localdate()
        return self.live().filter(delayed_q(today))


def delayed_q(today: dt.date) -> Q:
    """Return the filter for the delayed condition of SPEC section 2."""
    return Q(shipping_status__in=[ShippingStatus.REQUESTED, ShippingStatus.CONFIRMED]) & (
        Q(delay_type__isnull=False) | Q(est_ship_date__lt=today)
    )


class Order(models.Model):
    """One item line bought by one buyer: the unit of cancel and return."""

    order_no = models.BigIntegerField(_("order no"), unique=True)
    cart = models.ForeignKey(Cart, on_delete=models.PROTECT, related_name="orders")
    shop = models.ForeignKey("accounts.Shop", on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="orders")
    item_code = models.CharField(_("item code"), max_length=20)
    seller_item_code = models.CharField(_("seller item code"), max_length=50, blank=True)
    item_title = models.CharField(_("item name"), max_length=200)
    option_text = models.CharField(_("option"), max_length=200, blank=True)
    option_code = models.CharField(_("option code"), max_length=50, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    currency = models.CharField(max_length=3, default="JPY")
    unit_price_minor = models.BigIntegerField(_("unit price"))
    option_price_minor = models.BigIntegerField(_("option price"), default=0)
    seller_discount_minor = models.BigIntegerField(_("seller discount"), default=0)
    cart_seller_discount_minor = models.BigIntegerField(_("cart discount (seller)"), default=0)
    cart_platform_discount_minor = models.BigIntegerField(_("cart discount (platform)"), default=0)
    total_minor = models.BigIntegerField(_("total"))
    commission_minor = models.BigIntegerField(_("commission"), default=0)
    settle_price_minor = models.BigIntegerField(_("settle price"))
    order_country = models.CharField(_("order country"), max_length=2, default="JP")
    receiver_name = models.CharField(_("receiver"), max_length=100)
    receiver_kana = models.CharField(_("receiver (kana)"), max_length=100, blank=True)
    receiver_phone = models.CharField(_("phone"), max_length=32, blank=True)
    receiver_mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    receiver_country = models.CharField(_("country"), max_length=2, default="JP")
    receiver_zip = models.CharField(_("postcode"), max_length=16)
    receiver_address = models.CharField(_("address"), max_length=300)
    receiver_address2 = models.CharField(_("address (building, room)"), max_length=300, blank=True)
    shipping_way = models.CharField(_("shipping way"), max_length=100, default="一般運送 (追跡-O)")
    partner_name = models.CharField(_("partner name"), max_length=100, blank=True)
    buyer_request = models.CharField(
        _("buyer's request"), max_length=300, blank=True, default="", db_default=""
    )
    shipping_status = models.PositiveSmallIntegerField(
        _("shipping status"),
        choices=ShippingStatus.choices,
        default=ShippingStatus.AWAITING_PAYMENT,
    )
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    tracking_no = models.CharField(_("tracking no"), max_length=100, blank=True)
    delay_type = models.PositiveSmallIntegerField(
        _("delay type"), choices=DelayType.choices, null=True, blank=True
    )
    delay_memo = models.TextField(_("delay memo"), blank=True)
    ordered_at = models.DateTimeField(_("order date"), default=timezone.now)
    paid_at = models.DateTimeField(_("payment date"), null=True, blank=True)
    est_ship_date = models.DateField(_("estimated ship date"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("ship date"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivery date"), null=True, blank=True)
    completed_at = models.DateTimeField(_("trade completed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(
        pgettext_lazy("order field", "cancelled"), null=True, blank=True
    )
    returned_at = models.DateTimeField(
        pgettext_lazy("order field", "returned"), null=True, blank=True
    )
    delay_reminded_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    #: The marketplace's own id of the order line (platform intake upserts by it).
    external_id = models.CharField(  # noqa: DJ001 - NULL: no marketplace id (unique among those given)
        _("marketplace id"), max_length=128, null=True, blank=True
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-order_no"]
        constraints = [
            # Partial: only the marketplace's ids are indexed, and adding it neither
            # rewrites a million-row table nor (on SQLite) rebuilds it without its triggers.
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="order_external_id_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["shop", "shipping_status", "-ordered_at"], name="order_shop_status"
            ),
            models.Index(fields=["buyer", "-ordered_at"], name="order_buyer_ordered"),
            # perf (bench/): the shipping page's boxes, counts and first pages of live orders
            # read from the index alone; the shop record reads its period's orders likewise.
            models.Index(
                fields=[
                    "shop",
                    "shipping_status",
                    "-ordered_at",
                    "-id",
                    "delay_type",
                    "est_ship_date",
                ],
                condition=Q(cancelled_at__isnull=True),
                name="order_live_box",
            ),
            models.Index(
                fields=["shop", "shipping_status", "-paid_at", "-id"],
                condition=Q(cancelled_at__isnull=True),
                name="order_live_paid",
            ),
            models.Index(
                fields=["shop", "-ordered_at", "paid_at", "shipped_at", "id"],
                name="order_shop_ordered_cov",
            ),
            # the delayed box newest first: its condition depends on the day, so the
            # orders that can be late are read in date order and tested from the index
            # (a bitmap of every late order, sorted, took 27 ms with 10,000 of them)
            models.Index(
                fields=["shop", "-ordered_at", "-id", "delay_type", "est_ship_date"],
                condition=Q(cancelled_at__isnull=True, shipping_status__in=[2, 3]),
                name="order_live_waiting",
            ),
        ]

    def __str__(self) -> str:
        return str(self.order_no)

    def money(self, minor: int) -> Money:
        """Return `minor` as Money in this order's currency."""
        return Money(minor, self.currency)

    @property
    def total(self) -> Money:
        return Money(self.total_minor, self.currency)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def is_delayed(self, today: dt.date | None = None) -> bool:
        """Return whether the order meets the delayed condition (SPEC section 2)."""
        if self.cancelled_at is not None:
            return False
        if self.shipping_status not in (ShippingStatus.REQUESTED, ShippingStatus.CONFIRMED):
            return False
        today = today or timezone.localdate()
        return self.delay_type is not None or (
            self.est_ship_date is not None and self.est_ship_date < today
        )


class OrderTally(models.Model):
    """Live orders per shop and shipping box key (see `orders.tally`).

    Written only by the database triggers on orders_order and by `compact()`;
    read by the shipping boxes. For statuses 2 and 3 the key keeps whether a
    delay is registered and the estimated ship date, which decide "delayed".
    """

    shop_id = models.BigIntegerField()
    shipping_status = models.PositiveSmallIntegerField()
    delay_registered = models.BooleanField()
    est_ship_date = models.DateField(null=True)
    n = models.IntegerField()
    merged = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["shop_id", "shipping_status", "delay_registered", "est_ship_date", "n"],
                name="ordertally_key",
            ),
            models.Index(fields=["id"], condition=Q(merged=False), name="ordertally_unmerged"),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.shipping_status} {self.est_ship_date}: {self.n}"


class OrderEvent(models.Model):
    """One line of an order's history: who did what, when, from which state to which.

    State-changing rows carry `field` (`shipping_status`, `cancelled`,
    `returned`, `completed`, `claim_status`) with `from_value` and `to_value`,
    so that the history replays to the current state. Refused money actions
    are written with `refused=True` and change nothing else.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    claim = models.ForeignKey(
        "claims.Claim", on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_role = models.CharField(max_length=16)
    kind = models.CharField(max_length=64)
    field = models.CharField(max_length=32, blank=True)
    from_value = models.CharField(max_length=32, blank=True)
    to_value = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=64, blank=True)
    memo = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    refused = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="event_order_time")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.from_value}->{self.to_value}"
