"""QAPI ShippingBasic.GetClaimInfo_V3 over a 90-day period returning about 20,000 claims.

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \
        .venv/bin/python -m bench.qapi [--rows 20000] [--runs 5]

Picks the 90-day request-date window of the big shop that holds about
`--rows` of the claims the method lists (statuses 1-16 and 91; the data
grows over the year, so it is an early window), creates a QAPI seller key
for `bench-big-owner`, and calls the endpoint through Django's test client
(server time: key check, query, row building, JSON or XML rendering; not the
network), JSON and XML, after one warm-up call each. Target: ≤ 3 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time

from bench.common import machine, percentile, save, setup_django

METHOD = "ShippingBasic.GetClaimInfo_V3"


def _window(shop_id: int, rows: int) -> tuple[dt.date, int]:
    """Return the first day of the 90-day window holding closest to `rows` listed claims."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from claimdesk.api.qapi.methods import _LISTED
    from claimdesk.claims.models import Claim

    per_day = dict(
        Claim.objects.filter(shop_id=shop_id, status__in=_LISTED)
        .annotate(day=TruncDate("requested_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    first, last = min(per_day), max(per_day)
    best: tuple[int, dt.date] | None = None
    day = first
    while day <= last:
        held = sum(per_day.get(day + dt.timedelta(days=k), 0) for k in range(90))
        if best is None or abs(held - rows) < abs(best[0] - rows):
            best = (held, day)
        day += dt.timedelta(days=1)
    assert best is not None  # noqa: S101 - the data set is not empty
    return best[1], best[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    started = machine()
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from claimdesk.accounts.models import ApiTokenKind, User
    from claimdesk.accounts.tokens import api_token_create

    owner = User.objects.get(username="bench-big-owner")
    start, expected = _window(owner.shop_id or -1, args.rows)
    end = start + dt.timedelta(days=89)  # both days included: 90 days
    _token, key = api_token_create(actor=owner, name="bench qapi", kind=ApiTokenKind.QAPI)
    client = Client()
    url = f"/GMKT.INC.Front.QAPIService/ebayjapan.qapi/{METHOD}"
    params = {
        "search_condition": "2",
        "search_Sdate": start.strftime("%Y%m%d"),
        "search_Edate": end.strftime("%Y%m%d"),
    }
    results = {}
    for fmt in ("json", "xml"):
        query = {**params, "returnType": fmt}
        headers = {"GiosisCertificationKey": key}
        response = client.get(url, query, headers=headers)  # warm-up
        size = len(response.content)
        if fmt == "json":
            body = response.json()
            if body["ResultCode"] != 0:
                raise SystemExit(f"QAPI answered {body['ResultCode']}: {body['ResultMsg']}")
            got = len(body["ResultObject"])
        else:
            got = response.content.count(b"<ClaimInfo_V2>")
        times = []
        queries = 0
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get(url, query, headers=headers)
                times.append(time.perf_counter() - began)
            queries = len(captured)
        results[fmt] = {
            "rows": got,
            "bytes": size,
            "median_s": round(statistics.median(times), 2),
            "max_s": round(max(times), 2),
            "p95_s": round(percentile(times, 95), 2),
            "sql_queries": queries,
        }
        print(
            f"{METHOD} {fmt}: {got:,} rows ({size / 1e6:.1f} MB) in median "
            f"{statistics.median(times):.2f} s, max {max(times):.2f} s over {args.runs} calls, "
            f"{queries} SQL queries",
            flush=True,
        )
    path = save(
        "qapi",
        {
            "method": METHOD,
            "period": f"{start}..{end} (request date)",
            "expected_rows": expected,
            "runs": args.runs,
            "results": results,
        },
        started=started,
    )
    print(f"window {start}..{end} holds {expected:,} listed claims; figures saved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
