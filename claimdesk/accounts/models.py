"""Who uses claimdesk: shops and their staff, buyers, operators."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SELLER = "seller", _("Shop staff")
    BUYER = "buyer", _("Buyer")
    OPERATOR = "operator", _("Customer center operator")


class Shop(models.Model):
    """A seller on the marketplace (the tenant of the seller portal)."""

    code = models.CharField(_("shop code"), max_length=32, unique=True)
    name = models.CharField(_("shop name"), max_length=200)
    email = models.EmailField(_("contact mail"), blank=True)
    language = models.CharField(_("language"), max_length=10, default="ja")
    created_at = models.DateTimeField(default=timezone.now)
    #: The marketplace's own id for the shop (platform intake upserts by it).
    external_id = models.CharField(  # noqa: DJ001 - NULL: no marketplace id (unique among those given)
        _("marketplace id"), max_length=128, null=True, blank=True, unique=True
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("shop")
        verbose_name_plural = _("shops")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class User(AbstractUser):
    """A person who signs in: shop staff, a buyer or an operator."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.BUYER)
    shop = models.ForeignKey(
        Shop,
        verbose_name=_("shop"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    kana_name = models.CharField(_("name in kana"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, default="ja")
    time_zone = models.CharField(_("time zone"), max_length=40, default="Asia/Tokyo")
    #: The marketplace's own id for the person, unique per role: platform intake
    #: upserts buyers and staff by it, and OpenID Connect sign-in matches its
    #: subject claim to it (never the e-mail address alone).
    external_id = models.CharField(  # noqa: DJ001 - NULL: no marketplace id (unique per role among those given)
        _("marketplace id"), max_length=128, null=True, blank=True
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["role", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="one_user_per_role_external_id",
            ),
            models.CheckConstraint(
                condition=(models.Q(role="seller", shop__isnull=False) | ~models.Q(role="seller")),
                name="seller_staff_has_shop",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_seller(self) -> bool:
        return self.role == Role.SELLER

    @property
    def is_buyer(self) -> bool:
        return self.role == Role.BUYER

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR


class AddressKind(models.TextChoices):
    RETURN = "return", _("Return / exchange address")
    SHIPPING = "shipping", _("Shipping origin")


class ShopAddress(models.Model):
    """An entry of a shop's address book; one may be the default return address."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(max_length=16, choices=AddressKind.choices, default=AddressKind.RETURN)
    name = models.CharField(_("name"), max_length=100)
    zip_code = models.CharField(_("postcode"), max_length=16)
    address_front = models.CharField(_("address"), max_length=200)
    address_back = models.CharField(_("address (building, room)"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_default_return = models.BooleanField(_("default return/exchange address"), default=False)

    class Meta:
        verbose_name = _("shop address")
        verbose_name_plural = _("shop addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["shop"],
                condition=models.Q(is_default_return=True),
                name="one_default_return_address_per_shop",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.zip_code} {self.address_front}"


class ShopPenalty(models.Model):
    """Delay points given to a shop by the platform timers."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="penalties")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, null=True, blank=True)
    kind = models.CharField(max_length=32, default="shipping_delay")
    points = models.PositiveIntegerField()
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="one_penalty_per_order_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.points} ({self.kind})"


class ShopRestriction(models.Model):
    """A sales restriction on a shop, imposed by a timer or an operator."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="restrictions")
    reason = models.CharField(max_length=255)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    imposed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    # The late order that made the timer impose it (none when an operator did).
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lifted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: Why it was lifted (the operator's reason; the timer's own words when it ended).
    lift_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.reason} until {self.ends_at:%Y-%m-%d}"

    def is_active(self, at: dt.datetime | None = None) -> bool:
        """Return whether the restriction holds at `at` (now by default)."""
        now = at or timezone.now()
        return self.lifted_at is None and self.starts_at <= now < self.ends_at


class ApiTokenKind(models.TextChoices):
    REST = "rest", _("REST API token")
    QAPI = "qapi", _("QAPI seller key")
    PLATFORM = "platform", _("Platform token")


class ApiToken(models.Model):
    """A key for the REST API or the QAPI endpoint; only its hash is stored.

    A shop's token (`rest`, `qapi`) acts as the staff member who created it
    (`user`): services see that person as the actor, and refusals are worded
    in their language. A platform token (`platform`, no shop) belongs to the
    marketplace itself and opens only the /api/v1/platform routes; its `user`
    is the operator who created it.
    """

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="api_tokens", null=True, blank=True
    )
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    kind = models.CharField(max_length=8, choices=ApiTokenKind.choices, default=ApiTokenKind.REST)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    can_write = models.BooleanField(_("may change data"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scopes(self) -> list[str]:
        if self.kind == ApiTokenKind.PLATFORM:
            return ["platform"]
        return ["read", "write"] if self.can_write else ["read"]

    def is_expired(self, at: dt.datetime | None = None) -> bool:
        """Return whether the token's lifetime is over at `at` (now by default)."""
        return self.expires_at is not None and self.expires_at <= (at or timezone.now())


class ApiIdempotencyKey(models.Model):
    """The first answer to a state-changing API call, replayed for a repeated key.

    The row is inserted before the call runs, so that of two concurrent calls
    with the same key exactly one runs (the unique constraint decides).
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="one_idempotency_key_per_token"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.token_id}:{self.key}"
