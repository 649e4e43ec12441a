"""REST API under gunicorn (2 workers), a bounded loopback load: claims list p95, cancels per second.

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \
        .venv/bin/python -m bench.api [--list-requests 400] [--cancels 300] [--clients 4]

Starts `gunicorn config.wsgi:application --workers 2` (sync workers,
DJANGO_DEBUG=0, DATABASE_CONN_MAX_AGE=60) on a loopback port. A client of
`--clients` threads (one keep-alive session and one token each: the API
allows 600 calls a minute per token) then sends exactly:

1. `--list-requests` × GET /api/v1/claims?limit=50 as `bench-big-owner`
   (the default period, the last 30 days: ~50,000 claims), then the same
   number with `date_from` 90 days back, newest first; latency per request
   measured by the client (connection reuse, so it is server time plus
   loopback);
2. `--cancels` × POST /api/v1/orders/<no>/cancel (OUT_OF_STOCK,
   confirm_without_notice, an Idempotency-Key each) on fresh paid orders of
   shop `bench-s3` written for the run (`bench/fresh.py`): requests per
   second over the whole batch, and latency.

The client runs on the same 2 cores as gunicorn and PostgreSQL, so it takes
CPU from the server; the figures are a floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import machine, percentile, save, setup_django

ROOT = Path(__file__).resolve().parent.parent
CANCEL_SHOP = "bench-s3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, timeout: float = 60) -> None:
    import requests

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(f"{base}/api/v1/claims", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


class Gunicorn:
    """`gunicorn config.wsgi:application` on a free loopback port, as the benchmarks run it.

    Sync workers (`threads` > 1: gthread workers), DJANGO_DEBUG=0, DATABASE_CONN_MAX_AGE=60; its log goes to
    a fresh temporary directory (`var`).
    """

    def __init__(self, workers: int, *, prefix: str, threads: int = 1) -> None:
        self.workers = workers
        self.threads = threads
        self.var = Path(tempfile.mkdtemp(prefix=prefix))
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CLAIMDESK_VAR_DIR": str(self.var),
            "DATABASE_CONN_MAX_AGE": "60",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("MAIL_SMTP_HOST", None)
        self.log = open(self.var / "gunicorn.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - fixed command
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait_ready(self.base)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _tokens(username: str, count: int, *, write: bool) -> list[str]:
    from claimdesk.accounts.models import User
    from claimdesk.accounts.tokens import api_token_create

    user = User.objects.get(username=username)
    return [
        api_token_create(actor=user, name=f"bench api {n}", can_write=write)[1]
        for n in range(count)
    ]


def _load(
    base: str,
    tokens: list[str],
    jobs: list[tuple[str, str, dict[str, Any] | None]],
) -> tuple[list[float], Counter[int], float]:
    """Send `jobs` (method, path, json) over len(tokens) threads; return latencies, codes, wall s."""
    import requests

    local = threading.local()
    lock = threading.Lock()
    counter = iter(range(len(tokens)))
    latencies: list[float] = []
    codes: Counter[int] = Counter()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            with lock:
                n = next(counter)
            local.s = requests.Session()
            local.s.headers["Authorization"] = f"Bearer {tokens[n]}"
        return local.s

    def one(job: tuple[str, str, dict[str, Any] | None]) -> None:
        method, path, body = job
        s = session()
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
        began = time.perf_counter()
        response = s.request(method, base + path, json=body, headers=headers, timeout=60)
        elapsed = (time.perf_counter() - began) * 1000
        with lock:
            latencies.append(elapsed)
            codes[response.status_code] += 1

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        list(pool.map(one, jobs))
    return latencies, codes, time.perf_counter() - began


def _summary(name: str, latencies: list[float], codes: Counter[int], wall: float) -> dict[str, Any]:
    figures = {
        "requests": len(latencies),
        "status_codes": dict(codes),
        "seconds": round(wall, 2),
        "requests_per_s": round(len(latencies) / wall, 1),
        "median_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }
    print(
        f"{name}: {figures['requests']} requests in {figures['seconds']} s = "
        f"{figures['requests_per_s']} req/s; median {figures['median_ms']} ms, "
        f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms; codes {dict(codes)}",
        flush=True,
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list-requests", type=int, default=400)
    parser.add_argument("--cancels", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    args = parser.parse_args(argv)
    started = machine()
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from bench.fresh import add_paid_orders

    readers = _tokens("bench-big-owner", args.clients, write=False)
    writers = _tokens(f"{CANCEL_SHOP}-owner", args.clients, write=True)
    order_nos = add_paid_orders(CANCEL_SHOP, args.cancels) if args.cancels else []
    connection.close()

    server = Gunicorn(args.gunicorn_workers, prefix="claimdesk-bench-api-")
    base, var = server.base, server.var
    results: dict[str, Any] = {}
    try:
        server.start()
        # warm both workers (imports, connection, first queries)
        _load(base, readers, [("GET", "/api/v1/claims?limit=50", None)] * (2 * args.clients))
        n = args.list_requests
        results["claims_list_30_days"] = _summary(
            "GET /api/v1/claims?limit=50 (30 days)",
            *_load(base, readers, [("GET", "/api/v1/claims?limit=50", None)] * n),
        )
        since = (timezone.localdate() - dt.timedelta(days=89)).isoformat()
        path90 = f"/api/v1/claims?limit=50&date_from={since}"
        results["claims_list_90_days"] = _summary(
            "GET /api/v1/claims?limit=50 (90 days)",
            *_load(base, readers, [("GET", path90, None)] * n),
        )
        if order_nos:
            body: dict[str, Any] = {"reason": "OUT_OF_STOCK", "confirm_without_notice": True}
            jobs: list[tuple[str, str, dict[str, Any] | None]] = [
                ("POST", f"/api/v1/orders/{no}/cancel", body) for no in order_nos
            ]
            results["cancel"] = _summary(
                "POST /api/v1/orders/<no>/cancel", *_load(base, writers, jobs)
            )
    finally:
        server.stop()
    path = save(
        "api",
        {
            "gunicorn_workers": args.gunicorn_workers,
            "clients": args.clients,
            "server_log": str(var / "gunicorn.log"),
            **results,
        },
        started=started,
    )
    print(f"figures saved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
