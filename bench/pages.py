"""Seller pages on the big shop: server time through Django's test client, and SQL counts.

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \
        .venv/bin/python -m bench.pages [--runs 30] [--explain]

Signs in as `bench-big-owner` (200,000 orders, 320,000 claims) and asks for
the first page (50 rows) of the shipping page per box, of the claims page
(default period, every status box over 90 days, a 90-day period, an order-no
search), the home page, and the count functions alone. Each case runs
3 times to warm up, then `--runs` times; figures are wall time of the whole
request in this process (middleware, ORM, template), not the network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from bench.common import Figure, measure, save, setup_django, table

TARGET_MEDIAN_MS = 30
TARGET_P95_MS = 60
TARGET_QUERIES = 12
TARGET_COUNTS_MS = 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--shop", default="bench-big")
    parser.add_argument("--only", default="", help="run cases whose name contains this text")
    parser.add_argument(
        "--explain", action="store_true", help="print the slowest SQL with EXPLAIN ANALYZE"
    )
    parser.add_argument("--label", default="pages", help="name of the JSON file under var/bench/")
    args = parser.parse_args(argv)
    setup_django()

    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from claimdesk.accounts.models import Shop, User
    from claimdesk.claims.models import Claim
    from claimdesk.claims.selectors import (
        LIST_STATUSES,
        ClaimFilter,
        claim_home_counts,
        claim_status_counts,
    )
    from claimdesk.orders.selectors import SHIPPING_BOXES, shipping_box_counts

    shop = Shop.objects.get(code=args.shop)
    user = User.objects.filter(shop=shop, role="seller").order_by("id").first()
    if user is None:
        raise SystemExit(f"no seller login for {args.shop}")
    client = Client()
    client.force_login(user)
    today = timezone.localdate()
    since = today - dt.timedelta(days=90)
    period = f"period_kind=request&date_from={since}&date_to={today}"
    some = Claim.objects.filter(shop=shop).select_related("order").order_by("-id").first()
    order_no = some.order.order_no if some else 1

    cases: list[tuple[str, str]] = [("home", "/seller/")]
    cases += [(f"shipping box={box}", f"/seller/shipping/?box={box}") for box in SHIPPING_BOXES]
    cases += [
        ("shipping box=delivered sort=paid", "/seller/shipping/?box=delivered&sort=paid"),
        ("shipping box=delivered page 200", "/seller/shipping/?box=delivered&page=200"),
        ("claims default (30 days)", "/seller/claims/"),
        ("claims 90 days", f"/seller/claims/?{period}"),
        (
            "claims 90 days by order date",
            f"/seller/claims/?period_kind=order&date_from={since}&date_to={today}",
        ),
        (
            "claims 90 days by completion",
            f"/seller/claims/?period_kind=complete&date_from={since}&date_to={today}",
        ),
        ("claims order-no search", f"/seller/claims/?search_kind=order_no&search={order_no}"),
        ("claims home box (open, 1)", f"/seller/claims/?statuses=1&{period}"),
    ]
    cases += [
        (f"claims status={s} 90 days", f"/seller/claims/?status={s}&{period}")
        for s in LIST_STATUSES
    ]

    figures: list[Figure] = []
    slowest: dict[str, Any] = {}
    for name, url in cases:
        if args.only and args.only not in name:
            continue
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{name}: {url} answered {response.status_code}")
        reset_queries()  # request_started clears the log; start from an empty one
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        captured = list(ctx.captured_queries)  # a view of the log: copy before the next request
        count = len(captured)

        def fetch(url: str = url) -> object:
            return client.get(url)

        def queries(c: int = count) -> int:
            return c

        figure = measure(name, fetch, runs=args.runs, queries=queries)
        figures.append(figure)
        top = max(captured, key=lambda q: float(q["time"]))
        slowest[name] = top["sql"]
        print(
            f"{name:45s} median {figure.median_ms:7.1f}  p95 {figure.p95_ms:7.1f}  q {count}",
            flush=True,
        )

    f90 = ClaimFilter(period_kind="request", date_from=since, date_to=today)
    count_cases = [
        ("counts: claim_home_counts", lambda: claim_home_counts(shop.id)),
        ("counts: shipping_box_counts", lambda: shipping_box_counts(shop.id)),
        (
            "counts: claim_status_counts 30 days",
            lambda: claim_status_counts(shop.id, ClaimFilter()),
        ),
        ("counts: claim_status_counts 90 days", lambda: claim_status_counts(shop.id, f90)),
    ]
    for name, func in count_cases:
        if args.only and args.only not in name:
            continue
        figure = measure(name, func, runs=args.runs, queries=lambda: 1)
        figures.append(figure)
        print(f"{name:45s} median {figure.median_ms:7.1f}  p95 {figure.p95_ms:7.1f}", flush=True)

    if args.explain:
        with connection.cursor() as cur:
            for name, sql in slowest.items():
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                print(f"\n--- {name}\n{sql}\n" + "\n".join(r[0] for r in cur.fetchall()))

    misses = [
        f.name
        for f in figures
        if (f.name.startswith("counts") and f.median_ms > TARGET_COUNTS_MS)
        or (
            not f.name.startswith("counts")
            and (
                f.median_ms > TARGET_MEDIAN_MS
                or f.p95_ms > TARGET_P95_MS
                or (f.queries or 0) > TARGET_QUERIES
            )
        )
    ]
    path = save(
        args.label,
        {
            "shop": args.shop,
            "orders": shop.orders.count(),
            "claims": Claim.objects.filter(shop=shop).count(),
            "figures": figures,
            "targets_missed": misses,
        },
    )
    print()
    print(table(figures))
    print(f"\ntargets missed: {misses or 'none'}\nfigures saved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
