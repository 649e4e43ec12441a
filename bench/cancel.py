"""Cancel with refund through the service, 4 processes at once, beside pgbench (TPC-B-like).

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \
        .venv/bin/python -m bench.cancel [--seconds 20] [--workers 4] [--no-replay]

First pgbench runs its TPC-B-like script with 4 clients for `--seconds` on its
own database (`claimdesk_pgbench`, created and initialised at scale 10 if
missing) on the same server; then 4 processes each call
`claim_seller_cancel` (seller reason, refund recorded in the same
transaction: card refunds pending with their task row, balance refunds
settled with ledger postings) on paid, unshipped orders of the generated
shops for the same time. The figure is cancels per second against pgbench's
transactions per second; each worker process's CPU over its cancels
(`time.process_time()`, the portal's read of the order included) is given
per cancel.

Then (unless `--no-replay`) the same cancels' statements are replayed by
pgbench on copies of the database, one by one and as one PL/pgSQL call per
cancel (bench/replay.py), and pgbench runs again: each figure is given as a
share of both pgbench runs, as this machine's speed drifts within minutes, and
the service's cancels per second as a share of the replayed statements' rate.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench.common import save, setup_django
from bench.replay import replay, seller_cancel

PGBENCH_DB = "claimdesk_pgbench"


def _pgbench_bin() -> str:
    for candidate in (shutil.which("pgbench"), "/usr/lib/postgresql/15/bin/pgbench"):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("pgbench not found (apt-get install postgresql-contrib or postgresql-client)")


def _connection() -> tuple[list[str], dict[str, str]]:
    """Connection arguments for the PostgreSQL command-line tools, and their environment."""
    url = urlparse(os.environ["DATABASE_URL"])
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    conn = [
        "-h",
        url.hostname or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "",
    ]
    return conn, env


def pgbench(seconds: int, clients: int) -> dict[str, float | str]:
    """Run pgbench's TPC-B-like script; return tps and latency."""
    url = urlparse(os.environ["DATABASE_URL"])
    conn, env = _connection()
    exists = subprocess.run(  # noqa: S603 - fixed command
        [  # noqa: S607 - psql from PATH
            "psql",
            *conn,
            "-d",
            url.path.lstrip("/"),
            "-Atc",
            f"SELECT 1 FROM pg_database WHERE datname = '{PGBENCH_DB}'",  # noqa: S608 - a constant
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    binary = _pgbench_bin()
    if not exists:
        subprocess.run(["createdb", *conn, PGBENCH_DB], env=env, check=True)  # noqa: S603, S607
        subprocess.run([binary, "-i", "-s", "10", "-q", *conn, PGBENCH_DB], env=env, check=True)  # noqa: S603
    out = subprocess.run(  # noqa: S603
        [binary, "-c", str(clients), "-j", "2", "-T", str(seconds), "-n", *conn, PGBENCH_DB],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {
        "tps": round(tps, 1),
        "latency_ms": float(latency.group(1)) if latency else -1.0,
        "clients": clients,
    }


def _candidates(limit: int) -> list[int]:
    from django.db.models import Exists, OuterRef

    from claimdesk.accounts.models import User
    from claimdesk.claims.models import Claim
    from claimdesk.orders.models import Order

    open_claim = Claim.objects.open_for(OuterRef("pk"))
    # the cancel is the seller's: shops without one (bench.intake's marketplace shops) are left out
    seller = User.objects.filter(shop_id=OuterRef("shop_id"), role="seller")
    return list(
        Order.objects.filter(
            cancelled_at__isnull=True, paid_at__isnull=False, shipping_status__in=[2, 3]
        )
        # bench.api and bench.bulk cancel the fresh orders they write in bench-s3 and bench-s4:
        # leave them alone, so that the benchmarks can run at the same time
        .exclude(shop__code__in=["bench-big", "bench-s3", "bench-s4"])
        .filter(~Exists(open_claim), Exists(seller))
        .order_by("-ordered_at")
        .values_list("pk", flat=True)[:limit]
    )


def _enough_candidates(least: int, most: int) -> list[int]:
    """At least `least` (at most `most`) cancellable orders, writing fresh ones if needed."""
    ids = _candidates(most)
    while len(ids) < least:
        # Earlier runs used up the generated cancellable orders: write fresh ones in 80
        # ordinary shops (not timed), so the run can be repeated without regenerating. Spread
        # as the generated ones are, the cancels seldom wait on one shop's box counts.
        from bench.fresh import add_paid_orders

        print(
            f"only {len(ids)} cancellable orders left, {least} needed: writing 4,000 fresh ones …",
            flush=True,
        )
        for n in range(5, 85):
            add_paid_orders(f"bench-s{n}", 50, seed=n + len(ids))
        ids = _candidates(most)
    return ids


def _worker(order_ids: list[int], seconds: float, start_at: float, queue: mp.Queue) -> None:
    setup_django()
    from django.db import connection

    from claimdesk.accounts.models import User
    from claimdesk.core.errors import DomainError
    from claimdesk.orders.access import FOR_ACTION, access_order_for_seller
    from claimdesk.orders.models import Order

    # Who cancels which order, looked up before the clock starts: in the portal the
    # seller comes with the session. The order itself is read in the timed loop, by
    # the read the portal's cancel panel and the REST API make (access_order_for_seller, the
    # order row alone, as for every action: the service reads it again under its lock).
    numbers = dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "order_no"))
    shops = dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "shop_id"))
    sellers: dict[int, User] = {}
    for shop_id in set(shops.values()):
        sellers[shop_id] = User.objects.filter(shop_id=shop_id, role="seller").order_by("pk")[0]
    done = refused = 0
    latencies = []
    connection.ensure_connection()
    while time.time() < start_at:
        time.sleep(0.005)
    deadline = start_at + seconds
    cpu_began = time.process_time()
    for order_id in order_ids:
        if time.time() >= deadline:
            break
        began = time.perf_counter()
        actor = sellers[shops[order_id]]
        order = access_order_for_seller(actor, numbers[order_id], related=FOR_ACTION)
        try:
            seller_cancel(actor, order)
            done += 1
        except DomainError:
            refused += 1
        latencies.append((time.perf_counter() - began) * 1000)
    # this process's CPU over its cancels (the portal's order read included)
    cpu = time.process_time() - cpu_began
    queue.put({"done": done, "refused": refused, "latencies": latencies, "cpu_s": cpu})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--no-replay", action="store_true", help="skip replaying the statements with pgbench"
    )
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection

    print(f"pgbench TPC-B-like, {args.workers} clients, {args.seconds} s …", flush=True)
    pg = pgbench(args.seconds, args.workers)
    print(f"  {pg['tps']} tps", flush=True)

    ids = _enough_candidates(args.workers * 1000, args.workers * 4000)
    connection.close()
    if len(ids) < args.workers * 10:
        raise SystemExit(
            "not enough paid, unshipped orders without a claim: run bench.generate again"
        )
    chunks = [ids[i :: args.workers] for i in range(args.workers)]
    queue: mp.Queue = mp.get_context("fork").Queue()
    start_at = time.time() + 3
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(c, args.seconds, start_at, queue)) for c in chunks]
    for p in procs:
        p.start()
    results = [queue.get(timeout=args.seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    elapsed = args.seconds
    done = sum(r["done"] for r in results)
    refused = sum(r["refused"] for r in results)
    latencies = sorted(x for r in results for x in r["latencies"])
    ops = done / elapsed
    p50 = latencies[len(latencies) // 2] if latencies else 0
    p95 = latencies[int(len(latencies) * 0.95)] if latencies else 0
    attempts = done + refused
    cpu_ms = sum(r["cpu_s"] for r in results) * 1000 / attempts if attempts else 0.0
    print(
        f"cancel with refund: {done} in {elapsed} s = {ops:.1f} ops/s (refused {refused}); "
        f"p50 {p50:.1f} ms p95 {p95:.1f} ms; app CPU {cpu_ms:.2f} ms per cancel",
        flush=True,
    )
    replayed: dict[str, Any] = {}
    failed = ""
    if not args.no_replay:
        print("the same cancels' statements replayed by pgbench on copies of the database …")
        conn, env = _connection()
        needed = args.workers * (args.seconds * 200 + 100)
        try:
            replayed = replay(
                # up to 200 replayed cancels a second per client, 100 each to warm up, and a
                # few to record the statements on
                _enough_candidates(needed, needed + 100),
                seconds=args.seconds,
                clients=args.workers,
                pgbench=[_pgbench_bin(), *conn],
                psql=["psql", "-q", *conn],
                env=env,
            )
        except SystemExit as stopped:  # the service's figures are still saved below
            failed = str(stopped)
            replayed = {"error": failed}
            print(f"the replay stopped: {failed}", flush=True)
    # This VM's speed drifts by a third within minutes: pgbench again at the end, and each
    # figure as a share of both runs.
    print(f"pgbench again, {args.workers} clients, {args.seconds} s …", flush=True)
    pg_after = pgbench(args.seconds, args.workers)
    print(f"  {pg_after['tps']} tps", flush=True)
    shares = [float(pg["tps"]), float(pg_after["tps"])]

    def share(tps: float) -> list[float]:
        return [round(tps / t * 100, 1) for t in shares]

    def said(percents: list[float]) -> str:
        return " and ".join(map(str, percents)) + " % of pgbench (before, after)"

    print(f"cancel with refund: {said(share(ops))}")
    if replayed and not failed:
        replayed["ratio_percent"] = share(float(replayed["tps"]))
        replayed["one_call_ratio_percent"] = share(float(replayed["one_call_tps"]))
        print(
            f"replayed statements: {replayed['tps']} tps over {replayed['transactions']} "
            f"cancels, {said(replayed['ratio_percent'])}: these statements with no "
            "application work at all",
        )
        replayed["service_share_percent"] = round(ops / float(replayed["tps"]) * 100, 1)
        print(
            f"the service reaches {replayed['service_share_percent']} % of the replayed "
            "statements' rate (the rest of a cancel's time is the application's)"
        )
        print(
            f"as one PL/pgSQL call each: {replayed['one_call_tps']} tps, "
            f"{said(replayed['one_call_ratio_percent'])}"
        )
        print("the statements that took PostgreSQL longest (mean ms in the replay):")
        for text, ms in replayed["slowest_ms"].items():
            print(f"  {ms:6.3f} ms  {text}")
    path = save(
        "cancel",
        {
            "pgbench": pg,
            "cancel": {
                "workers": args.workers,
                "seconds": elapsed,
                "done": done,
                "refused": refused,
                "ops_per_s": round(ops, 1),
                "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1),
                "cpu_ms_per_cancel": round(cpu_ms, 2),
            },
            "pgbench_after": pg_after,
            "ratio_percent": share(ops),
            "replay": replayed,
        },
    )
    print(f"figures saved to {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
