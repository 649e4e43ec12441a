"""Changes to a shop's record: delay points and sales restrictions (SPEC section 9).

The rows are the accounts app's (`ShopPenalty`, `ShopRestriction`); each
change also writes the order's history and mails the shop, hence here.

The platform timers call these with `actor=None` (the system); an operator
may call them from the console. Each writes the late order's history when
there is one, and queues the mail to the shop in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from claimdesk.accounts.models import Shop, ShopPenalty, ShopRestriction
from claimdesk.accounts.roles import require_role
from claimdesk.accounts.selectors import SHIPPING_DELAY
from claimdesk.core.conf import setting
from claimdesk.core.errors import Conflict, InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.messaging.services import notify
from claimdesk.orders.history import record_event

if TYPE_CHECKING:
    from claimdesk.accounts.models import User
    from claimdesk.orders.models import Order

#: The mail each penalty kind sends (kinds without a mail send none).
PENALTY_MAILS = {SHIPPING_DELAY: "delay_points"}


def _clean_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text or len(text) > 255:
        raise InvalidInput(
            "restriction_reason_invalid",
            _("Give a reason of 1 to 255 characters."),
            {"field": "reason"},
        )
    return text


def _history(order: Order | None, *, actor: User | None, kind: str, data: dict[str, Any]) -> None:
    """Write the order's history line, when the change is about an order.

    Without an order (an operator's restriction) the ShopRestriction row is
    the record: who imposed or lifted it, when and why; the console's shop
    page and the seller's record page list it.
    """
    if order is None:
        return
    record_event(order, actor=actor, kind=kind, data=data)


def shop_penalty_add(
    *,
    actor: User | None,
    shop: Shop,
    points: int,
    kind: str = SHIPPING_DELAY,
    order: Order | None = None,
    reason: str = "",
    context: dict[str, Any] | None = None,
) -> ShopPenalty:
    """Give `shop` penalty points, at most once per order and kind."""
    require_role(actor, "operator", "system")
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidInput("points_invalid", _("Enter a whole number of points above zero."))
    if order is not None and order.shop_id != shop.pk:
        raise InvalidInput("order_of_other_shop", _("This order belongs to another shop."))
    try:
        with transaction.atomic():
            penalty = ShopPenalty.objects.create(
                shop=shop, order=order, kind=kind, points=points, reason=reason[:255]
            )
            _history(
                order,
                actor=actor,
                kind="shop.penalty_added",
                data={"penalty": penalty.pk, "kind": kind, "points": points},
            )
            mail = PENALTY_MAILS.get(kind)
            if mail is not None:
                notify(
                    shop=shop,
                    kind=mail,
                    order=order,
                    context={"points": points, **(context or {})},
                )
    except IntegrityError as exc:
        raise Conflict(
            "penalty_exists",
            _("These points were already given for this order."),
            {"kind": kind},
        ) from exc
    return penalty


def shop_restriction_impose(
    *,
    actor: User | None,
    shop: Shop,
    reason: str,
    days: int | None = None,
    order: Order | None = None,
    mail_reason: str = "",
) -> ShopRestriction:
    """Restrict `shop`'s sales for `days` (RESTRICTION_DAYS by default) unless one holds.

    `mail_reason` is the reason as the shop should read it in the mail
    (already in its language); `reason` is what the record keeps.
    """
    require_role(actor, "operator", "system")
    text = _clean_reason(reason)
    days = setting("RESTRICTION_DAYS") if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise InvalidInput("days_invalid", _("Enter a whole number of days above zero."))
    with transaction.atomic():
        # One row lock per shop serialises two impositions on the same shop.
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        now = timezone.now()
        active = ShopRestriction.objects.filter(
            shop=shop, lifted_at__isnull=True, starts_at__lte=now, ends_at__gt=now
        ).first()
        if active is not None:
            raise Conflict(
                "restriction_active",
                _("This shop is already restricted until %(ends_at)s.")
                % {"ends_at": timezone.localtime(active.ends_at).date().isoformat()},
                {"restriction": active.pk},
            )
        restriction = ShopRestriction.objects.create(
            shop=shop,
            reason=text,
            starts_at=now,
            ends_at=now + dt.timedelta(days=days),
            imposed_by=actor,
            order=order,
        )
        ends_on = timezone.localtime(restriction.ends_at).date().isoformat()
        _history(
            order,
            actor=actor,
            kind="shop.restricted",
            data={"restriction": restriction.pk, "ends_at": ends_on, "reason": text},
        )
        notify(
            shop=shop,
            kind="restriction_imposed",
            order=order,
            context={"ends_at": ends_on, "reason": mail_reason or text},
        )
    return restriction


def shop_restriction_lift(
    *, actor: User | None, restriction: ShopRestriction, reason: str = ""
) -> ShopRestriction:
    """Lift a restriction: when it ends (the timer) or early (an operator).

    An operator's `reason` is kept on the restriction, in the history and in
    the mail to the shop.
    """
    require_role(actor, "operator", "system")
    text = _clean_reason(reason) if (reason or "").strip() else ""
    with transaction.atomic():
        restriction = (
            ShopRestriction.objects.select_for_update(of=("self",))
            .select_related("shop", "order")
            .get(pk=restriction.pk)
        )
        if restriction.lifted_at is not None:
            raise Conflict("restriction_lifted", _("This restriction was already lifted."))
        restriction.lifted_at = timezone.now()
        restriction.lifted_by = actor
        restriction.lift_reason = text
        restriction.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        _history(
            restriction.order,
            actor=actor,
            kind="shop.restriction_lifted",
            data={"restriction": restriction.pk, "reason": text},
        )
        if text:
            notify(
                shop=restriction.shop,
                kind="restriction_lifted_by_operator",
                order=restriction.order,
                context={"reason": text},
            )
        else:
            notify(shop=restriction.shop, kind="restriction_lifted", order=restriction.order)
    return restriction
