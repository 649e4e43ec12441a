"""Build the demo data set through the services, so that history and ledger are real.

Three shops, thirty buyers and a few hundred orders in every shipping status
and every claim status, dated over the last two months. Every state is reached
by calling the same services the portals call; only dates are moved
afterwards: the services stamp rows with the current time, and `_Clock` maps
each row's real creation time to the time the story says it happened, keeping
the order of every order's history so that it still replays.

The data (shops and their items, what people write, which stories to tell
and how many) is in `data/catalogue.toml`; this module holds the code.
Everything is seeded (`random.Random` and `Faker("ja_JP")`), so the same
seed gives the same people, items and stories.
"""

from __future__ import annotations

import datetime as dt
import random
import tomllib
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from faker import Faker

from claimdesk.accounts.models import Shop, User
from claimdesk.claims.cancel import (
    claim_approve_cancel,
    claim_cancel_instantly,
    claim_cancel_unpaid,
    claim_request_cancel,
    claim_seller_cancel,
    claim_withdraw,
)
from claimdesk.claims.models import Claim, ClaimStatus, NonReceiptDuty, PickupMethod
from claimdesk.claims.non_receipt import claim_refund_non_receipt, claim_report_non_receipt
from claimdesk.claims.operator import claim_operator_cancel, claim_operator_withdraw
from claimdesk.claims.refunds import refund_process, refund_retry
from claimdesk.claims.returns import (
    claim_accept_return,
    claim_approve_exchange,
    claim_complete_redelivery,
    claim_complete_return,
    claim_convert_to_exchange,
    claim_redeliver,
    claim_request_return,
    claim_seller_start_return,
)
from claimdesk.core.conf import setting
from claimdesk.inquiries.models import InquiryCategory
from claimdesk.inquiries.services import inquiry_open, inquiry_reply
from claimdesk.intake.schemas import (
    AddressIn,
    CartIn,
    EventIn,
    ItemIn,
    OptionIn,
    OrderLineIn,
    PersonIn,
    ReceiverIn,
    ShopIn,
    StaffIn,
)
from claimdesk.intake.services import (
    RowResult,
    buyers_upsert,
    carts_ingest,
    events_apply,
    shops_upsert,
    staff_upsert,
)
from claimdesk.messaging.models import Note, NoteCategory, Notification
from claimdesk.messaging.services import note_send
from claimdesk.orders.models import (
    Cart,
    Order,
    OrderEvent,
    PaymentMethod,
    ShippingStatus,
)
from claimdesk.orders.services import (
    order_complete_trade,
    order_confirm,
    order_register_delay,
    order_ship,
)
from claimdesk.payments.gateways import set_simulated_mode
from claimdesk.payments.models import GatewayMode, LedgerTransaction, Refund, RefundStatus

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - published demo logins
DEMO_SEED = 2026
CURRENCY = "JPY"


# --- the catalogue: shops, items, people's texts and the stories (data/catalogue.toml) ---


@dataclass(frozen=True)
class _ShopSpec:
    code: str
    name: str
    language: str
    shipping_fee: int
    has_return_address: bool
    staff: tuple[tuple[str, str, str, str], ...]  # username, display name, kana, language
    catalog: tuple[tuple[str, str, int, tuple[tuple[str, str, int], ...]], ...]


@dataclass(frozen=True)
class _Recipe:
    name: str
    count: int
    days: tuple[float, float]
    methods: str = "any"  # any | card | later (bank transfer, convenience store)
    needs_address: bool = False


def _read_catalogue() -> dict[str, Any]:
    """Read the demo's data file (`data/catalogue.toml`, shipped in this package)."""
    text = resources.files(__package__).joinpath("data", "catalogue.toml").read_text("utf-8")
    return tomllib.loads(text)


def _shop_spec(row: dict[str, Any]) -> _ShopSpec:
    return _ShopSpec(
        code=row["code"],
        name=row["name"],
        language=row["language"],
        shipping_fee=row["shipping_fee"],
        has_return_address=row["has_return_address"],
        staff=tuple(
            (s["login"], s.get("name", ""), s.get("kana", ""), s["language"]) for s in row["staff"]
        ),
        catalog=tuple(
            (
                item["sku"],
                item["title"],
                item["price"],
                tuple((o["code"], o["text"], o.get("extra", 0)) for o in item["options"]),
            )
            for item in row["items"]
        ),
    )


_CATALOGUE = _read_catalogue()

#: What buyers write at checkout (買家已付款要求); most write nothing.
BUYER_REQUESTS: tuple[str, ...] = tuple(_CATALOGUE["buyer_requests"])
#: The shops with their staff (a staff member without a name gets a Faker one) and items.
SHOPS: tuple[_ShopSpec, ...] = tuple(_shop_spec(row) for row in _CATALOGUE["shops"])
BUYER_COUNT = 30
#: Buyers who read the site in another language than Japanese.
BUYER_LANGUAGES: dict[int, str] = {
    int(n): lang for n, lang in _CATALOGUE["buyer_languages"].items()
}
OPERATOR = "operator"

CARRIERS: tuple[str, ...] = tuple(_CATALOGUE["carriers"])
BUYER_CANCEL_MEMOS: tuple[str, ...] = tuple(_CATALOGUE["buyer_cancel_memos"])
#: What a buyer writes with a return or exchange request, by reason code.
RETURN_MEMOS: dict[str, str] = dict(_CATALOGUE["return_memos"])
#: The texts people write in the stories, by name.
TEXTS: dict[str, str] = dict(_CATALOGUE["texts"])
#: The stories to tell: each recipe tells `count` stories with `_Builder._story_<name>`.
RECIPES: tuple[_Recipe, ...] = tuple(
    _Recipe(
        name=row["name"],
        count=row["count"],
        days=(row["days"][0], row["days"][1]),
        methods=row.get("methods", "any"),
        needs_address=row.get("needs_address", False),
    )
    for row in _CATALOGUE["recipes"]
)
#: The sellers' inquiries of the demo: shop, the claim status of the order named, category,
#: subject, message, and the customer center's answer ("" for none yet; "？" at the end asks
#: the seller for more).
INQUIRIES: tuple[tuple[str, int, str, str, str, str], ...] = tuple(
    (
        row["shop"],
        ClaimStatus[row["claim_status"]].value,
        InquiryCategory[row["category"]].value,
        row["subject"],
        row["body"],
        row.get("answer", ""),
    )
    for row in _CATALOGUE["inquiries"]
)
#: What to try in the demo, by the state an order is in: (what to do, which orders).
TRY_THIS: tuple[tuple[str, dict[str, Any]], ...] = tuple(
    (
        row["what"],
        {"shipping_status": ShippingStatus[row["shipping_status"]].value}
        if "shipping_status" in row
        else {"claims__status": ClaimStatus[row["claim_status"]].value},
    )
    for row in _CATALOGUE["try_this"]
)


# --- the clock -------------------------------------------------------------------


class _Clock:
    """Map the real time at which a row was written to the time the story gives it.

    The builder announces each step with `at(planned)` before calling the
    service. A row written during a step gets `planned` plus its offset from
    the step's start, so rows keep their order. Within one story `planned`
    never goes back, and never lies after the real time of the step.
    """

    def __init__(self) -> None:
        self.steps: list[tuple[dt.datetime, dt.datetime]] = []
        self._starts: list[dt.datetime] = []
        self._last: tuple[dt.datetime, dt.datetime] | None = None

    def begin(self) -> None:
        """Start a new story: its first step need not follow the previous one."""
        self._last = None

    def at(self, planned: dt.datetime) -> dt.datetime:
        """Start a step that the story places at `planned`; return the time used."""
        real = timezone.now()
        if self._last is not None:
            last_real, last_planned = self._last
            planned = max(planned, last_planned + (real - last_real))
        planned = min(planned, real)
        self._last = (real, planned)
        self.steps.append((real, planned))
        self._starts.append(real)
        return planned

    @property
    def first(self) -> dt.datetime | None:
        return self._starts[0] if self._starts else None

    def map(self, value: dt.datetime | None) -> dt.datetime | None:
        """Return the story time of a row stamped `value` by a service."""
        if value is None or not self._starts or value < self._starts[0]:
            return value
        real, planned = self.steps[bisect_right(self._starts, value) - 1]
        return planned + (value - real)


# --- summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    shop: str
    language: str


@dataclass(frozen=True)
class DemoSummary:
    orders: int
    carts: int
    live_by_shipping_status: dict[int, int]
    closed: int
    delayed: int
    completed: int
    claims_by_status: dict[int, int]
    payment_methods: dict[str, int]
    refunds_by_status: dict[str, int]


def demo_loaded() -> bool:
    """Return whether the demo shops exist."""
    return Shop.objects.filter(code__in=[s.code for s in SHOPS]).exists()


def demo_logins() -> list[DemoLogin]:
    """Return the demo accounts that exist, shops first, then buyers, then the operator."""
    names = [username for spec in SHOPS for username, *_ in spec.staff]
    names += [f"buyer{n:02d}" for n in range(1, BUYER_COUNT + 1)] + [OPERATOR]
    users = {u.username: u for u in User.objects.filter(username__in=names).select_related("shop")}
    logins = []
    for name in names:
        user = users.get(name)
        if user is not None:
            shop = user.shop.code if user.shop is not None else ""
            logins.append(DemoLogin(name, str(user.role), shop, user.language))
    return logins


def demo_summary() -> DemoSummary:
    """Count the demo shops' orders and claims."""
    shops = Shop.objects.filter(code__in=[s.code for s in SHOPS])
    orders = Order.objects.filter(shop__in=shops)
    live = orders.filter(cancelled_at__isnull=True, returned_at__isnull=True)
    return DemoSummary(
        orders=orders.count(),
        carts=Cart.objects.filter(shop__in=shops).count(),
        live_by_shipping_status=_counts(live, "shipping_status"),
        closed=orders.filter(Q(cancelled_at__isnull=False) | Q(returned_at__isnull=False)).count(),
        delayed=orders.delayed().count(),
        completed=orders.filter(completed_at__isnull=False).count(),
        claims_by_status=_counts(Claim.objects.filter(shop__in=shops), "status"),
        payment_methods=_counts(Cart.objects.filter(shop__in=shops), "payment_method"),
        refunds_by_status=_counts(Refund.objects.filter(order__shop__in=shops), "status"),
    )


@dataclass(frozen=True)
class DemoTry:
    what: str
    order_no: int
    shop: str
    seller: str
    buyer: str


def demo_try_this() -> list[DemoTry]:
    """Return an order of the first demo shop in each state worth trying, with its logins."""
    shop = Shop.objects.filter(code=SHOPS[0].code).first()
    if shop is None:
        return []
    seller = SHOPS[0].staff[0][0]
    rows = []
    for what, where in TRY_THIS:
        order = (
            Order.objects.filter(shop=shop, cancelled_at__isnull=True, **where)
            .filter(Q(claims__isnull=True) | Q(claims__is_open=True))
            .select_related("buyer")
            .order_by("-order_no")
            .first()
        )
        if order is not None and order.buyer is not None:
            rows.append(DemoTry(what, order.order_no, shop.code, seller, order.buyer.username))
    return rows


def _counts(queryset: Any, column: str) -> dict[Any, int]:
    rows = queryset.order_by().values(column).annotate(n=Count("pk")).order_by(column)
    return {row[column]: row["n"] for row in rows}


def demo_load(*, seed: int = DEMO_SEED) -> DemoSummary | None:
    """Build the demo data set once; return None (and change nothing) if it exists."""
    with transaction.atomic():
        if demo_loaded():
            return None
        _Builder(seed).build()
    return demo_summary()


# --- the builder -------------------------------------------------------------------


@dataclass
class _Product:
    """An item of a demo shop's catalogue, as the marketplace describes it in its orders."""

    code: str
    sku: str
    title: str
    price: int
    options: tuple[tuple[str, str, int], ...]


@dataclass
class _ShopCast:
    shop: Shop
    sellers: list[User]
    items: list[_Product]
    has_address: bool
    shipping_fee: int


@dataclass
class _Run:
    """One story: a cart of one buyer at one shop, told step by step."""

    shop: _ShopCast
    seller: User
    buyer: User
    method: str
    t: dt.datetime
    variant: int
    orders: list[Order] = field(default_factory=list)
    confirmed_at: dt.datetime | None = None
    keep_est_date: bool = False

    @property
    def order(self) -> Order:
        return self.orders[0]


def _accepted(results: list[RowResult]) -> None:
    """Stop the build at a refused row: the demo's own data must always be taken."""
    refused = [r for r in results if r.refused]
    if refused:
        raise RuntimeError(f"demo row refused: {refused[0]}")


def _hours(value: float) -> dt.timedelta:
    return dt.timedelta(hours=value)


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("ja_JP")
        self.fake.seed_instance(seed)
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.latest = self.now - dt.timedelta(minutes=10)
        self.clock = _Clock()
        self.password = make_password(DEMO_PASSWORD)
        self.shops: list[_ShopCast] = []
        self.buyers: list[User] = []
        self.receivers: dict[int, ReceiverIn] = {}
        self.carts = 0
        self.operator: User

    # -- cast -------------------------------------------------------------------------

    def build(self) -> None:
        self._people()
        runs: list[tuple[_Run, Callable[[_Run], None]]] = []
        for recipe in RECIPES:
            story = getattr(self, f"_story_{recipe.name}")
            runs += [(self._plan(recipe, n), story) for n in range(recipe.count)]
        # Older stories first, so that order numbers grow with the order date.
        runs.sort(key=lambda row: row[0].t)
        for run, story in runs:
            self.clock.begin()
            story(run)
            self._settle_est_date(run)
        self._redate()
        self._inquiries()

    def _plan(self, recipe: _Recipe, n: int) -> _Run:
        if recipe.needs_address:
            cast = [s for s in self.shops if s.has_address][n % 2]
        else:
            cast = self.shops[n % len(self.shops)]
        if recipe.methods == "card":
            method = PaymentMethod.CARD
        elif recipe.methods == "later":
            method = self.rng.choice([PaymentMethod.BANK_TRANSFER, PaymentMethod.CONVENIENCE_STORE])
        else:
            method = self.rng.choices(
                [
                    PaymentMethod.CARD,
                    PaymentMethod.BANK_TRANSFER,
                    PaymentMethod.CONVENIENCE_STORE,
                    PaymentMethod.BALANCE,
                ],
                weights=[50, 20, 15, 15],
            )[0]
        t0 = self.now - dt.timedelta(days=self.rng.uniform(*recipe.days))
        return _Run(
            shop=cast,
            seller=self.rng.choice(cast.sellers),
            buyer=self.rng.choice(self.buyers),
            method=method,
            t=min(t0, self.latest),
            variant=n,
        )

    def _people(self) -> None:
        """Bring the shops, staff, buyers and the operator in as a marketplace would."""
        street, building = self._street, self._building
        shop_rows = [
            ShopIn(
                external_id=spec.code,
                code=spec.code,
                name=spec.name,
                email=f"{spec.code}@shops.example",
                language=spec.language,  # type: ignore[arg-type]
                return_address=AddressIn(
                    name=TEXTS["return_center"].format(shop=spec.name),
                    zip_code=self.fake.zipcode(),
                    address=street(),
                    address2=building(),
                    phone=self.fake.phone_number(),
                )
                if spec.has_return_address
                else None,
            )
            for spec in SHOPS
        ]
        _accepted(shops_upsert(actor=None, rows=shop_rows))
        staff_rows = []
        for spec in SHOPS:
            for username, display, kana, language in spec.staff:
                if not display:
                    last, first = self.fake.last_name_pair(), self.fake.first_name_pair()
                    display, kana = f"{last[0]} {first[0]}", f"{last[1]} {first[1]}"
                staff_rows.append(
                    StaffIn(
                        external_id=username,
                        login=username,
                        role="seller",
                        shop=spec.code,
                        display_name=display,
                        kana_name=kana,
                        email=f"{username}@shops.example",
                        language=language,  # type: ignore[arg-type]
                    )
                )
        staff_rows.append(
            StaffIn(
                external_id=OPERATOR,
                login=OPERATOR,
                role="operator",
                display_name=TEXTS["operator_name"],
                email="operator@example.com",
                language="ja",
            )
        )
        _accepted(staff_upsert(actor=None, rows=staff_rows))
        buyer_rows = []
        for n in range(1, BUYER_COUNT + 1):
            last, first = self.fake.last_name_pair(), self.fake.first_name_pair()
            buyer_rows.append(
                PersonIn(
                    external_id=f"buyer{n:02d}",
                    login=f"buyer{n:02d}",
                    display_name=f"{last[0]} {first[0]}",
                    kana_name=f"{last[1]} {first[1]}",
                    email=f"buyer{n:02d}@example.com",
                    language=BUYER_LANGUAGES.get(n, "ja"),  # type: ignore[arg-type]
                )
            )
        _accepted(buyers_upsert(actor=None, rows=buyer_rows))
        # The marketplace signs its people in; the demo gives them its published password.
        User.objects.filter(external_id__isnull=False).update(password=self.password)
        User.objects.filter(username=OPERATOR).update(is_staff=True, is_superuser=True)
        users = {u.username: u for u in User.objects.select_related("shop")}
        for index, spec in enumerate(SHOPS, start=1):
            sellers = [users[username] for username, *_rest in spec.staff]
            self.shops.append(
                _ShopCast(
                    shop=sellers[0].shop,  # type: ignore[arg-type]
                    sellers=sellers,
                    items=[
                        _Product(str(800_000_000 + index * 1000 + n), sku, title, price, options)
                        for n, (sku, title, price, options) in enumerate(spec.catalog, start=1)
                    ],
                    has_address=spec.has_return_address,
                    shipping_fee=spec.shipping_fee,
                )
            )
        for row in buyer_rows:
            buyer = users[row.external_id]
            self.buyers.append(buyer)
            self.receivers[buyer.pk] = ReceiverIn(
                name=row.display_name,
                kana=row.kana_name,
                phone=self.fake.phone_number(),
                zip_code=self.fake.zipcode(),
                address=street(),
                address2=building(),
            )
        self.operator = users[OPERATOR]

    def _street(self) -> str:
        f = self.fake
        return f"{f.prefecture()}{f.city()}{f.town()}{f.chome()}{f.ban()}{f.gou()}"

    def _building(self) -> str:
        return f"{self.fake.building_name()}{self.rng.randint(1, 12)}0{self.rng.randint(1, 9)}"

    # -- steps ------------------------------------------------------------------------------

    def _tick(self, run: _Run, low: float, high: float) -> None:
        """Let `low`..`high` hours pass in the story and start the next step.

        A step takes at most half of the time left before the present, so a
        recent story is told faster instead of piling its last steps up at "now".
        """
        left = max(self.latest - run.t, dt.timedelta(0))
        run.t = self.clock.at(run.t + min(_hours(self.rng.uniform(low, high)), left / 2))

    def _place(self, run: _Run, *, lines: int = 1, quantity: int | None = None) -> Order:
        """Send the marketplace's cart for this story (paid at once by card or balance)."""
        run.t = self.clock.at(run.t)
        self.carts += 1
        cart_id = f"demo-cart-{self.carts:04d}"
        order_lines = []
        goods = 0
        for n, product in enumerate(self.rng.sample(run.shop.items, lines), start=1):
            code, text, extra = self.rng.choice(product.options)
            qty = quantity or self.rng.choices([1, 2, 3], weights=[80, 15, 5])[0]
            discount = (product.price // 10 // 10 * 10) if self.rng.random() < 0.25 else 0
            platform = 200 if self.rng.random() < 0.1 else 0
            order_lines.append(
                OrderLineIn(
                    external_id=f"{cart_id}-{n}",
                    item=ItemIn(code=product.code, seller_code=product.sku, name=product.title),
                    option=OptionIn(code=code, text=text, price_minor=extra),
                    quantity=qty,
                    unit_price_minor=product.price,
                    seller_discount_minor=discount,
                    cart_platform_discount_minor=platform,
                )
            )
            goods += (product.price + extra) * qty
        cart = CartIn(
            external_id=cart_id,
            shop=run.shop.shop.code,
            buyer=run.buyer.username,
            currency=CURRENCY,
            shipping_fee_minor=0 if goods >= 8000 else run.shop.shipping_fee,
            payment_method=run.method,  # type: ignore[arg-type]
            ordered_at=run.t,
            receiver=self.receivers[run.buyer.pk],
            buyer_request=BUYER_REQUESTS[run.buyer.pk % len(BUYER_REQUESTS)],
            orders=order_lines,
        )
        _accepted(carts_ingest(actor=None, rows=[cart]))
        run.orders = list(Order.objects.filter(cart__external_id=cart_id).order_by("pk"))
        return run.order

    def _event(self, kind: str, order: Order, at: dt.datetime) -> None:
        """Send the marketplace's event about `order`, as happened at `at`."""
        _accepted(
            events_apply(
                actor=None,
                rows=[EventIn(type=kind, order=order.external_id, occurred_at=at)],  # type: ignore[arg-type]
            )
        )

    def _pay(self, run: _Run) -> None:
        if run.order.cart.paid_at is None:
            self._tick(run, 2, 30)
            self._event("paid", run.order, run.t)

    def _confirm(self, run: _Run, order: Order | None = None) -> None:
        self._tick(run, 1, 20)
        run.confirmed_at = run.t
        intended = timezone.localdate(run.t) + dt.timedelta(days=self.rng.randint(1, 3))
        order_confirm(
            actor=run.seller,
            order=order or run.order,
            est_ship_date=max(intended, self.today + dt.timedelta(days=1)),
        )

    def _ship(self, run: _Run, order: Order | None = None) -> None:
        self._tick(run, 4, 40)
        order_ship(
            actor=run.seller,
            order=order or run.order,
            carrier=self.rng.choice(CARRIERS),
            tracking_no=str(self.rng.randint(10**11, 10**12 - 1)),
        )

    def _deliver(self, run: _Run, order: Order | None = None) -> None:
        self._tick(run, 15, 60)
        # Stamped now, like every other step's rows: `_redate` moves it to the story's time.
        self._event("delivered", order or run.order, timezone.now())

    def _complete(self, run: _Run, order: Order | None = None) -> None:
        self._tick(run, 24, 240)
        order_complete_trade(actor=run.buyer, order=order or run.order)

    def _advance(self, run: _Run, upto: str) -> Order:
        """Bring the run's order through paid, confirmed, shipped, delivered, completed."""
        steps = ["paid", "confirmed", "shipped", "delivered", "completed"]
        self._place(run)
        for step in steps[: steps.index(upto) + 1]:
            if step == "paid":
                self._pay(run)
            elif step == "confirmed":
                self._confirm(run)
            elif step == "shipped":
                self._ship(run)
            elif step == "delivered":
                self._deliver(run)
            else:
                self._complete(run)
        return run.order

    def _settle(self, run: _Run, *, fail: bool = False, exhaust: bool = False) -> None:
        """Run the card refunds of this story through the simulated gateway.

        The demo is built in one transaction so that it is all or nothing; the
        simulated gateway is local, so calling it inside that transaction holds
        no lock across a network call.
        """
        pending = list(
            Refund.objects.filter(order__in=run.orders, status=RefundStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        if not pending:
            return
        self._tick(run, 0.05, 0.5)
        if fail:
            set_simulated_mode(GatewayMode.FAIL)
        try:
            for pk in pending:
                refund_process(refund_id=pk)
                if exhaust:
                    for _ in range(setting("REFUND_MAX_AUTO_RETRIES")):
                        self._tick(run, 0.2, 2)
                        refund_retry(actor=None, refund=Refund.objects.get(pk=pk), automatic=True)
                        refund_process(refund_id=pk)
        finally:
            if fail:
                set_simulated_mode(GatewayMode.OK)

    def _settle_est_date(self, run: _Run) -> None:
        """Give shipped or closed orders the ship date they were confirmed with."""
        if run.confirmed_at is None or run.keep_est_date:
            return
        intended = timezone.localdate(run.confirmed_at) + dt.timedelta(days=self.rng.randint(1, 3))
        Order.objects.filter(pk__in=[o.pk for o in run.orders], est_ship_date__isnull=False).filter(
            Q(shipping_status__gte=ShippingStatus.ON_DELIVERY)
            | Q(cancelled_at__isnull=False)
            | Q(returned_at__isnull=False)
        ).update(est_ship_date=intended)

    def _note(self, run: _Run, category: str, title: str, body: str) -> None:
        self._tick(run, 0.5, 6)
        note_send(actor=run.seller, order=run.order, category=category, title=title, body=body)

    def _reason(self, *codes: str) -> str:
        return self.rng.choice(codes)

    def _pickup(self, run: _Run) -> str:
        return PickupMethod.SELLER_COLLECTS if run.shop.has_address else PickupMethod.BUYER_SENDS

    def _claim(self, run: _Run) -> Claim:
        claim = Claim.objects.filter(order=run.order).order_by("-pk").first()
        if claim is None:  # pragma: no cover - a story that opened no claim is a bug
            raise LookupError(run.order.order_no)
        return claim

    # -- stories: shipping statuses -----------------------------------------------------

    def _story_awaiting_payment(self, run: _Run) -> None:
        self._place(run)

    def _story_new(self, run: _Run) -> None:
        self._place(run)
        self._pay(run)

    def _story_confirmed(self, run: _Run) -> None:
        self._advance(run, "confirmed")

    def _story_delay_registered(self, run: _Run) -> None:
        self._place(run)
        self._pay(run)
        if run.variant % 2:
            self._confirm(run)
        self._tick(run, 4, 30)
        delay_type = 1 + run.variant % 4
        order_register_delay(
            actor=run.seller,
            order=run.order,
            est_ship_date=self.today + dt.timedelta(days=self.rng.randint(2, 6)),
            delay_type=delay_type,
            memo=TEXTS["delay_memo"] if delay_type == 4 else "",
        )
        run.keep_est_date = True
        if run.variant % 3 == 0:
            self._note(
                run,
                NoteCategory.SHIPPING,
                TEXTS["delay_note_title"],
                TEXTS["delay_note_body"],
            )

    def _story_delay_date_passed(self, run: _Run) -> None:
        self._advance(run, "confirmed")
        run.keep_est_date = True
        Order.objects.filter(pk=run.order.pk).update(
            est_ship_date=self.today - dt.timedelta(days=self.rng.randint(1, 3))
        )

    def _story_on_delivery(self, run: _Run) -> None:
        self._advance(run, "shipped")

    def _story_delivered(self, run: _Run) -> None:
        self._advance(run, "delivered")

    def _story_completed(self, run: _Run) -> None:
        self._advance(run, "completed")

    def _story_pair_completed(self, run: _Run) -> None:
        self._place(run, lines=2)
        self._pay(run)
        for order in run.orders:
            self._confirm(run, order)
        for order in run.orders:
            self._ship(run, order)
        for order in run.orders:
            self._deliver(run, order)
        for order in run.orders:
            self._complete(run, order)

    def _story_pair_split(self, run: _Run) -> None:
        """One order of a two-order cart is cancelled at once; the other ships."""
        self._place(run, lines=2)
        self._pay(run)
        self._tick(run, 0.5, 8)
        claim_cancel_instantly(
            actor=run.buyer, order=run.orders[1], reason="EDIT_ORDER", memo=BUYER_CANCEL_MEMOS[0]
        )
        self._settle(run)
        self._confirm(run)
        self._ship(run)

    # -- stories: cancellations ----------------------------------------------------------

    def _story_cart_several(self, run: _Run) -> None:
        """A cart of two or three orders, each at its own step (one shipped, one not yet)."""
        self._place(run, lines=2 + run.variant % 2)
        self._pay(run)
        first, second, *rest = run.orders
        self._confirm(run, first)
        self._ship(run, first)
        self._confirm(run, second)
        if run.variant % 4 == 3:  # the buyer wants one order of the cart cancelled
            self._tick(run, 1, 12)
            claim_request_cancel(
                actor=run.buyer, order=second, reason="EDIT_ORDER", memo=BUYER_CANCEL_MEMOS[0]
            )

    def _story_cancel_requested(self, run: _Run) -> None:
        self._advance(run, "confirmed")
        run.keep_est_date = True
        self._tick(run, 1, 20)
        claim_request_cancel(
            actor=run.buyer,
            order=run.order,
            reason="EDIT_ORDER",
            memo=self.rng.choice(BUYER_CANCEL_MEMOS),
        )

    def _cancel_somehow(self, run: _Run) -> None:
        """Cancel a paid order in one of the four ways that end in a refund."""
        way = run.variant % 4
        if way == 0:
            self._tick(run, 0.5, 6)
            claim_cancel_instantly(actor=run.buyer, order=run.order, reason="EDIT_ORDER")
        elif way == 1:
            self._confirm(run)
            self._tick(run, 1, 12)
            claim_seller_cancel(
                actor=run.seller,
                order=run.order,
                reason="OUT_OF_STOCK",
                seller_memo=TEXTS["out_of_stock_cancel_memo"],
                confirm_without_notice=True,
            )
        elif way == 2:
            self._confirm(run)
            self._tick(run, 1, 12)
            claim_request_cancel(actor=run.buyer, order=run.order, reason="EDIT_ORDER")
            self._tick(run, 1, 12)
            claim_approve_cancel(actor=run.seller, claim=self._claim(run))
        else:
            self._tick(run, 2, 20)
            claim_operator_cancel(
                actor=self.operator,
                order=run.order,
                reason="EDIT_ORDER",
                memo=TEXTS["operator_cancel_memo"],
            )

    def _story_cancelling(self, run: _Run) -> None:
        """A card refund still on its way: the claim stays "cancelling" until the worker runs."""
        self._place(run)
        self._cancel_somehow(run)

    def _story_refund_failed(self, run: _Run) -> None:
        """The card issuer declined the refund; two of them need an operator's retry."""
        self._place(run)
        self._cancel_somehow(run)
        self._settle(run, fail=True, exhaust=run.variant < 2)

    def _story_buyer_cancelled(self, run: _Run) -> None:
        self._place(run)
        self._pay(run)
        self._tick(run, 0.2, 10)
        claim_cancel_instantly(
            actor=run.buyer,
            order=run.order,
            reason="EDIT_ORDER",
            memo=self.rng.choice(BUYER_CANCEL_MEMOS),
        )
        self._settle(run)

    def _story_buyer_cancelled_unpaid(self, run: _Run) -> None:
        self._place(run)
        self._tick(run, 0.5, 20)
        claim_cancel_instantly(actor=run.buyer, order=run.order, reason="EDIT_ORDER")

    def _story_buyer_cancelled_delayed(self, run: _Run) -> None:
        self._advance(run, "confirmed")
        run.keep_est_date = True
        registered = bool(run.variant % 2)
        if registered:
            self._tick(run, 20, 40)
            order_register_delay(
                actor=run.seller,
                order=run.order,
                est_ship_date=self.today + dt.timedelta(days=3),
                delay_type=2,
            )
        else:  # the ship date passed without shipment
            Order.objects.filter(pk=run.order.pk).update(
                est_ship_date=self.today - dt.timedelta(days=1)
            )
        self._tick(run, 30, 60)
        claim_cancel_instantly(
            actor=run.buyer,
            order=run.order,
            reason="SHIPPING_DELAY",
            memo=TEXTS["delay_cancel_memo"],
        )
        self._settle(run)
        # The date the buyer was promised: the registered one, or one that had passed.
        promised = run.t if registered else (run.confirmed_at or run.t)
        Order.objects.filter(pk=run.order.pk).update(
            est_ship_date=timezone.localdate(promised) + dt.timedelta(days=3 if registered else 1)
        )

    def _story_seller_cancelled_with_notice(self, run: _Run) -> None:
        self._place(run)
        self._pay(run)
        if run.variant % 2:
            self._confirm(run)
        reason = self._reason("OUT_OF_STOCK", "SHIPPING_DELAY", "UNDELIVERABLE_REGION")
        self._note(
            run,
            NoteCategory.CANCEL_REFUND,
            TEXTS["cancel_notice_title"],
            TEXTS["cancel_notice_body"],
        )
        self._tick(run, 1, 12)
        claim_seller_cancel(
            actor=run.seller,
            order=run.order,
            reason=reason,
            seller_memo=TEXTS["seller_cancel_memo"],
        )
        self._settle(run)

    def _story_seller_cancelled_without_notice(self, run: _Run) -> None:
        self._place(run)
        self._pay(run)
        if run.variant % 2:
            self._confirm(run)
        self._tick(run, 2, 30)
        claim_seller_cancel(
            actor=run.seller,
            order=run.order,
            reason=self._reason("OUT_OF_STOCK", "SHIPPING_DELAY", "UNDELIVERABLE_REGION"),
            confirm_without_notice=True,
        )
        self._settle(run)

    def _story_cancel_approved(self, run: _Run) -> None:
        self._advance(run, "confirmed")
        self._tick(run, 1, 20)
        claim_request_cancel(
            actor=run.buyer,
            order=run.order,
            reason="EDIT_ORDER",
            memo=self.rng.choice(BUYER_CANCEL_MEMOS),
        )
        self._tick(run, 1, 20)
        claim_approve_cancel(
            actor=run.seller,
            claim=self._claim(run),
            seller_memo=TEXTS["cancel_approved_memo"],
            grant_payment_fee=run.variant % 3 == 0,
        )
        self._settle(run)

    def _story_operator_cancelled(self, run: _Run) -> None:
        self._advance(run, "shipped" if run.variant % 2 else "delivered")
        self._tick(run, 24, 72)
        claim_operator_cancel(
            actor=self.operator,
            order=run.order,
            reason="EDIT_ORDER",
            memo=TEXTS["operator_cancel_on_inquiry_memo"],
        )
        self._settle(run)

    def _story_unpaid_cancelled(self, run: _Run) -> None:
        self._place(run)
        deadline = run.order.cart.payment_deadline
        if deadline is None:  # pragma: no cover - bank transfer and convenience store have one
            raise LookupError(f"cart of order {run.order.order_no} has no payment deadline")
        run.t = self.clock.at(min(deadline + dt.timedelta(minutes=5), self.latest))
        if claim_cancel_unpaid(order=run.order) is None:  # pragma: no cover
            raise LookupError(f"order {run.order.order_no} was not due for the unpaid cancel")

    # -- stories: returns and exchanges ------------------------------------------------------

    def _return_request(self, run: _Run, *, exchange: bool = False) -> Claim:
        reasons = ("WRONG_ITEM", "EDIT_ORDER") if exchange else tuple(RETURN_MEMOS)
        reason = reasons[run.variant % len(reasons)]
        self._tick(run, 5, 72)
        return claim_request_return(
            actor=run.buyer,
            order=run.order,
            reason=reason,
            memo=RETURN_MEMOS[reason],
            exchange=exchange,
        )

    def _story_return_requested(self, run: _Run) -> None:
        self._advance(run, "delivered")
        if run.variant % 4 == 3:
            self._tick(run, 5, 48)
            claim_seller_start_return(
                actor=run.seller,
                order=run.order,
                reason="DEFECTIVE",
                seller_memo=TEXTS["seller_return_defective_memo"],
                pickup_method=self._pickup(run),
            )
        else:
            self._return_request(run)

    def _story_returning(self, run: _Run) -> None:
        self._advance(run, "delivered")
        if run.variant % 3 == 2:
            self._tick(run, 5, 48)
            claim_seller_start_return(
                actor=run.seller,
                order=run.order,
                reason="WRONG_ITEM",
                seller_memo=TEXTS["seller_return_wrong_item_memo"],
                pickup_method=self._pickup(run),
                pickup_carrier=CARRIERS[0],
                accept_now=True,
            )
            return
        claim = self._return_request(run)
        self._tick(run, 2, 30)
        claim_accept_return(
            actor=run.seller,
            claim=claim,
            pickup_method=self._pickup(run),
            pickup_carrier=CARRIERS[0],
        )

    def _story_return_completed(self, run: _Run) -> None:
        self._advance(run, "delivered")
        way = run.variant % 4
        if way == 2:
            self._tick(run, 5, 48)
            claim = claim_seller_start_return(
                actor=run.seller,
                order=run.order,
                reason="WRONG_ITEM",
                pickup_method=self._pickup(run),
                pickup_carrier=CARRIERS[1],
                accept_now=True,
            )
        else:
            claim = self._return_request(run)
            if way != 3:
                self._tick(run, 2, 30)
                claim = claim_accept_return(
                    actor=run.seller, claim=claim, pickup_method=PickupMethod.BUYER_SENDS
                )
        self._tick(run, 24, 96)
        buyer_fault = claim.fault == "buyer"
        claim_complete_return(
            actor=run.seller,
            claim=claim,
            goods_received=way != 3,
            confirmed=True,
            return_shipping_deduction=500 if buyer_fault and run.order.total_minor >= 2000 else 0,
            seller_memo=TEXTS["return_completed_memo"],
        )
        self._settle(run)

    def _story_exchange_requested(self, run: _Run) -> None:
        self._advance(run, "delivered")
        self._return_request(run, exchange=True)

    def _story_exchange_approved(self, run: _Run) -> None:
        self._advance(run, "delivered")
        if run.variant % 2:
            claim = self._return_request(run)
            self._tick(run, 2, 30)
            claim_convert_to_exchange(
                actor=run.seller,
                claim=claim,
                seller_memo=TEXTS["exchange_instead_memo"],
            )
        else:
            claim = self._return_request(run, exchange=True)
            self._tick(run, 2, 30)
            claim_approve_exchange(actor=run.seller, claim=claim)

    def _redeliver(self, run: _Run, claim: Claim) -> Claim:
        self._tick(run, 12, 48)
        return claim_redeliver(
            actor=run.seller,
            claim=claim,
            redelivery_date=timezone.localdate(run.t),
            carrier=self.rng.choice(CARRIERS),
            tracking_no=str(self.rng.randint(10**11, 10**12 - 1)),
        )

    def _exchange_shipped(self, run: _Run) -> Claim:
        self._advance(run, "delivered")
        claim = self._return_request(run, exchange=True)
        self._tick(run, 2, 30)
        claim = claim_approve_exchange(actor=run.seller, claim=claim)
        return self._redeliver(run, claim)

    def _non_receipt_shipped(self, run: _Run) -> Claim:
        self._advance(run, "shipped")
        self._tick(run, 72, 120)
        claim = claim_report_non_receipt(
            actor=run.buyer, order=run.order, memo=TEXTS["not_arrived_memo"]
        )
        return self._redeliver(run, claim)

    def _story_exchange_redelivering(self, run: _Run) -> None:
        self._exchange_shipped(run)

    def _story_non_receipt_redelivering(self, run: _Run) -> None:
        self._non_receipt_shipped(run)

    def _story_exchange_completed(self, run: _Run) -> None:
        claim = self._exchange_shipped(run)
        self._tick(run, 20, 60)
        claim_complete_redelivery(actor=run.buyer, claim=claim)

    def _story_non_receipt_redelivered(self, run: _Run) -> None:
        claim = self._non_receipt_shipped(run)
        self._tick(run, 20, 60)
        claim_complete_redelivery(actor=run.buyer, claim=claim)

    # -- stories: not received ---------------------------------------------------------------

    def _story_non_receipt_reported(self, run: _Run) -> None:
        self._advance(run, "shipped" if run.variant % 2 else "delivered")
        self._tick(run, 24, 72)
        claim_report_non_receipt(
            actor=run.buyer, order=run.order, memo=TEXTS["delivered_not_received_memo"]
        )

    def _story_non_receipt_refunded(self, run: _Run) -> None:
        self._advance(run, "shipped")
        self._tick(run, 72, 120)
        claim = claim_report_non_receipt(actor=run.buyer, order=run.order)
        self._tick(run, 4, 30)
        claim_refund_non_receipt(
            actor=run.seller, claim=claim, seller_memo=TEXTS["non_receipt_refund_memo"]
        )
        self._settle(run)

    def _story_non_receipt_partly_refunded(self, run: _Run) -> None:
        part = run.variant % 2 == 0
        self._place(run, quantity=2 if part else None)
        self._pay(run)
        self._confirm(run)
        self._ship(run)
        self._deliver(run)
        self._tick(run, 5, 48)
        if part:  # one of two pieces is missing: refund its share
            claim = claim_report_non_receipt(
                actor=run.buyer,
                order=run.order,
                duty=NonReceiptDuty.SL,
                missing_quantity=1,
                memo=TEXTS["piece_missing_memo"],
            )
            amount = None
        else:
            claim = claim_report_non_receipt(actor=run.buyer, order=run.order)
            amount = run.order.total_minor // 2
        self._tick(run, 4, 30)
        claim_refund_non_receipt(
            actor=run.seller,
            claim=claim,
            amount_minor=amount,
            seller_memo=TEXTS["shortfall_refund_memo"],
        )
        self._settle(run)

    # -- stories: closed without a refund -------------------------------------------------

    def _story_withdrawn(self, run: _Run) -> None:
        way = run.variant % 4
        if way == 0:  # the buyer changed their mind about cancelling; the order ships
            self._advance(run, "confirmed")
            self._tick(run, 1, 12)
            claim = claim_request_cancel(actor=run.buyer, order=run.order, reason="EDIT_ORDER")
            self._tick(run, 1, 12)
            claim_withdraw(actor=run.buyer, claim=claim, memo=TEXTS["cancel_withdrawn_memo"])
            self._ship(run)
            return
        if way == 3:  # a complaint the customer center withdrew on the seller's inquiry
            self._advance(run, "delivered")
            self._tick(run, 24, 48)
            claim = claim_report_non_receipt(actor=run.buyer, order=run.order)
            self._tick(run, 24, 48)
            claim_operator_withdraw(
                actor=self.operator,
                claim=claim,
                reason=TEXTS["complaint_withdrawn_reason"],
            )
            return
        self._advance(run, "delivered")
        claim = self._return_request(run, exchange=way == 2)
        self._tick(run, 2, 24)
        claim_withdraw(actor=run.buyer, claim=claim, memo=TEXTS["solved_memo"])
        self._complete(run)

    def _story_rejected_shipped(self, run: _Run) -> None:
        self._advance(run, "confirmed")
        self._tick(run, 1, 12)
        claim_request_cancel(
            actor=run.buyer, order=run.order, reason="EDIT_ORDER", memo=BUYER_CANCEL_MEMOS[1]
        )
        self._ship(run)  # shipping is the only way to decline
        if run.variant % 2:
            self._deliver(run)

    # -- inquiries ----------------------------------------------------------------------------

    def _inquiries(self) -> None:
        """Open a few sellers' inquiries, so that the console's queue has work in it."""
        for shop, status, category, subject, body, answer in INQUIRIES:
            cast = next(s for s in self.shops if s.shop.code == shop)
            order = (
                Order.objects.filter(shop=cast.shop, claims__status=status)
                .order_by("-order_no")
                .first()
            )
            inquiry = inquiry_open(
                actor=cast.sellers[0],
                category=category,
                subject=subject,
                body=body,
                order_nos=[str(order.order_no)] if order is not None else [],
            )
            if answer:
                inquiry_reply(
                    actor=self.operator,
                    inquiry=inquiry,
                    body=answer,
                    wait_for_seller=answer.endswith("？"),
                )

    # -- dates ------------------------------------------------------------------------------------

    def _redate(self) -> None:
        """Move every row the services stamped "now" to its time in the story (dates only)."""
        since = self.clock.first
        if since is None:
            return
        shops = [s.shop for s in self.shops]
        self._shift(OrderEvent.objects.filter(created_at__gte=since), ["created_at"])
        self._shift(Notification.objects.filter(created_at__gte=since), ["created_at"])
        self._shift(LedgerTransaction.objects.filter(created_at__gte=since), ["created_at"])
        self._shift(Note.objects.filter(created_at__gte=since), ["created_at"])
        self._shift(
            Refund.objects.filter(created_at__gte=since),
            ["created_at", "updated_at", "succeeded_at", "next_retry_at"],
        )
        self._shift(Claim.objects.filter(shop__in=shops), ["requested_at", "completed_at"])
        self._shift(
            Order.objects.filter(shop__in=shops),
            [
                "paid_at",
                "shipped_at",
                "delivered_at",
                "completed_at",
                "cancelled_at",
                "returned_at",
            ],
        )
        self._shift(Cart.objects.filter(shop__in=shops), ["paid_at"])

    def _shift(self, queryset: Any, fields: list[str]) -> None:
        rows = list(queryset.only("pk", *fields))
        for row in rows:
            for name in fields:
                setattr(row, name, self.clock.map(getattr(row, name)))
        queryset.model.objects.bulk_update(rows, fields, batch_size=500)
