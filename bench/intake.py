"""Orders ingested per second through POST /api/v1/platform/orders under gunicorn.

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \\
        .venv/bin/python -m bench.intake [--batches 40] [--batch-size 500] [--clients 2]

On the generated database (1,000,000 orders), with gunicorn's 2 sync workers
(`bench.api.Gunicorn`): 20 shops and 2,000 buyers of the marketplace are
sent first (not timed), then `--batches` batches of `--batch-size` new carts,
one in five with two order lines, card and bank-transfer payments mixed, by
`--clients` client threads each with its own keep-alive session. The figure
is order lines created per second of wall time over all batches, with each
batch's latency; the last step sends one batch again and checks that nothing
is created the second time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from collections import Counter
from typing import Any

from bench.api import Gunicorn, _load, _summary
from bench.common import machine, save, setup_django

SHOPS = 20
BUYERS = 2000


def _cart(run: str, n: int) -> dict[str, Any]:
    shop = n % SHOPS
    lines = 2 if n % 5 == 0 else 1
    return {
        "external_id": f"{run}-c{n}",
        "shop": f"bench-mp-s{shop}",
        "buyer": f"bench-mp-b{n % BUYERS}",
        "currency": "JPY",
        "shipping_fee_minor": 500,
        "payment_method": "bank_transfer" if n % 4 == 0 else "card",
        "ordered_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=n % 600)).isoformat(),
        "receiver": {"name": "山田 太郎", "zip_code": "150-0001", "address": "東京都渋谷区1-2-3"},
        "orders": [
            {
                "external_id": f"{run}-c{n}-{k}",
                "item": {"code": f"MP{shop:03d}{(n + k) % 50:04d}", "name": f"Item {(n + k) % 50}"},
                "option": {"code": "M", "text": "Size: M", "price_minor": 0},
                "quantity": 1 + k,
                "unit_price_minor": 1980 + 100 * ((n + k) % 7),
            }
            for k in range(lines)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    args = parser.parse_args(argv)
    started = machine()
    setup_django()
    from django.db import connection

    from claimdesk.accounts.tokens import platform_token_create, platform_user
    from claimdesk.orders.models import Order

    tokens = [
        platform_token_create(actor=platform_user(), name=f"bench intake {n}")[1]
        for n in range(args.clients)
    ]
    before = Order.objects.count()
    connection.close()
    server = Gunicorn(args.gunicorn_workers, prefix="claimdesk-bench-intake-")
    run = uuid.uuid4().hex[:8]
    results: dict[str, Any] = {"orders_before": before}
    try:
        server.start()
        shops = [
            {"external_id": f"bench-mp-s{n}", "name": f"Marketplace shop {n}"} for n in range(SHOPS)
        ]
        buyers = [
            {"external_id": f"bench-mp-b{n}", "display_name": f"Buyer {n}"} for n in range(BUYERS)
        ]
        setup: list[tuple[str, str, dict[str, Any] | None]] = [
            ("POST", "/api/v1/platform/shops", {"shops": shops}),
            *[
                ("POST", "/api/v1/platform/buyers", {"buyers": buyers[i : i + 1000]})
                for i in range(0, BUYERS, 1000)
            ],
        ]
        _latencies, codes, _wall = _load(server.base, tokens[:1], setup)
        assert set(codes) == {200}, codes  # noqa: S101 - a benchmark stops on a failed setup
        batches = [
            {"carts": [_cart(run, b * args.batch_size + i) for i in range(args.batch_size)]}
            for b in range(args.batches)
        ]
        lines = sum(len(c["orders"]) for b in batches for c in b["carts"])
        warm = {"carts": [_cart(f"{run}w", i) for i in range(50)]}
        lines += sum(len(c["orders"]) for c in warm["carts"])
        _load(server.base, tokens, [("POST", "/api/v1/platform/orders", warm)] * 1)
        latencies, codes, wall = _load(
            server.base, tokens, [("POST", "/api/v1/platform/orders", b) for b in batches]
        )
        summary = _summary("POST /api/v1/platform/orders", latencies, codes, wall)
        timed = lines - sum(len(c["orders"]) for c in warm["carts"])
        summary["order_lines"] = timed
        summary["orders_per_second"] = round(timed / wall, 1)
        results["ingest"] = summary
        print(f"  {timed} order lines in {wall:.1f} s: {timed / wall:.0f} orders/s")
        again_latency, again_codes, again_wall = _load(
            server.base, tokens[:1], [("POST", "/api/v1/platform/orders", batches[0])]
        )
        results["repeat_batch"] = _summary(
            "the first batch again", again_latency, Counter(again_codes), again_wall
        )
    finally:
        server.stop()
    setup_django()
    created = Order.objects.count() - before
    results["orders_created"] = created
    print(f"  orders created: {created} (expected {lines})")
    path = save(
        "intake",
        {
            "gunicorn_workers": args.gunicorn_workers,
            "clients": args.clients,
            "batch_size": args.batch_size,
            **results,
        },
        started=started,
    )
    print(f"figures saved to {path}")
    return 0 if created == lines else 1


if __name__ == "__main__":
    sys.exit(main())
