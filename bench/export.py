"""Excel export of about 100,000 claim rows through the seller page, timed, with peak memory.

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \
        .venv/bin/python -m bench.export [--rows 100000]

Runs in a fresh process: picks the request-date period (at most 90 days)
that holds `--rows` of the big shop's claims, downloads
/seller/claims/export.xlsx through the test client, and reports wall time,
the peak resident set of the process (ru_maxrss, before and after) and the
peak of Python allocations (tracemalloc) during the export.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
import tracemalloc

from bench.common import save, setup_django


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="time without tracing allocations"
    )
    args = parser.parse_args(argv)
    setup_django()
    from django.test import Client
    from django.utils import timezone

    from claimdesk.accounts.models import User
    from claimdesk.claims.models import Claim

    user = User.objects.get(username="bench-big-owner")
    shop_id = user.shop_id or -1
    claims = Claim.objects.filter(shop_id=shop_id).order_by("-requested_at")
    nth = claims.values_list("requested_at", flat=True)[args.rows - 1 : args.rows].first()
    today = timezone.localdate()
    start = timezone.localtime(nth).date() if nth else today - dt.timedelta(days=90)
    start = max(start, today - dt.timedelta(days=90))
    expected = Claim.objects.filter(
        shop_id=shop_id,
        requested_at__gte=dt.datetime.combine(
            start, dt.time.min, tzinfo=timezone.get_current_timezone()
        ),
    ).count()
    client = Client()
    client.force_login(user)
    url = f"/seller/claims/export.xlsx?period_kind=request&date_from={start}&date_to={today}"
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    if not args.no_tracemalloc:
        tracemalloc.start()
    began = time.perf_counter()
    response = client.get(url)
    size = 0
    for chunk in response.streaming_content:  # type: ignore[attr-defined]
        size += len(chunk)
    seconds = time.perf_counter() - began
    traced = (
        tracemalloc.get_traced_memory()[1] // (1024 * 1024) if not args.no_tracemalloc else None
    )
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"exported {expected:,} rows ({size / 1e6:.1f} MB xlsx) in {seconds:.1f} s; "
        f"peak RSS {rss_after} MB (was {rss_before} MB before the export); "
        f"peak traced Python allocations {traced} MB"
    )
    path = save(
        "export" if not args.no_tracemalloc else "export-untraced",
        {
            "rows": expected,
            "period": f"{start}..{today}",
            "seconds": round(seconds, 1),
            "xlsx_bytes": size,
            "peak_rss_mb": rss_after,
            "rss_before_mb": rss_before,
            "peak_traced_mb": traced,
            "status": response.status_code,
        },
    )
    print(f"figures saved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
