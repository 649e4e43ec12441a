"""Fresh paid, unshipped orders for the benchmarks that cancel (bulk sheets, REST, mixed load).

The generated shops hold only a few hundred cancellable orders each (the
cancel benchmarks use them up), so `add_paid_orders` writes `count` new
orders of one shop with COPY, in the generator's own row format: paid a few
hours ago, new (shipping status 2; awaiting shipment with a ship date in two
days when `confirmed`), no claim, card and balance payments
mixed as in the generated data (the unpaid methods are paid too here).
Order and cart numbers are reserved from the application's counters, ids
continue the tables' sequences.
"""

from __future__ import annotations

import random
import time
from typing import Any

from bench.generate import DAY, HOUR, Generator, Ids, Plan, Writer


def add_paid_orders(
    shop_code: str,
    count: int,
    *,
    seed: int = 11,
    confirmed: bool = False,
    buyer_ids: list[int] | None = None,
    analyze: bool = True,
) -> list[int]:
    """Write `count` paid orders (one per cart) of shop `shop_code`; return their order nos.

    New orders, or with `confirmed` awaiting shipment with a ship date two
    days after payment (not delayed); bought by `buyer_ids` in turn when
    given, else by generated buyers at random.
    """
    from django.db import connection, transaction

    from claimdesk.core.ids import next_number

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT id FROM accounts_shop WHERE code = %s", [shop_code])
        found = cur.fetchone()
        if found is None:
            raise SystemExit(f"no shop {shop_code!r}: run bench.generate first")
        shop_id = int(found[0])
        cur.execute(
            "SELECT id, item_code, title, price_minor FROM orders_item WHERE shop_id = %s",
            [shop_id],
        )
        items = [(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in cur.fetchall()]
        cur.execute(
            "SELECT id FROM accounts_user WHERE role = 'buyer' AND username LIKE 'bench-b%%' "
            "ORDER BY id LIMIT 5000"
        )
        buyers = buyer_ids or [int(r[0]) for r in cur.fetchall()]
        # the table locks keep a concurrent writer from taking the ids reserved here
        cur.execute("LOCK TABLE orders_cart, orders_order IN SHARE ROW EXCLUSIVE MODE")
        cur.execute("SELECT coalesce(max(id), 0) + 1 FROM orders_cart")
        first_cart = int(cur.fetchone()[0])
        cur.execute("SELECT coalesce(max(id), 0) + 1 FROM orders_order")
        first_order = int(cur.fetchone()[0])
        ids = Ids(
            cart=first_cart,
            order=first_order,
            order_no=next_number("order_no", count),
            cart_no=next_number("cart_no", count),
        )
        first_no = ids.order_no
        now = time.time()
        plan = Plan(
            orders=count, shops=1, big_orders=0, claims_per_status=0, buyers=len(buyers),
            seed=seed, now=now,
        )  # fmt: skip
        raw: Any = connection.connection
        with raw.cursor() as copy_cursor:
            writer = Writer(copy_cursor)
            gen = Generator(plan, ids, writer, {"buyers": buyers})
            rng = random.Random(seed)
            for n in range(count):
                ordered = now - rng.uniform(2 * HOUR, 0.9 * DAY)
                paid = ordered + rng.uniform(60, HOUR)
                buyer = buyers[n % len(buyers)] if buyer_ids else rng.choice(buyers)
                method = rng.choice(["card"] * 6 + ["balance"] * 3)
                cart_id = gen.cart(
                    shop_id=shop_id,
                    buyer_id=buyer,
                    ordered=ordered,
                    paid=paid,
                    method=method,
                    shipping_fee=rng.choice([0, 0, 550]),
                )
                gen.order(
                    shop_id=shop_id,
                    cart_id=cart_id,
                    buyer_id=buyer,
                    item=rng.choice(items),
                    status=3 if confirmed else 2,
                    ordered=ordered,
                    paid=paid,
                    est_ship=paid + 2 * DAY if confirmed else None,
                )
            writer.flush()
        for table in ("orders_cart", "orders_order"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        if analyze:
            cur.execute("ANALYZE orders_order")
    return list(range(first_no, first_no + count))
