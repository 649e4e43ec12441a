"""The marketplace's data coming in: shops, people, carts with their orders, order events.

Every function takes a batch and answers one `RowResult` per row, in the
order sent: a refused row changes nothing and says why, the other rows go on.
Rows are upserted by the marketplace's own ids (`external_id`), so sending
the same batch twice changes nothing the second time.

Carts are written in bulk (a few statements for a whole batch). A batch holds
locks on its carts', orders' and items' ids from its first read to its commit
(`_hold`), so that two clients sending the same batch at once create each cart
once (the second sees the first's carts), while batches of other carts are
written side by side.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from pydantic import BaseModel

from claimdesk.accounts.models import AddressKind, Role, Shop, ShopAddress, User
from claimdesk.accounts.roles import require_role
from claimdesk.claims.cancel import claim_cancel_unpaid
from claimdesk.core.bulk import insert_rows
from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError, InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.ids import next_number
from claimdesk.core.money import Money
from claimdesk.orders.history import history_batch, record_event
from claimdesk.orders.models import Cart, Item, Order, ShippingStatus
from claimdesk.orders.services import (
    order_complete_trade,
    order_mark_delivered,
    order_ship,
)
from claimdesk.payments.services import fee_from_table, fee_table, payments_post_received

from .checkout import (
    PAID_AT_ONCE,
    Amounts,
    Receiver,
    cart_mark_paid,
    new_order,
    order_amounts,
    placed_event,
)
from .schemas import CartIn, EventIn, PersonIn, ShopIn, StaffIn

if TYPE_CHECKING:
    from django.utils.functional import Promise


#: What may become of a row.
STATUSES = ("created", "updated", "unchanged", "refused")


@dataclass
class RowResult:
    """What became of one row: created, updated, unchanged or refused (with why)."""

    index: int
    external_id: str | None
    status: str
    code: str = ""
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return self.status == "refused"


def _refused(index: int, external_id: str | None, error: DomainError) -> RowResult:
    return RowResult(
        index, external_id, "refused", error.code, str(error.message), dict(error.data)
    )


def _require_platform(actor: User | None) -> None:
    require_role(actor, "operator", "system")


def _each[Row: BaseModel](
    rows: Sequence[Row],
    key: Callable[[Row], str | None],
    act: Callable[[int, Row], RowResult],
) -> list[RowResult]:
    """Run `act` for each row in its own savepoint; a refusal rolls back that row only."""
    results: list[RowResult] = []
    for index, row in enumerate(rows):
        try:
            with transaction.atomic():
                results.append(act(index, row))
        except DomainError as exc:
            results.append(_refused(index, key(row), exc))
    return results


def _changed(obj: object, values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if getattr(obj, name) != value]


def _save_changes(obj: Any, values: dict[str, Any], *, created: bool) -> str:
    names = _changed(obj, values)
    for name in names:
        setattr(obj, name, values[name])
    if created:
        obj.save(force_insert=True)
        return "created"
    if not names:
        return "unchanged"
    obj.save(update_fields=names)
    return "updated"


# --- people -------------------------------------------------------------------------


def shops_upsert(*, actor: User | None, rows: Sequence[ShopIn]) -> list[RowResult]:
    """Create or update shops by their external id, with their default return address."""
    _require_platform(actor)
    with transaction.atomic():
        return _each(rows, lambda r: r.external_id, _shop_upsert)


def _shop_upsert(index: int, row: ShopIn) -> RowResult:
    shop = Shop.objects.select_for_update().filter(external_id=row.external_id).first()
    created = shop is None
    code = row.code or row.external_id[:32]
    if created:
        shop = Shop(external_id=row.external_id)
    assert shop is not None  # noqa: S101 - narrowed above
    if (created or shop.code != code) and Shop.objects.filter(code=code).exists():
        raise InvalidInput(
            "shop_code_taken",
            _("Shop code %(code)s belongs to another shop. Send another code.") % {"code": code},
            {"code": code},
        )
    status = _save_changes(
        shop,
        {"code": code, "name": row.name, "email": row.email, "language": row.language},
        created=created,
    )
    if row.return_address is not None and _return_address(shop, row) and status == "unchanged":
        status = "updated"
    return RowResult(index, row.external_id, status, data={"shop_code": shop.code})


def _return_address(shop: Shop, row: ShopIn) -> bool:
    """Make the row's return address the shop's default; return whether anything changed."""
    given = row.return_address
    assert given is not None  # noqa: S101 - checked by the caller
    values = {
        "name": given.name,
        "zip_code": given.zip_code,
        "address_front": given.address,
        "address_back": given.address2,
        "phone": given.phone,
    }
    current = ShopAddress.objects.filter(shop=shop, is_default_return=True).first()
    if current is None:
        ShopAddress.objects.create(
            shop=shop, kind=AddressKind.RETURN, is_default_return=True, **values
        )
        return True
    return _save_changes(current, values, created=False) == "updated"


def _person_values(user: User, row: PersonIn) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if row.login and row.login != user.username:
        values["username"] = _username(str(user.role), row.external_id, row.login)
    return values | {
        "display_name": row.display_name,
        "kana_name": row.kana_name,
        "email": row.email,
        "language": row.language,
        "is_active": row.active,
    }


def _person(role: str, row: PersonIn) -> tuple[User, bool]:
    user = User.objects.select_for_update().filter(role=role, external_id=row.external_id).first()
    if user is not None:
        return user, False
    # Without a password: such a person signs in through the marketplace's identity
    # provider (or gets a password from an operator where there is none).
    return User(
        username=_username(role, row.external_id, row.login),
        role=role,
        external_id=row.external_id,
        password=make_password(None),
    ), True


def _username(role: str, external_id: str, login: str | None) -> str:
    prefix = {Role.BUYER: "mp-b-", Role.SELLER: "mp-s-", Role.OPERATOR: "mp-o-"}[Role(role)]
    name = login or f"{prefix}{external_id}"[:150]
    if User.objects.filter(username=name).exists():
        raise InvalidInput(
            "username_taken",
            _("The login %(name)s derived from this id is taken; send another id.")
            % {"name": name},
        )
    return name


def buyers_upsert(*, actor: User | None, rows: Sequence[PersonIn]) -> list[RowResult]:
    """Create or update buyers by their external id."""
    _require_platform(actor)

    def act(index: int, row: PersonIn) -> RowResult:
        user, created = _person(Role.BUYER, row)
        status = _save_changes(user, _person_values(user, row), created=created)
        return RowResult(index, row.external_id, status, data={"username": user.username})

    with transaction.atomic():
        return _each(rows, lambda r: r.external_id, act)


def staff_upsert(*, actor: User | None, rows: Sequence[StaffIn]) -> list[RowResult]:
    """Create or update shop staff and customer-center operators by their external id."""
    _require_platform(actor)

    def act(index: int, row: StaffIn) -> RowResult:
        shop_id = None
        if row.role == "seller":
            shop = Shop.objects.filter(external_id=row.shop).first() if row.shop else None
            if shop is None:
                raise NotFound(
                    "shop_unknown",
                    _("No shop has the id %(shop)s. Send the shop first (POST /platform/shops).")
                    % {"shop": row.shop or "—"},
                )
            shop_id = shop.pk
        user, created = _person(row.role, row)
        values = _person_values(user, row) | {"shop_id": shop_id}
        status = _save_changes(user, values, created=created)
        return RowResult(index, row.external_id, status, data={"username": user.username})

    with transaction.atomic():
        return _each(rows, lambda r: r.external_id, act)


# --- carts and orders ---------------------------------------------------------------


@dataclass
class _Lookups:
    """What a batch of carts refers to, read in one query per table."""

    shops: dict[str, Shop]
    buyers: dict[str, User]
    carts: dict[str, Cart]
    order_carts: dict[str, str]
    items: dict[str, Item]
    fees: list[tuple[str, str, int, int]]


def _lookups(rows: Sequence[CartIn]) -> _Lookups:
    order_ids = [o.external_id for r in rows for o in r.orders]
    return _Lookups(
        shops={
            s.external_id: s
            for s in Shop.objects.filter(external_id__in={r.shop for r in rows})
            if s.external_id
        },
        buyers={
            u.external_id: u
            for u in User.objects.filter(
                role=Role.BUYER, external_id__in={r.buyer for r in rows}
            ).only("id", "external_id", "is_active")
            if u.external_id
        },
        carts={
            c.external_id: c
            for c in Cart.objects.filter(external_id__in={r.external_id for r in rows})
            .select_related("shop", "buyer")
            .prefetch_related("orders")
            if c.external_id
        },
        order_carts={
            str(order): str(cart)
            for order, cart in Order.objects.filter(external_id__in=order_ids).values_list(
                "external_id", "cart__external_id"
            )
        },
        items={
            i.item_code: i
            for i in Item.objects.filter(
                item_code__in={o.item.code for r in rows for o in r.orders}
            )
        },
        fees=fee_table(),
    )


def carts_ingest(*, actor: User | None, rows: Sequence[CartIn]) -> list[RowResult]:
    """Create or update carts and their orders by external id; one result per cart row."""
    _require_platform(actor)
    numbers = _Numbers.reserve(rows)
    results: dict[int, RowResult] = {}
    with transaction.atomic():
        _hold(rows)
        found = _lookups(rows)
        fresh: list[tuple[int, CartIn]] = []
        seen_carts: set[str] = set()
        seen_orders: set[str] = set()
        for index, row in enumerate(rows):
            try:
                _check_batch_duplicates(row, seen_carts, seen_orders)
                existing = found.carts.get(row.external_id)
                if existing is not None and _same(row, existing):
                    results[index] = _cart_result(index, row, existing, "unchanged")
                elif existing is not None:
                    with transaction.atomic():
                        results[index] = _cart_update(index, row, existing)
                else:
                    _check_new_cart(row, found)
                    fresh.append((index, row))
            except DomainError as exc:
                results[index] = _refused(index, row.external_id, exc)
        results.update(_carts_create(fresh, found, actor=actor, numbers=numbers))
    return [results[i] for i in range(len(rows))]


@dataclass
class _Numbers:
    """Cart and order numbers reserved for a batch before its transaction begins.

    Reserved in their own short transactions (outside any other), the
    counters' rows are not held while the batch is written, so batches of
    different carts are written side by side. A batch that turns out to need
    fewer (another batch sent the same carts first) leaves a gap, as a
    sequence does.
    """

    cart: int
    carts: int
    order: int
    orders: int

    @classmethod
    def reserve(cls, rows: Sequence[CartIn]) -> _Numbers:
        known = set(
            Cart.objects.filter(external_id__in={r.external_id for r in rows}).values_list(
                "external_id", flat=True
            )
        )
        new = [r for r in rows if r.external_id not in known]
        lines = sum(len(r.orders) for r in new)
        return cls(
            cart=next_number("cart_no", len(new)) if new else 0,
            carts=len(new),
            order=next_number("order_no", lines) if lines else 0,
            orders=lines,
        )

    def take(self, carts: int, orders: int) -> tuple[int, int]:
        """Return the first cart and order number for `carts` carts of `orders` lines."""
        if carts > self.carts or orders > self.orders:  # never fewer known than before
            return next_number("cart_no", carts), next_number("order_no", orders)
        return self.cart, self.order


def _hold(rows: Sequence[CartIn]) -> None:
    """Lock the batch's cart, order and item ids until commit (PostgreSQL).

    Two batches naming the same cart, order or new item wait for each other,
    so the second sees what the first wrote; batches of different carts go
    on side by side. SQLite has one writer at a time anyway.
    """
    if connection.vendor != "postgresql":
        return
    names = {f"c:{r.external_id}" for r in rows}
    names |= {f"o:{o.external_id}" for r in rows for o in r.orders}
    # Only items not there yet: a known item is never written again, and locking the
    # popular ones would line every batch up behind the others.
    codes = {o.item.code for r in rows for o in r.orders}
    codes -= set(Item.objects.filter(item_code__in=codes).values_list("item_code", flat=True))
    names |= {f"i:{code}" for code in codes}
    keys = sorted(
        {
            int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(), "big", signed=True)
            for n in names
        }
    )
    with connection.cursor() as cursor:
        # One statement; unnest keeps the sorted order, so two batches never wait in a circle.
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", [keys]
        )


def _check_batch_duplicates(row: CartIn, carts: set[str], orders: set[str]) -> None:
    if row.external_id in carts:
        raise InvalidInput(
            "duplicate_in_batch",
            _("Cart %(id)s appears twice in this batch; send it once.") % {"id": row.external_id},
        )
    carts.add(row.external_id)
    for line in row.orders:
        if line.external_id in orders:
            raise InvalidInput(
                "duplicate_in_batch",
                _("Order %(id)s appears twice in this batch; send it once.")
                % {"id": line.external_id},
            )
        orders.add(line.external_id)


def _check_new_cart(row: CartIn, found: _Lookups) -> None:
    shop = found.shops.get(row.shop)
    if shop is None:
        raise NotFound(
            "shop_unknown",
            _("No shop has the id %(shop)s. Send the shop first (POST /platform/shops).")
            % {"shop": row.shop},
            {"shop": row.shop},
        )
    buyer = found.buyers.get(row.buyer)
    if buyer is None:
        raise NotFound(
            "buyer_unknown",
            _("No buyer has the id %(buyer)s. Send the buyer first (POST /platform/buyers).")
            % {"buyer": row.buyer},
            {"buyer": row.buyer},
        )
    for line in row.orders:
        other_cart = found.order_carts.get(line.external_id)
        if other_cart is not None:
            raise InvalidInput(
                "order_in_other_cart",
                _("Order %(order)s already belongs to cart %(cart)s; an order cannot move.")
                % {"order": line.external_id, "cart": other_cart},
            )
        item = found.items.get(line.item.code)
        if item is not None and item.shop_id != shop.pk:
            raise InvalidInput(
                "item_code_taken",
                _("Item code %(code)s belongs to another shop; item codes are unique.")
                % {"code": line.item.code},
            )
        if item is not None and item.currency != row.currency:
            raise InvalidInput(
                "currency_mismatch",
                _("Item %(code)s is sold in %(item)s; this cart is in %(cart)s.")
                % {"code": line.item.code, "item": item.currency, "cart": row.currency},
                {"item_currency": item.currency, "cart_currency": row.currency},
            )
    if row.paid_at is not None and row.paid_at < row.ordered_at:
        raise InvalidInput("paid_before_ordered", _("paid_at is before ordered_at."))


def _receiver(row: CartIn) -> Receiver:
    r = row.receiver
    return Receiver(
        name=r.name,
        zip_code=r.zip_code,
        address=r.address,
        kana=r.kana,
        phone=r.phone,
        address2=r.address2,
        country=r.country,
    )


def _new_cart(row: CartIn, found: _Lookups, cart_no: int) -> Cart:
    paid_at = row.paid_at
    if paid_at is None and row.payment_method in PAID_AT_ONCE:
        paid_at = row.ordered_at
    deadline = row.payment_deadline
    if paid_at is None and deadline is None:
        deadline = row.ordered_at + dt.timedelta(days=setting("PAYMENT_DEADLINE_DAYS"))
    return Cart(
        cart_no=cart_no,
        external_id=row.external_id,
        shop=found.shops[row.shop],
        buyer_id=found.buyers[row.buyer].pk,
        currency=row.currency,
        shipping_fee_minor=row.shipping_fee_minor,
        payment_method=row.payment_method,
        ordered_at=row.ordered_at,
        paid_at=paid_at,
        payment_deadline=None if paid_at is not None else deadline,
        payment_reference=row.external_id[:64],
    )


def _items_for(fresh: Iterable[tuple[int, CartIn]], found: _Lookups) -> None:
    """Create the items the batch names that claimdesk does not know yet."""
    new: dict[str, Item] = {}
    for _index, row in fresh:
        for line in row.orders:
            if line.item.code not in found.items and line.item.code not in new:
                new[line.item.code] = Item(
                    shop=found.shops[row.shop],
                    item_code=line.item.code,
                    seller_item_code=line.item.seller_code,
                    title=line.item.name,
                    price_minor=line.unit_price_minor,
                    currency=row.currency,
                    returnable=line.item.returnable,
                )
    if new:
        for item in Item.objects.bulk_create(list(new.values())):
            found.items[item.item_code] = item


def _carts_create(
    fresh: list[tuple[int, CartIn]], found: _Lookups, *, actor: User | None, numbers: _Numbers
) -> dict[int, RowResult]:
    results: dict[int, RowResult] = {}
    if not fresh:
        return results
    # Price every row first: a row whose discounts exceed its price is refused alone.
    priced: list[tuple[int, CartIn]] = []
    fees: list[int] = []
    prices: list[list[Amounts]] = []
    for index, row in fresh:
        try:
            amounts = [_line_amounts(row, line) for line in row.orders]
        except DomainError as exc:
            results[index] = _refused(index, row.external_id, exc)
            continue
        goods = sum((a.total for a in amounts), Money.zero(row.currency))
        priced.append((index, row))
        prices.append(amounts)
        fees.append(
            row.payment_fee_minor
            if row.payment_fee_minor is not None
            else fee_from_table(
                found.fees,
                method=row.payment_method,
                amount=goods + Money(row.shipping_fee_minor, row.currency),
            ).minor
        )
    if not priced:
        return results
    _items_for(priced, found)
    first_cart, first_order = numbers.take(len(priced), sum(len(r.orders) for _i, r in priced))
    carts = [_new_cart(row, found, first_cart + n) for n, (_i, row) in enumerate(priced)]
    for cart, fee in zip(carts, fees, strict=True):
        cart.payment_fee_minor = fee
    insert_rows(Cart, carts)
    orders: list[Order] = []
    per_cart: list[list[Order]] = []
    order_no = first_order
    for cart, (_index, row), amounts in zip(carts, priced, prices, strict=True):
        lines = []
        for line, price in zip(row.orders, amounts, strict=True):
            order = new_order(
                cart,
                order_no=order_no,
                item=found.items[line.item.code],
                option_code=line.option.code if line.option else "",
                option_text=line.option.text if line.option else "",
                option_price_minor=line.option.price_minor if line.option else 0,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                seller_discount_minor=line.seller_discount_minor,
                cart_seller_discount_minor=line.cart_seller_discount_minor,
                cart_platform_discount_minor=line.cart_platform_discount_minor,
                receiver=_receiver(row),
                shipping_way=row.shipping_way,
                buyer_request=row.buyer_request,
                external_id=line.external_id,
                amounts=price,
            )
            order_no += 1
            lines.append(order)
        orders += lines
        per_cart.append(lines)
    insert_rows(Order, orders)
    with history_batch():
        for order in orders:
            placed_event(order, actor=actor)
    payments_post_received([(c, o) for c, o in zip(carts, per_cart, strict=True) if c.paid_at])
    for cart, lines, (index, row) in zip(carts, per_cart, priced, strict=True):
        results[index] = RowResult(
            index,
            row.external_id,
            "created",
            data={
                "cart_no": cart.cart_no,
                "orders": [{"external_id": o.external_id, "order_no": o.order_no} for o in lines],
            },
        )
    return results


def _line_amounts(row: CartIn, line: Any) -> Amounts:
    """Price one line; refuse discounts larger than its price."""
    return order_amounts(
        unit=Money(line.unit_price_minor, row.currency),
        option_price=Money(line.option.price_minor if line.option else 0, row.currency),
        quantity=line.quantity,
        seller_discount=line.seller_discount_minor,
        cart_seller_discount=line.cart_seller_discount_minor,
        cart_platform_discount=line.cart_platform_discount_minor,
    )


def _moved(row: CartIn, cart: Cart, orders: dict[str | None, Order]) -> list[str]:
    """Return the fields of `row` that differ from what claimdesk received before."""
    moved: list[str] = []
    if cart.shop.external_id != row.shop:
        moved.append("shop")
    if cart.buyer.external_id != row.buyer:
        moved.append("buyer")
    for name in ("currency", "shipping_fee_minor", "payment_method"):
        if getattr(cart, name) != getattr(row, name):
            moved.append(name)
    if row.payment_fee_minor is not None and row.payment_fee_minor != cart.payment_fee_minor:
        moved.append("payment_fee_minor")
    if set(orders) != {line.external_id for line in row.orders}:
        moved.append("orders")
    for line in row.orders:
        order = orders.get(line.external_id)
        if order is not None:
            moved += [
                f"orders[{line.external_id}].{name}"
                for name, value in _line_values(line).items()
                if getattr(order, name) != value
            ]
    return moved


def _same(row: CartIn, cart: Cart) -> bool:
    """Return whether `row` repeats what `cart` already holds (read without locks)."""
    orders = {o.external_id: o for o in cart.orders.all()}
    delivery = _delivery_values(row)
    return (
        not _moved(row, cart, orders)
        and not any(_changed(order, delivery) for order in orders.values())
        and (row.paid_at is None or cart.paid_at is not None)
    )


def _cart_result(index: int, row: CartIn, cart: Cart, status: str) -> RowResult:
    orders = sorted(cart.orders.all(), key=lambda o: o.pk)
    return RowResult(
        index,
        row.external_id,
        status,
        data={
            "cart_no": cart.cart_no,
            "orders": [{"external_id": o.external_id, "order_no": o.order_no} for o in orders],
        },
    )


def _cart_update(index: int, row: CartIn, cart: Cart) -> RowResult:
    """Apply a repeated or corrected cart: no change, a payment, or delivery corrections."""
    if _same(row, cart):
        return _cart_result(index, row, cart, "unchanged")
    cart = Cart.objects.select_for_update().select_related("shop", "buyer").get(pk=cart.pk)
    orders = {o.external_id: o for o in cart.orders.select_for_update().order_by("pk")}
    moved = _moved(row, cart, orders)
    if moved:
        raise DomainError(
            "order_moved_on",
            _(
                "Cart %(id)s was already received with other amounts or items (%(fields)s); "
                "claimdesk keeps what it received. Cancel or return through claimdesk instead."
            )
            % {"id": row.external_id, "fields": ", ".join(moved[:5])},
            {"fields": moved},
        )
    delivery = _delivery_values(row)
    status = "unchanged"
    for order in orders.values():
        names = _changed(order, delivery)
        if not names:
            continue
        if order.shipping_status >= ShippingStatus.ON_DELIVERY or order.is_cancelled:
            raise DomainError(
                "order_moved_on",
                _(
                    "Order %(id)s has shipped or is cancelled; its delivery details can no longer change."
                )
                % {"id": order.external_id},
                {"fields": names},
            )
        for name in names:
            setattr(order, name, delivery[name])
        order.version += 1
        record_event(order, actor=None, kind="order.updated", data={"fields": names})
        order.save(update_fields=[*names, "version"])
        status = "updated"
    if row.paid_at is not None and cart.paid_at is None:
        cart_mark_paid(actor=None, cart=cart, paid_at=row.paid_at)
        status = "updated"
    return _cart_result(index, row, cart, status)


def _line_values(line: Any) -> dict[str, Any]:
    return {
        "item_code": line.item.code,
        "option_code": line.option.code if line.option else "",
        "quantity": line.quantity,
        "unit_price_minor": line.unit_price_minor,
        "option_price_minor": line.option.price_minor if line.option else 0,
        "seller_discount_minor": line.seller_discount_minor,
        "cart_seller_discount_minor": line.cart_seller_discount_minor,
        "cart_platform_discount_minor": line.cart_platform_discount_minor,
    }


def _delivery_values(row: CartIn) -> dict[str, Any]:
    r = row.receiver
    return {
        "receiver_name": r.name,
        "receiver_kana": r.kana,
        "receiver_phone": r.phone,
        "receiver_country": r.country,
        "receiver_zip": r.zip_code,
        "receiver_address": r.address,
        "receiver_address2": r.address2,
        "buyer_request": row.buyer_request.strip()[:300],
        "shipping_way": row.shipping_way or Order._meta.get_field("shipping_way").default,
    }


# --- events ---------------------------------------------------------------------------


def events_apply(*, actor: User | None, rows: Sequence[EventIn]) -> list[RowResult]:
    """Apply order events in the order they happened; one result per event row.

    A repeated event is a no-op (`unchanged`); an event the order's state
    does not allow (delivered after a cancel) is refused with the reason.
    """
    _require_platform(actor)
    order = sorted(range(len(rows)), key=lambda i: (rows[i].occurred_at, i))
    results: dict[int, RowResult] = {}
    for index in order:
        row = rows[index]
        try:
            with transaction.atomic():
                results[index] = _apply(index, row)
        except DomainError as exc:
            results[index] = _refused(index, row.id, exc)
    return [results[i] for i in range(len(rows))]


def _event_orders(row: EventIn) -> list[Order]:
    if row.cart:
        cart = Cart.objects.filter(external_id=row.cart).first()
        orders = list(cart.orders.order_by("pk")) if cart is not None else []
        if not orders:
            raise NotFound(
                "cart_unknown",
                _("No cart has the id %(id)s. Send the cart first (POST /platform/orders).")
                % {"id": row.cart},
            )
        return orders
    if not row.order:
        raise InvalidInput(
            "event_target_missing", _("Name the order (or, for payments, the cart).")
        )
    order = Order.objects.filter(external_id=row.order).first()
    if order is None:
        raise NotFound(
            "order_unknown",
            _("No order has the id %(id)s. Send its cart first (POST /platform/orders).")
            % {"id": row.order},
        )
    if row.type in ("paid", "payment_failed"):
        return list(order.cart.orders.order_by("pk"))
    return [order]


def _cancelled(order: Order, what: str | Promise) -> DomainError:
    return DomainError(
        "order_cancelled",
        _("Order %(order)s is cancelled in claimdesk, so it cannot be %(what)s.")
        % {"order": order.external_id or order.order_no, "what": what},
    )


def _apply(index: int, row: EventIn) -> RowResult:
    orders = _event_orders(row)
    first = orders[0]
    status = "unchanged"
    if row.type == "paid":
        cart = first.cart
        if cart.paid_at is None:
            if any(o.is_cancelled for o in orders):
                raise DomainError(
                    "cart_cancelled",
                    _(
                        "Cart %(id)s was cancelled before its payment arrived; return the payment to the buyer."
                    )
                    % {"id": cart.external_id},
                )
            cart_mark_paid(actor=None, cart=cart, paid_at=row.occurred_at)
            status = "updated"
    elif row.type == "payment_failed":
        for order in orders:
            if order.is_cancelled:
                continue
            if order.paid_at is not None:
                raise DomainError(
                    "already_paid",
                    _("Cart %(id)s is paid; a failed payment cannot cancel it.")
                    % {"id": order.cart.external_id},
                )
            if claim_cancel_unpaid(order=order, failed=True) is not None:
                status = "updated"
    elif row.type == "shipped":
        if first.is_cancelled:
            raise _cancelled(first, _("shipped"))
        if first.shipping_status < ShippingStatus.ON_DELIVERY:
            if not row.carrier or not row.tracking_no:
                raise InvalidInput(
                    "tracking_missing", _("A shipped event needs the carrier and tracking number.")
                )
            order_ship(
                actor=None,
                order=first,
                carrier=row.carrier,
                tracking_no=row.tracking_no,
                shipped_at=row.occurred_at,
            )
            status = "updated"
    elif row.type == "delivered":
        if first.is_cancelled:
            raise _cancelled(first, _("delivered"))
        if first.shipping_status < ShippingStatus.ON_DELIVERY:
            raise DomainError(
                "not_shipped",
                _("Order %(id)s has not shipped; send its shipped event first.")
                % {"id": first.external_id},
            )
        if first.shipping_status == ShippingStatus.ON_DELIVERY:
            order_mark_delivered(actor=None, order=first, delivered_at=row.occurred_at)
            status = "updated"
    elif row.type == "completed":
        if first.is_cancelled:
            raise _cancelled(first, _("completed"))
        if first.completed_at is None:
            if first.shipping_status == ShippingStatus.ON_DELIVERY:
                order_mark_delivered(actor=None, order=first, delivered_at=row.occurred_at)
            order_complete_trade(actor=None, order=first)
            status = "updated"
    fresh = Order.objects.get(pk=first.pk)
    return RowResult(
        index,
        row.id,
        status,
        data={
            "order_no": fresh.order_no,
            "shipping_status": fresh.shipping_status,
            "cancelled": fresh.is_cancelled,
        },
    )
