"""Fill a PostgreSQL database with marketplace-sized data, fast, with COPY.

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \
        .venv/bin/python -m bench.generate --reset

Defaults: 1,000,000 orders over 1,000 shops; shop `bench-big` has 200,000 of
them and 20,000 claims in each of the 16 claim statuses (320,000 claims);
the other 999 shops share the rest with a realistic shipping mix and about
4 % claims. Order dates cover the last 365 days with a growing marketplace
(density rises linearly), so recent weeks are busier than a year ago.

What is written: shops, one owner per shop (`bench-s<n>-owner`, the big
shop's is `bench-big-owner`, password `bench-pass-2026`), buyers, items,
carts, orders, claims, refunds for the claims that refunded, and unread
notes for the big shop. What is not: order history rows (`OrderEvent`) and
ledger postings for this bulk history; pages do not need them and the
services write both for every action taken after loading.

Rows go in with `COPY ... FROM STDIN` over psycopg 3. Secondary indexes and
foreign keys of the big tables are dropped first and put back afterwards
(one sort per index and one validating join per key instead of a million
index insertions and deferred trigger checks), all in one transaction: a
failure leaves the database as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

STATUSES = (1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16, 91, 92, 93, 94)
OPEN = {1, 2, 4, 5, 11, 12, 13, 91}
PASSWORD = "bench-pass-2026"  # noqa: S105 - a benchmark login, documented in bench/README.md
BIG_SHOP_CODE = "bench-big"
HOUR = 3600.0
DAY = 86400.0
BULK_TABLES = ("orders_cart", "orders_order", "claims_claim", "payments_refund", "messaging_note")

ORDER_COLS = (
    "id order_no item_code seller_item_code item_title option_text option_code quantity currency "
    "unit_price_minor option_price_minor seller_discount_minor cart_seller_discount_minor "
    "cart_platform_discount_minor total_minor commission_minor settle_price_minor order_country "
    "receiver_name receiver_kana receiver_phone receiver_mobile receiver_country receiver_zip "
    "receiver_address receiver_address2 shipping_way partner_name shipping_status carrier "
    "tracking_no delay_type delay_memo ordered_at paid_at est_ship_date shipped_at delivered_at "
    "completed_at cancelled_at returned_at delay_reminded_at version buyer_id cart_id item_id shop_id"
).split()
CART_COLS = (
    "id cart_no currency shipping_fee_minor payment_method payment_fee_minor payment_reference "
    "ordered_at paid_at payment_deadline buyer_id shop_id"
).split()
CLAIM_COLS = (
    "id type status is_open reason_code fault requested_by buyer_memo seller_memo operator_memo "
    "pickup_method pickup_carrier return_address non_receipt_duty non_receipt_solution "
    "missing_quantity redelivery_date redelivery_carrier redelivery_tracking_no grant_payment_fee "
    "return_shipping_deduction_minor cancelled_without_notice requested_at completed_at "
    "flagged_overdue_at escalated_at previous_status buyer_id order_id shop_id ordered_at"
).split()
REFUND_COLS = (
    "id currency amount_minor item_minor shipping_minor payment_fee_minor deduction_minor "
    "payment_fee_borne_by_seller destination status idempotency_key attempt auto_retries "
    "gateway_reference failure_code failure_message created_at updated_at succeeded_at "
    "next_retry_at buyer_id claim_id order_id pending_since"
).split()
NOTE_COLS = (
    "author_role recipient_role category title body created_at read_at author_id order_id by_mail "
    "shop_id"
).split()

SURNAMES = (
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上".split()
)
GIVEN = "太郎 花子 一郎 美咲 大輔 陽菜 翔太 結衣 健 さくら 蓮 葵".split()
CITIES = [
    "東京都新宿区西新宿",
    "大阪府大阪市北区梅田",
    "愛知県名古屋市中村区名駅",
    "福岡県福岡市博多区博多駅前",
    "北海道札幌市中央区北五条西",
    "神奈川県横浜市西区みなとみらい",
]
CARRIERS = ["ヤマト運輸", "佐川急便", "日本郵便"]
ITEM_WORDS = (
    "Tシャツ スニーカー バッグ 腕時計 イヤホン マグカップ 帽子 ワンピース 財布 スマホケース".split()
)
OPTIONS = ["", "Color:Black / Size:M", "Color:White / Size:L", "Size:S"]
METHODS = ["card"] * 6 + ["bank_transfer", "convenience_store", "balance"]
CANCEL_SELLER = ["OUT_OF_STOCK", "UNDELIVERABLE_REGION", "SHIPPING_DELAY"]
RETURN_SELLER = ["DEFECTIVE", "WRONG_ITEM", "DELIVERY_DELAY"]
RETURN_BUYER = ["EDIT_ORDER", "ORDER_CANCEL", "OTHER"]


def ts(seconds: float | None) -> str:
    """Return an epoch time as a COPY timestamptz literal (or NULL)."""
    if seconds is None:
        return "\\N"
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def day(seconds: float | None) -> str:
    if seconds is None:
        return "\\N"
    return dt.datetime.fromtimestamp(seconds + 9 * HOUR, dt.UTC).date().isoformat()


def nul(value: Any) -> str:
    return "\\N" if value is None else str(value)


@dataclass
class Ids:
    """Next primary keys and numbers, continued from whatever the database holds."""

    cart: int = 1
    order: int = 1
    claim: int = 1
    refund: int = 1
    order_no: int = 400_000_001
    cart_no: int = 150_000_001


@dataclass
class Plan:
    orders: int
    shops: int
    big_orders: int
    claims_per_status: int
    buyers: int
    seed: int
    now: float
    span_days: int = 365
    stats: dict[str, int] = field(default_factory=dict)


class Writer:
    """Buffer COPY text rows per table and flush them in large writes."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.buffers: dict[str, io.StringIO] = {t: io.StringIO() for t in BULK_TABLES}
        self.columns = {
            "orders_cart": CART_COLS,
            "orders_order": ORDER_COLS,
            "claims_claim": CLAIM_COLS,
            "payments_refund": REFUND_COLS,
            "messaging_note": NOTE_COLS,
        }
        self.counts = dict.fromkeys(BULK_TABLES, 0)

    def row(self, table: str, values: list[str]) -> None:
        self.buffers[table].write("\t".join(values))
        self.buffers[table].write("\n")
        self.counts[table] += 1

    def flush(self) -> None:
        # Carts before orders before claims before refunds: the keys are
        # checked at the end anyway, but this keeps a partial load readable.
        for table in BULK_TABLES:
            data = self.buffers[table].getvalue()
            if not data:
                continue
            cols = ", ".join(self.columns[table])
            with self.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                copy.write(data.encode())
            self.buffers[table] = io.StringIO()


class Generator:
    def __init__(self, plan: Plan, ids: Ids, writer: Writer, people: dict[str, Any]) -> None:
        self.p = plan
        self.ids = ids
        self.w = writer
        self.rng = random.Random(plan.seed)
        self.people = people
        self.start = plan.now - plan.span_days * DAY
        self.addresses = [
            f"{self.rng.choice(CITIES)}{self.rng.randint(1, 9)}-{self.rng.randint(1, 30)}-{self.rng.randint(1, 20)}"
            for _ in range(500)
        ]
        self.names = [f"{s} {g}" for s in SURNAMES for g in GIVEN]

    # --- time ---------------------------------------------------------------------------------

    def order_time(self) -> float:
        """A moment in the last year, busier lately (linearly rising density)."""
        return self.start + math.sqrt(self.rng.random()) * (self.p.now - self.start - 600)

    # --- rows ---------------------------------------------------------------------------------

    def cart(
        self,
        *,
        shop_id: int,
        buyer_id: int,
        ordered: float,
        paid: float | None,
        method: str,
        shipping_fee: int,
    ) -> int:
        cart_id = self.ids.cart
        self.ids.cart += 1
        fee = 0 if method in ("card", "balance") else 330
        self.w.row(
            "orders_cart",
            [
                str(cart_id),
                str(self.ids.cart_no),
                "JPY",
                str(shipping_fee),
                method,
                str(fee),
                f"ref-{cart_id}" if paid else "",
                ts(ordered),
                ts(paid),
                ts(ordered + 3 * DAY)
                if method in ("bank_transfer", "convenience_store")
                else "\\N",
                str(buyer_id),
                str(shop_id),
            ],
        )
        self.ids.cart_no += 1
        return cart_id

    def order(
        self,
        *,
        shop_id: int,
        cart_id: int,
        buyer_id: int,
        item: tuple[int, str, str, int],
        status: int,
        ordered: float,
        paid: float | None,
        shipped: float | None = None,
        delivered: float | None = None,
        completed: float | None = None,
        cancelled: float | None = None,
        returned: float | None = None,
        delay_type: int | None = None,
        est_ship: float | None = None,
    ) -> tuple[int, int, int, float]:
        rng = self.rng
        order_id = self.ids.order
        self.ids.order += 1
        item_id, code, title, price = item
        qty = 1 if rng.random() < 0.85 else rng.randint(2, 4)
        option = rng.choice(OPTIONS)
        total = price * qty
        commission = total // 10
        name = rng.choice(self.names)
        tracking = f"{rng.randint(10**11, 10**12 - 1)}" if shipped else ""
        self.w.row(
            "orders_order",
            [
                str(order_id),
                str(self.ids.order_no),
                code,
                f"S-{code}",
                title,
                option,
                f"OPT{OPTIONS.index(option)}" if option else "",
                str(qty),
                "JPY",
                str(price),
                "0",
                "0",
                "0",
                "0",
                str(total),
                str(commission),
                str(total - commission),
                "JP",
                name,
                "",
                f"03-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                "",
                "JP",
                f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                rng.choice(self.addresses),
                "",
                "一般運送 (追跡-O)",
                "",
                str(status),
                rng.choice(CARRIERS) if shipped else "",
                tracking,
                nul(delay_type),
                "入荷待ち" if delay_type else "",
                ts(ordered),
                ts(paid),
                day(est_ship),
                ts(shipped),
                ts(delivered),
                ts(completed),
                ts(cancelled),
                ts(returned),
                "\\N",
                "1",
                str(buyer_id),
                str(cart_id),
                str(item_id),
                str(shop_id),
            ],
        )
        self.ids.order_no += 1
        return order_id, total, qty, ordered

    def claim(
        self,
        *,
        order: tuple[int, int, int, float],
        shop_id: int,
        buyer_id: int,
        status: int,
        requested: float,
        completed: float | None = None,
        refund: str | None = None,
        method: str = "card",
    ) -> None:
        rng = self.rng
        claim_id = self.ids.claim
        self.ids.claim += 1
        order_id, total, qty, ordered = order
        kind, reason, fault, by = self.kind_of(status)
        pickup = "seller_collects" if status in (5, 6, 12, 13, 92) else ""
        duty = rng.choice(["SC", "SL"]) if status in (14, 15, 91) else ""
        solution = {14: "NC", 15: "NC"}.get(status, "")
        missing = "1" if duty == "SL" else "\\N"
        redelivery = status in (13, 92)
        is_open = status in OPEN
        if not is_open and completed is None:
            completed = requested + rng.uniform(HOUR, 3 * DAY)
            completed = min(completed, self.p.now - 60)
        self.w.row(
            "claims_claim",
            [
                str(claim_id),
                kind,
                str(status),
                "t" if is_open else "f",
                reason,
                fault,
                by,
                "サイズが合いませんでした" if by == "buyer" else "",
                "",
                "",
                pickup,
                rng.choice(CARRIERS) if pickup else "",
                "{}",
                duty,
                solution,
                missing,
                day(requested + 3 * DAY) if redelivery else "\\N",
                rng.choice(CARRIERS) if redelivery else "",
                str(rng.randint(10**11, 10**12 - 1)) if redelivery else "",
                "f",
                "0",
                "f",
                ts(requested),
                ts(None if is_open else completed),
                "\\N",
                "\\N",
                "\\N",
                str(buyer_id),
                str(order_id),
                str(shop_id),
                ts(ordered),
            ],
        )
        if refund is not None:
            refund_id = self.ids.refund
            self.ids.refund += 1
            amount = total // 2 if status == 15 else total
            destination = "card" if method == "card" else "balance"
            done = refund == "succeeded"
            moment = completed if done else requested
            self.w.row(
                "payments_refund",
                [
                    str(refund_id),
                    "JPY",
                    str(amount),
                    str(amount),
                    "0",
                    "0",
                    "0",
                    "f",
                    destination,
                    refund,
                    f"claim-{claim_id}",
                    "1",
                    "0" if done else "3",
                    f"sim-{refund_id}" if done else "",
                    "" if done else "card_declined",
                    "" if done else "declined by the issuer",
                    ts(requested),
                    ts(moment),
                    ts(moment if done else None),
                    "\\N",
                    str(buyer_id),
                    str(claim_id),
                    str(order_id),
                    ts(requested),  # pending_since: when the refund was recorded
                ],
            )

    def kind_of(self, status: int) -> tuple[str, str, str, str]:
        """Return (type, reason, fault, requested_by) fitting a claim status."""
        rng = self.rng
        if status == 16:
            return "unpaid_cancel", "UNPAID", "buyer", "system"
        if status in (1, 2, 3):
            if status == 1 or rng.random() < 0.5:
                return "cancel", "CUSTOMER_REQUEST", "buyer", "buyer"
            return "cancel", rng.choice(CANCEL_SELLER), "seller", "seller"
        if status in (93, 94):
            return "cancel", "CUSTOMER_REQUEST", "buyer", "buyer"
        if status in (14, 15, 91):
            return "non_receipt", "DELIVERY_DELAY", "seller", "buyer"
        kind = "exchange" if status in (11, 12, 13, 92) else "return"
        if rng.random() < 0.5:
            return kind, rng.choice(RETURN_SELLER), "seller", "buyer"
        return kind, rng.choice(RETURN_BUYER), "buyer", "buyer"

    # --- shops --------------------------------------------------------------------------------

    def big_shop(self, shop_id: int, items: list[tuple[int, str, str, int]]) -> None:
        """200,000 orders, every one carrying a claim: N claims in each of the 16 statuses."""
        rng = self.rng
        n = self.p.claims_per_status
        # The order's state follows its current claim; the stacked claims are older, closed ones.
        current = [16, 3, 2, 1, 91, 4, 5, 11, 12, 13]
        stacked = [6, 14, 15, 92, 93, 94]
        plans = [s for s in current for _ in range(n)]
        rng.shuffle(plans)
        extra = [s for s in stacked for _ in range(n)]
        rng.shuffle(extra)
        plain = self.p.big_orders - len(plans)
        plans += [0] * max(plain, 0)  # more orders than claims: plain ones (scaled-down runs)
        stack_slots = [i for i, s in enumerate(plans) if s in (91, 4, 5, 11, 12, 13)]
        stack_for = dict(zip(stack_slots, extra, strict=False))
        buyers = self.people["buyers"]
        for i, status in enumerate(plans):
            if status == 0:
                self.plain_order(shop_id, items, rng.choice(buyers))
                continue
            buyer = rng.choice(buyers)
            item = rng.choice(items)
            ordered = self.order_time()
            method = "bank_transfer" if status == 16 else rng.choice(METHODS)
            paid = None if status == 16 else ordered + rng.uniform(60, 2 * HOUR)
            t = self.timeline(status, ordered, paid)
            pre = t.pop("pre", 2)
            shift = max(0.0, max(v for v in t.values() if v is not None) - (self.p.now - 120))
            if shift:
                ordered -= shift
                paid = paid - shift if paid else None
                t = {k: (v - shift if v is not None else None) for k, v in t.items()}
            t["pre"] = pre
            ship_status = t["pre"] if status in (1, 2, 3) else {16: 1, 91: 4}.get(status, 5)
            cart = self.cart(
                shop_id=shop_id,
                buyer_id=buyer,
                ordered=ordered,
                paid=paid,
                method=method,
                shipping_fee=rng.choice([0, 0, 550]),
            )
            order = self.order(
                shop_id=shop_id,
                cart_id=cart,
                buyer_id=buyer,
                item=item,
                status=ship_status,
                ordered=ordered,
                paid=paid,
                shipped=t.get("shipped"),
                delivered=t.get("delivered"),
                cancelled=t.get("cancelled"),
                est_ship=(paid + 2 * DAY) if paid and ship_status == 3 else None,
            )
            if i in stack_for:
                old = stack_for[i]
                opened = t["requested"]
                older = max(
                    (t.get("delivered") or t.get("shipped") or ordered) + HOUR,
                    opened - rng.uniform(2 * DAY, 10 * DAY),
                )
                if old == 94:
                    older = (paid or ordered) + rng.uniform(HOUR, 10 * HOUR)
                self.claim(
                    order=order,
                    shop_id=shop_id,
                    buyer_id=buyer,
                    status=old,
                    requested=older,
                    completed=min(older + rng.uniform(HOUR, DAY), opened - 60),
                    refund="succeeded" if old in (6, 14, 15) else None,
                    method=method,
                )
            # CANCELLING: the card refund was declined and waits for an operator (a pending one
            # would make every worker started on this database send 20,000 refunds first)
            refund = {3: "succeeded", 2: "failed"}.get(status)
            self.claim(
                order=order,
                shop_id=shop_id,
                buyer_id=buyer,
                status=status,
                requested=t["requested"],
                completed=t.get("cancelled"),
                refund=refund,
                method=method,
            )
            if status in (4, 91, 11) and rng.random() < 0.05:
                self.note(
                    order[0], shop_id, buyer, t["requested"] + HOUR, unread=rng.random() < 0.3
                )
            self.maybe_flush()

    def timeline(self, status: int, ordered: float, paid: float | None) -> dict[str, Any]:
        rng = self.rng
        if status == 16:
            cancelled = ordered + 3 * DAY + rng.uniform(0, HOUR)
            return {"requested": cancelled, "cancelled": cancelled}
        assert paid is not None  # noqa: S101 - every other plan is paid
        if status in (1, 2, 3):
            requested = paid + rng.uniform(HOUR, 2 * DAY)
            out: dict[str, Any] = {"requested": requested, "pre": rng.choice([2, 3])}
            if status in (2, 3):
                out["cancelled"] = requested + rng.uniform(60, 6 * HOUR)
            return out
        shipped = paid + rng.uniform(12 * HOUR, 3 * DAY)
        if status == 91:
            return {"shipped": shipped, "requested": shipped + rng.uniform(5 * DAY, 10 * DAY)}
        delivered = shipped + rng.uniform(DAY, 3 * DAY)
        return {
            "shipped": shipped,
            "delivered": delivered,
            "requested": delivered + rng.uniform(HOUR, 7 * DAY),
        }

    def plain_order(
        self,
        shop_id: int,
        items: list[tuple[int, str, str, int]],
        buyer: int,
        *,
        ordered: float | None = None,
        cart: tuple[int, float | None, str] | None = None,
        claims: bool = False,
    ) -> tuple[int, float | None, str]:
        """One order whose state follows its age; about 4 % get a claim when `claims`."""
        rng = self.rng
        now = self.p.now
        ordered = ordered if ordered is not None else self.order_time()
        age = (now - ordered) / DAY
        if cart is None:
            method = rng.choice(METHODS)
            unpaid = method in ("bank_transfer", "convenience_store") and (
                age < 3 and rng.random() < 0.5 or rng.random() < 0.03
            )
            paid = None if unpaid else ordered + rng.uniform(60, 2 * HOUR)
            if paid and paid > now - 60:
                paid = None
            cart_id = self.cart(
                shop_id=shop_id,
                buyer_id=buyer,
                ordered=ordered,
                paid=paid,
                method=method,
                shipping_fee=rng.choice([0, 0, 550]),
            )
        else:
            cart_id, paid, method = cart
        item = rng.choice(items)
        kw: dict[str, Any] = {}
        claim: tuple[int, float, float | None, str | None] | None = None
        if paid is None:
            status = 1
            if age > 3:  # the unpaid auto-cancel ran
                kw["cancelled"] = ordered + 3 * DAY
                claim = (16, ordered + 3 * DAY, ordered + 3 * DAY, None)
        elif age < 1:
            status = 2
            if claims and rng.random() < 0.04:
                claim = (1, min(paid + HOUR, now - 60), None, None)
        elif age < 3 or (age < 7 and rng.random() < 0.3):
            status = 3
            kw["est_ship"] = paid + (2 if rng.random() < 0.9 else -1) * DAY + (age - 1) * DAY
            if rng.random() < 0.05:
                kw["delay_type"] = rng.choice([1, 2, 3, 4])
        else:
            shipped = paid + rng.uniform(12 * HOUR, 3 * DAY)
            kw["shipped"] = shipped
            delivered = shipped + rng.uniform(DAY, 3 * DAY)
            if delivered > now - 60 or age < 5 and rng.random() < 0.5:
                status = 4
            else:
                status = 5
                kw["delivered"] = delivered
                if delivered + 14 * DAY < now:
                    kw["completed"] = delivered + 14 * DAY
                if claims and rng.random() < 0.04:
                    requested = delivered + rng.uniform(HOUR, 5 * DAY)
                    if requested < now - 60:
                        pick = rng.random()
                        if pick < 0.6 and requested + 3 * DAY < now:
                            kw["returned"] = requested + 3 * DAY
                            claim = (6, requested, requested + 3 * DAY, "succeeded")
                        elif requested + 7 * DAY > now:
                            claim = (4, requested, None, None)
                        else:
                            claim = (93, requested, None, None)
        if (
            claims
            and paid is not None
            and status in (2, 3)
            and claim is None
            and rng.random() < 0.02
        ):
            requested = min(paid + rng.uniform(HOUR, DAY), now - 120)
            kw["cancelled"] = requested + 60
            claim = (3, requested, requested + 60, "succeeded")
        order = self.order(
            shop_id=shop_id,
            cart_id=cart_id,
            buyer_id=buyer,
            item=item,
            status=status,
            ordered=ordered,
            paid=paid,
            **kw,
        )
        if claim is not None:
            cstatus, requested, completed, refund = claim
            self.claim(
                order=order,
                shop_id=shop_id,
                buyer_id=buyer,
                status=cstatus,
                requested=requested,
                completed=completed,
                refund=refund,
                method=method,
            )
        return cart_id, paid, method

    def small_shop(self, shop_id: int, items: list[tuple[int, str, str, int]], orders: int) -> None:
        rng = self.rng
        buyers = self.people["buyers"]
        made = 0
        while made < orders:
            buyer = rng.choice(buyers)
            ordered = self.order_time()
            size = min(orders - made, 1 if rng.random() < 0.8 else rng.randint(2, 3))
            cart = self.plain_order(shop_id, items, buyer, ordered=ordered, claims=True)
            for _ in range(size - 1):
                self.plain_order(shop_id, items, buyer, ordered=ordered, cart=cart, claims=True)
            made += size
            self.maybe_flush()

    def note(self, order_id: int, shop_id: int, buyer_id: int, at: float, *, unread: bool) -> None:
        at = min(at, self.p.now - 60)
        self.w.row(
            "messaging_note",
            [
                "buyer",
                "seller",
                "return_exchange",
                "返品について",
                "返品の手順を教えてください。",
                ts(at),
                "\\N" if unread else ts(at + HOUR),
                str(buyer_id),
                str(order_id),
                "f",
                str(shop_id),
            ],
        )

    def maybe_flush(self) -> None:
        if self.w.counts["orders_order"] - self.p.stats.get("flushed", 0) >= 50_000:
            self.w.flush()
            self.p.stats["flushed"] = self.w.counts["orders_order"]
            done = self.w.counts["orders_order"]
            print(f"  {done:>9,} orders  {time.monotonic() - T0:6.1f} s", flush=True)


T0 = time.monotonic()


def _drop_keys(cur: Any) -> list[str]:
    """Drop secondary indexes and foreign keys of the bulk tables; return the DDL to restore them."""
    restore: list[str] = []
    tables = list(BULK_TABLES)
    cur.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)
        """,
        [tables],
    )
    for table, name, definition in cur.fetchall():
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    cur.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        [tables],
    )
    index_ddl = []
    for name, definition in cur.fetchall():
        cur.execute(f"DROP INDEX {name}")
        index_ddl.append(definition)
    # indexes first, then the keys (their validation uses the indexes)
    return index_ddl + restore


def _reset(cur: Any) -> None:
    cur.execute(
        """
        TRUNCATE messaging_note, payments_refund, claims_claim, orders_orderevent, orders_order,
                 orders_cart, orders_item, accounts_user, accounts_shop, django_tasks_database_dbtaskresult,
                 payments_ledgerentry, payments_ledgertransaction, core_counter, core_lease,
                 django_session
        RESTART IDENTITY CASCADE
        """
    )


def _people(
    cur: Any, plan: Plan
) -> tuple[list[tuple[int, str]], dict[str, Any], dict[int, list[tuple[int, str, str, int]]]]:
    from django.contrib.auth.hashers import make_password

    rng = random.Random(plan.seed + 1)
    password = make_password(PASSWORD)
    now = ts(plan.now - 400 * DAY)
    shops = []
    with cur.copy(
        "COPY accounts_shop (code, name, email, language, created_at) FROM STDIN"
    ) as copy:
        for n in range(plan.shops):
            code = BIG_SHOP_CODE if n == 0 else f"bench-s{n}"
            copy.write_row([code, f"ベンチ店 {n}", f"{code}@bench.example", "ja", now])
    cur.execute("SELECT id, code FROM accounts_shop WHERE code LIKE 'bench-%%' ORDER BY id")
    shops = cur.fetchall()
    user_cols = (
        "password, is_superuser, username, first_name, last_name, email, is_staff, is_active, "
        "date_joined, role, display_name, kana_name, language, time_zone, shop_id"
    )
    with cur.copy(f"COPY accounts_user ({user_cols}) FROM STDIN") as copy:
        for shop_id, code in shops:
            name = "bench-big-owner" if code == BIG_SHOP_CODE else f"{code}-owner"
            copy.write(
                f"{password}\tf\t{name}\t\t\t{name}@bench.example\tf\tt\t{now}\tseller\t{name}\t\tja\tAsia/Tokyo\t{shop_id}\n".encode()
            )
        buf = io.StringIO()
        for n in range(plan.buyers):
            name = f"bench-b{n}"
            buf.write(
                f"{password}\tf\t{name}\t\t\t{name}@bench.example\tf\tt\t{now}\tbuyer\t{rng.choice(SURNAMES)} {rng.choice(GIVEN)}\t\tja\tAsia/Tokyo\t\\N\n"
            )
        copy.write(buf.getvalue().encode())
    cur.execute("SELECT id FROM accounts_user WHERE role = 'buyer' AND username LIKE 'bench-b%%'")
    buyers = [r[0] for r in cur.fetchall()]
    with cur.copy(
        "COPY orders_item (item_code, seller_item_code, title, price_minor, currency, returnable, shop_id) FROM STDIN"
    ) as copy:
        for shop_id, code in shops:
            count = 500 if code == BIG_SHOP_CODE else 20
            for k in range(count):
                copy.write_row(
                    [
                        f"B{shop_id:05d}{k:04d}",
                        f"S{k:04d}",
                        f"{rng.choice(ITEM_WORDS)} {k}",
                        rng.choice([980, 1980, 2980, 4980, 9800, 19800]),
                        "JPY",
                        True,
                        shop_id,
                    ]
                )
    cur.execute(
        "SELECT id, item_code, title, price_minor, shop_id FROM orders_item WHERE item_code LIKE 'B%%'"
    )
    items: dict[int, list[tuple[int, str, str, int]]] = {}
    for item_id, code, title, price, shop_id in cur.fetchall():
        items.setdefault(shop_id, []).append((item_id, code, title, price))
    return shops, {"buyers": buyers}, items


def generate(plan: Plan, *, reset: bool) -> dict[str, int]:
    """Load the data set of `plan`; return row counts."""
    from django.db import connection

    from claimdesk.claims.tally import CLAIMS
    from claimdesk.core import tally
    from claimdesk.orders.tally import ORDERS

    tallies = (ORDERS, CLAIMS)

    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor != "postgresql":
        raise SystemExit("bench.generate needs PostgreSQL (DATABASE_URL=postgres://…)")
    with raw.transaction(), raw.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cur.execute("SELECT count(*) FROM orders_order")
        existing = cur.fetchone()[0]
        if existing and not reset:
            raise SystemExit(f"{existing} orders exist already; pass --reset to replace them")
        if reset:
            _reset(cur)
        print("people, shops, items", flush=True)
        shops, people, items = _people(cur, plan)
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check those rows now: DDL follows
        restore = _drop_keys(cur)
        # the box-count tallies are recounted once at the end instead of by a trigger per row
        for spec in tallies:
            cur.execute(f"ALTER TABLE {spec.source} DISABLE TRIGGER USER")
        writer = Writer(cur)
        gen = Generator(plan, Ids(), writer, people)
        rest = plan.orders - plan.big_orders
        others = shops[1:]
        # a long tail: a few busy shops, many quiet ones
        weights = [1 / (k + 10) for k in range(len(others))]
        scale = rest / sum(weights) if others else 0
        counts = [int(w * scale) for w in weights]
        if counts:
            counts[0] += rest - sum(counts)
        print(f"big shop: {plan.big_orders:,} orders", flush=True)
        gen.big_shop(shops[0][0], items[shops[0][0]])
        print(f"{len(others)} other shops: {rest:,} orders", flush=True)
        for (shop_id, _code), count in zip(others, counts, strict=True):
            gen.small_shop(shop_id, items[shop_id], count)
        writer.flush()
        print(
            f"rows written  {time.monotonic() - T0:6.1f} s; restoring indexes and keys", flush=True
        )
        for ddl in restore:
            cur.execute(ddl)
        print(f"indexes back  {time.monotonic() - T0:6.1f} s", flush=True)
        for spec in tallies:
            cur.execute(f"ALTER TABLE {spec.source} ENABLE TRIGGER USER")
            for sql in tally.rebuild_sql(spec, "postgresql"):
                cur.execute(sql)
        print(f"tallies       {time.monotonic() - T0:6.1f} s", flush=True)
        for table in (
            "orders_cart",
            "orders_order",
            "claims_claim",
            "payments_refund",
            "accounts_user",
            "accounts_shop",
            "orders_item",
        ):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        cur.execute(
            "INSERT INTO core_counter (name, value) VALUES ('order_no', %s), ('cart_no', %s) "
            "ON CONFLICT (name) DO UPDATE SET value = GREATEST(core_counter.value, EXCLUDED.value)",
            [gen.ids.order_no, gen.ids.cart_no],
        )
    was_autocommit = raw.autocommit
    raw.autocommit = True  # VACUUM runs outside a transaction
    with raw.cursor() as cur:
        counted = [spec.table for spec in tallies]
        for table in ("accounts_shop", "accounts_user", "orders_item", *BULK_TABLES, *counted):
            cur.execute(f"VACUUM (ANALYZE) {table}")
    raw.autocommit = was_autocommit
    print(f"analyzed      {time.monotonic() - T0:6.1f} s", flush=True)
    return writer.counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--shops", type=int, default=1_000)
    parser.add_argument("--big-orders", type=int, default=200_000)
    parser.add_argument("--claims-per-status", type=int, default=20_000)
    parser.add_argument("--buyers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reset", action="store_true", help="truncate the data tables first")
    parser.add_argument(
        "--allow-any-database",
        action="store_true",
        help="run even if the database name does not contain 'bench' or 'test'",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    name = str(settings.DATABASES["default"]["NAME"])
    if not args.allow_any_database and "bench" not in name and "test" not in name:
        raise SystemExit(
            f"refusing to fill database {name!r}: use a dedicated one (e.g. claimdesk_bench)"
        )
    needed = 10 * args.claims_per_status
    if args.big_orders < needed:
        raise SystemExit(f"--big-orders must be at least 10 x --claims-per-status ({needed})")
    plan = Plan(
        orders=args.orders,
        shops=args.shops,
        big_orders=args.big_orders,
        claims_per_status=args.claims_per_status,
        buyers=args.buyers,
        seed=args.seed,
        now=timezone.now().timestamp(),
    )
    counts = generate(plan, reset=args.reset)
    print(
        f"done in {time.monotonic() - T0:.1f} s: "
        + ", ".join(f"{t}={n:,}" for t, n in counts.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
